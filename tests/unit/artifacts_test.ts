import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { pullArtifacts } from "../../lib/train/artifacts.ts";
import { enc, type FakeFile, sha1, startFakeHub } from "./_fake_hub.ts";

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
    const paths = await pullArtifacts("me/tiny-lora", out, { hubUrl: hub.url, cacheDir });
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
