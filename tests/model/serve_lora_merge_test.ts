/**
 * The server merges a model name's LoRA adapters into a cached copy of its base when no other
 * served name shares that base (lib/serve/registry.ts, lib/llm/lora_merge.ts), and applies them at
 * runtime when one does or `loraMode` is "runtime": /v1/models says which (`lora_applied`, with the
 * base's SHA-256 either way), and the merged name generates the runtime adapter's greedy text.
 */
import assert from "node:assert/strict";
import { resolveServeConfig, type ServeConfigInput } from "../../lib/serve/config.ts";
import { startServer } from "../../lib/serve/server.ts";
import { fileSha256 } from "../../lib/util/file_hash.ts";
import { randomLoraPair } from "./_random_lora.ts";
import { TEST_THREADS, TINY_GGUF } from "./_tiny.ts";

const pair = await randomLoraPair(TINY_GGUF);
const PROMPTS = ["The capital of Nisel is", "What is 7 plus 5?", "Tom is a"];

interface ModelCard {
  id: string;
  tunebook: { model_sha256: string; adapters: unknown[]; lora_applied?: string };
}

/** Serve `models`, return /v1/models' cards and each name's greedy completion of the prompts. */
async function serve(models: ServeConfigInput["models"], loraMode?: "auto" | "runtime") {
  const server = startServer(
    resolveServeConfig({
      port: 0,
      threads: TEST_THREADS,
      gpu: false,
      sequences: 2,
      models,
      ...(loraMode ? { loraMode } : {}),
    }),
    { log: () => {} },
  );
  try {
    await server.ready;
    const cards = (await (await fetch(`${server.url}/v1/models`)).json()).data as ModelCard[];
    const texts: Record<string, string[]> = {};
    for (const { id } of cards) {
      texts[id] = [];
      for (const prompt of PROMPTS) {
        const r = await fetch(`${server.url}/v1/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: id, prompt, max_tokens: 12, temperature: 0 }),
        });
        assert.equal(r.status, 200);
        texts[id].push((await r.json()).choices[0].text);
      }
    }
    return { cards: Object.fromEntries(cards.map((c) => [c.id, c.tunebook])), texts };
  } finally {
    await server.shutdown();
  }
}

Deno.test("an adapter alone on its base is merged, one sharing the base runs at runtime: same greedy text", async () => {
  const sha = await fileSha256(TINY_GGUF);
  const adapter = [{ path: pair.lora }];
  const solo = await serve({ solo: { model: TINY_GGUF, adapters: adapter } });
  assert.equal(solo.cards.solo.lora_applied, "merged");
  assert.equal(solo.cards.solo.model_sha256, sha); // the base's, not the copy's
  const shared = await serve({
    tiny: { model: TINY_GGUF },
    "tiny+lora": { model: TINY_GGUF, adapters: adapter },
  });
  assert.equal(shared.cards["tiny+lora"].lora_applied, "runtime");
  assert.equal(shared.cards.tiny.lora_applied, undefined);
  assert.equal(shared.cards["tiny+lora"].model_sha256, sha);
  const runtime = await serve({ solo: { model: TINY_GGUF, adapters: adapter } }, "runtime");
  assert.equal(runtime.cards.solo.lora_applied, "runtime");
  assert.deepEqual(solo.texts.solo, runtime.texts.solo);
  assert.deepEqual(solo.texts.solo, shared.texts["tiny+lora"]);
  assert.notDeepEqual(solo.texts.solo, shared.texts.tiny, "the adapter changes the text");
});
