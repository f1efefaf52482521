/**
 * The Colab notebook's first check (python/tunebook/colab.py `hub_login`), against the fake Hub
 * with the stand-in huggingface_hub (tests/python/stand_ins_hub): what someone about to train sees
 * when the token is missing, wrong, read-only for a push, its account has not accepted a gated
 * base model's terms, or the base is an architecture tunebook's exporter cannot write (Gemma) —
 * before any install or download, with what to do.
 */
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { findPython } from "../../lib/train/python.ts";
import { sha1, startFakeHub, TOKEN, WRITE_TOKEN } from "./_fake_hub.ts";

const ROOT = resolve(import.meta.dirname!, "..", "..");

const SCRIPT = `
import json, sys
from tunebook.colab import ColabError, hub_login
base, push, private = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
try:
    hub_login(base, push, private)
    print(json.dumps({"ok": True}))
except ColabError as e:
    print(json.dumps({"ok": False, "message": str(e)}))
`;

async function login(hubUrl: string, token: string, base: string, push = "") {
  const python = await findPython({ modules: ["json", "torch"] });
  const out = await new Deno.Command(python, {
    args: ["-c", SCRIPT, base, push, "1"],
    env: {
      HF_ENDPOINT: hubUrl,
      HF_TOKEN: token,
      HF_HUB_CACHE: Deno.makeTempDirSync(),
      PYTHONPATH: [join(ROOT, "python"), join(ROOT, "tests/python/stand_ins_hub")].join(":"),
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const lines = stdout.trim().split("\n");
  return { ...JSON.parse(lines.at(-1)!), printed: lines.slice(0, -1).join("\n") } as {
    ok: boolean;
    message?: string;
    printed: string;
  };
}

Deno.test("the Colab login cell: token, gated base and push access are checked first", async () => {
  const config = { bytes: new TextEncoder().encode('{"model_type": "llama"}'), lfs: false };
  const repo = (gated: boolean) => ({
    type: "model" as const,
    gated,
    granted: [],
    branches: { main: { sha: sha1(String(gated)), files: { "config.json": config } } },
  });
  const hub = startFakeHub({
    "meta-llama/Llama-3.2-1B": repo(true),
    "Qwen/Qwen2.5-0.5B": repo(false),
    "google/gemma-2-2b": {
      ...repo(false),
      branches: {
        main: {
          sha: sha1("gemma"),
          files: {
            "config.json": {
              bytes: new TextEncoder().encode(
                '{"model_type": "gemma2", "hidden_act": "gelu_pytorch_tanh"}',
              ),
              lfs: false,
            },
          },
        },
      },
    },
  });
  try {
    const gated = await login(hub.url, TOKEN, "meta-llama/Llama-3.2-1B");
    assert.equal(gated.ok, false);
    assert.match(
      gated.message!,
      /meta-llama\/Llama-3\.2-1B is gated: open https:\/\/huggingface\.co\/meta-llama\/Llama-3\.2-1B, accept its terms as tester/,
    );

    const fine = await login(hub.url, TOKEN, "Qwen/Qwen2.5-0.5B");
    assert.ok(fine.ok, fine.message ?? "");
    assert.match(fine.printed, /logged in as tester .*role read/);
    assert.match(fine.printed, /config\.json downloaded: access is granted/);

    const readOnly = await login(hub.url, TOKEN, "Qwen/Qwen2.5-0.5B", "tester/run");
    assert.match(readOnly.message!, /read-only, and pushing to tester\/run needs write access/);

    const missing = await login(hub.url, "", "Qwen/Qwen2.5-0.5B", "tester/run");
    assert.match(missing.message!, /no Hugging Face token.*Colab secret HF_TOKEN/s);

    const wrong = await login(hub.url, "hf_typo", "Qwen/Qwen2.5-0.5B");
    assert.match(wrong.message!, /refused the token from the environment variable HF_TOKEN/);

    const unknown = await login(hub.url, WRITE_TOKEN, "Qwen/Qwen9-0.5B", "tester/run");
    assert.match(unknown.message!, /Qwen\/Qwen9-0\.5B: no such model on the Hub/);

    const gemma = await login(hub.url, TOKEN, "google/gemma-2-2b");
    assert.equal(gemma.ok, false);
    assert.match(
      gemma.message!,
      /google\/gemma-2-2b cannot be exported by this notebook: .*model_type is 'gemma2'.*pick a Llama, Mistral or Qwen2 base/s,
    );
  } finally {
    await hub.stop();
  }
});
