import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { evalCommand, pullArtifacts } from "../../lib/train/artifacts.ts";
import { enc, type FakeFile, sha1, startFakeHub, TOKEN } from "./_fake_hub.ts";

const file = (s: string, lfs = false): FakeFile => ({ bytes: enc.encode(s), lfs });

Deno.test("pullArtifacts fetches a Colab run's adapter and GGUF from the Hub into a run folder", async () => {
  const hub = startFakeHub({
    "me/tiny-lora": {
      type: "model",
      branches: {
        main: {
          sha: sha1("tiny-lora main"),
          files: {
            "adapter/adapter_config.json": file('{"peft_type": "LORA", "r": 8}'),
            "adapter/adapter_model.safetensors": file("weights", true),
            "lora.gguf": file("GGUF adapter", true),
            "events.jsonl": file('{"event": "done"}\n'),
          },
        },
      },
    },
  });
  try {
    const out = mkdtempSync(join(tmpdir(), "tunebook-pull-"));
    const cacheDir = mkdtempSync(join(tmpdir(), "tunebook-cache-"));
    const { paths, manifest } = await pullArtifacts("me/tiny-lora", out, {
      hubUrl: hub.url,
      cacheDir,
    });
    assert.equal(manifest, undefined, "a repo without tunebook_run.json: the older file list");
    assert.equal(paths.length, 4, "config.json is optional and absent");
    assert.equal(readFileSync(join(out, "lora.gguf"), "utf8"), "GGUF adapter");
    assert.ok(existsSync(join(out, "adapter", "adapter_config.json")));
    await assert.rejects(
      pullArtifacts("me/tiny-lora", out, { hubUrl: hub.url, cacheDir, files: ["missing.gguf"] }),
      /missing\.gguf/,
    );
    await assert.rejects(
      pullArtifacts("me/nothing-here", out, { hubUrl: hub.url, cacheDir }),
      /me\/nothing-here/,
    );
  } finally {
    await hub.stop();
  }
});

Deno.test("pullArtifacts follows the run's manifest (every GGUF and card) in a private repo", async () => {
  const manifest = {
    format: 1,
    base_model: "Qwen/Qwen2.5-0.5B-Instruct",
    files: ["lora.gguf", "run-q4_k_m.gguf", "run-q4_k_m.gguf.json", "tunebook_run.json"],
    gguf: { lora: "lora.gguf", quantized: "run-q4_k_m.gguf" },
    quant: "q4_k_m",
    task: "synth_qa",
  };
  const hub = startFakeHub({
    "me/private-run": {
      type: "model",
      private: true,
      branches: {
        main: {
          sha: sha1("private-run main"),
          files: {
            "tunebook_run.json": file(JSON.stringify(manifest)),
            "lora.gguf": file("GGUF adapter", true),
            "run-q4_k_m.gguf": file("GGUF q4", true),
            "run-q4_k_m.gguf.json": file('{"type": "q4_k_m"}'),
            "unlisted.bin": file("not part of the run"),
          },
        },
      },
    },
  });
  try {
    const out = mkdtempSync(join(tmpdir(), "tunebook-pull-"));
    const cacheDir = mkdtempSync(join(tmpdir(), "tunebook-cache-"));
    await assert.rejects(
      pullArtifacts("me/private-run", out, { hubUrl: hub.url, cacheDir, accessToken: "" }),
      /HF_TOKEN/,
      "private: anonymous callers are refused with the token hint",
    );
    const pulled = await pullArtifacts("me/private-run", out, {
      hubUrl: hub.url,
      cacheDir,
      accessToken: TOKEN,
    });
    assert.deepEqual(pulled.manifest, manifest);
    assert.deepEqual(pulled.paths, manifest.files.map((f) => join(out, f)));
    assert.equal(readFileSync(join(out, "run-q4_k_m.gguf"), "utf8"), "GGUF q4");
    assert.ok(!existsSync(join(out, "unlisted.bin")));
    assert.equal(
      evalCommand(out, pulled.manifest),
      `deno task eval --model ${join(out, "run-q4_k_m.gguf")} --tasks synth_qa`,
    );
  } finally {
    await hub.stop();
  }
});
