/**
 * `deno task card` without `--out` prints the card and leaves the committed one
 * (data/models/tiny/README.md) alone: only an explicit `--out` rewrites a committed file.
 */
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { TEST_THREADS, TINY_DIR } from "./_tiny.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

Deno.test("card with no --out prints the card and rewrites no committed file", async () => {
  const committed = join(TINY_DIR, "README.md");
  const before = { text: readFileSync(committed, "utf8"), mtime: statSync(committed).mtimeMs };
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "lib/cli/model_card.ts", "--dir", TINY_DIR, "--threads", `${TEST_THREADS}`],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(stdout.split("\n")[0], before.text.split("\n")[0], "the card is on stdout");
  assert.match(stdout, /synth_arithmetic/);
  assert.equal(readFileSync(committed, "utf8"), before.text);
  assert.equal(statSync(committed).mtimeMs, before.mtime, "the committed card was not rewritten");
});
