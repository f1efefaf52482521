/**
 * scripts/setup.sh installs what the commands and the README rely on: the Debian package that
 * owns each system file a command checks for (bench:train's reference BLAS, libblas3), and the
 * program behind every `jupyter <subcommand> notebooks/` line the README gives (classic Notebook,
 * not JupyterLab, which has no Debian package here). Each is checked against dpkg's own record
 * of which package holds the file, so a package missing from setup's list fails here.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The packages in setup.sh's DEB_PACKAGES=( … ) list. */
function setupPackages(): string[] {
  const script = readFileSync(join(ROOT, "scripts/setup.sh"), "utf8");
  const list = script.match(/^DEB_PACKAGES=\(([\s\S]*?)\)/m);
  assert.ok(list, "scripts/setup.sh has a DEB_PACKAGES=(…) list");
  return list[1].split("\n").map((l) => l.replace(/#.*$/, "")).join(" ").split(/\s+/)
    .filter(Boolean);
}

/** The Debian package that installed `path`, by dpkg's database. */
async function owner(path: string): Promise<string> {
  const out = await new Deno.Command("dpkg", {
    args: ["-S", path],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, `dpkg knows no package holding ${path}: run \`deno task setup\``);
  return text.split(":")[0].trim();
}

Deno.test("setup installs the package of every system file a command checks for", async () => {
  const bench = readFileSync(join(ROOT, "bench/train_bench.ts"), "utf8");
  const dir = bench.match(/const REFERENCE_BLAS_DIR = "([^"]+)"/)?.[1];
  assert.ok(dir, "bench/train_bench.ts names its reference BLAS folder");
  const file = join(dir, "libblas.so.3");
  assert.match(bench, /join\(REFERENCE_BLAS_DIR, "libblas\.so\.3"\)/);
  assert.ok(setupPackages().includes(await owner(file)), `setup installs the owner of ${file}`);
});

Deno.test("the README's notebook command is one setup installs, and it runs", async () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const commands = [...readme.matchAll(/^jupyter (\w+) notebooks\//gm)].map((m) => m[1]);
  assert.ok(commands.length > 0, "the README says how to open the notebooks");
  assert.doesNotMatch(readme, /^jupyter lab /m, "JupyterLab has no Debian package here");
  for (const sub of commands) {
    const program = `/usr/bin/jupyter-${sub}`;
    assert.ok(setupPackages().includes(await owner(program)), `setup installs ${program}`);
    const out = await new Deno.Command("jupyter", { args: [sub, "--version"], stdout: "piped" })
      .output();
    assert.ok(out.success, `jupyter ${sub} --version fails`);
  }
});
