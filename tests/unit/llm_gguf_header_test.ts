/**
 * lib/llm's GGUF header reader against llama.cpp's own Python reader (gguf-py's `GGUFReader`, from
 * the llama.cpp source node-llama-cpp bundles): the same tensors with the same types and shapes,
 * the same metadata values, on the bundled tiny model; and a file that is not GGUF is named.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { GgufReadError, readGgufHeader } from "../../lib/llm/gguf_header.ts";

const TINY_GGUF = resolve("data/models/tiny/tiny-f32.gguf");
const PYTHON = Deno.env.get("TUNEBOOK_PYTHON") ?? "/usr/bin/python3";
const GGUF_PY = resolve(Deno.env.get("TUNEBOOK_LLAMA_CPP") ?? ".cache/llama.cpp", "gguf-py");

/** Keys compared with gguf-py (scalars and strings of the tiny model's metadata). */
const KEYS = [
  "general.architecture",
  "general.file_type",
  "llama.context_length",
  "llama.embedding_length",
  "llama.block_count",
  "llama.attention.head_count_kv",
  "tokenizer.ggml.model",
  "tokenizer.ggml.bos_token_id",
  "tokenizer.chat_template",
];

const SCRIPT = `
import json, sys
sys.path.insert(0, sys.argv[2])
from gguf import GGUFReader, GGUFValueType
r = GGUFReader(sys.argv[1])
def value(f):
    if f.types[0] == GGUFValueType.STRING:
        return bytes(f.parts[f.data[0]]).decode("utf-8")
    return f.parts[f.data[0]].tolist()[0]
print(json.dumps({
    "tensors": [[t.name, int(t.tensor_type), [int(d) for d in t.shape]] for t in r.tensors],
    "meta": {k: value(r.fields[k]) for k in json.loads(sys.argv[3])},
}))
`;

/** What gguf-py reads from `path`. */
async function ggufPyRead(
  path: string,
): Promise<{ tensors: [string, number, number[]][]; meta: Record<string, unknown> }> {
  const out = await new Deno.Command(PYTHON, {
    args: ["-c", SCRIPT, path, GGUF_PY, JSON.stringify(KEYS)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(
    out.success,
    `gguf-py (${GGUF_PY}) failed; run \`deno task setup\`: ${new TextDecoder().decode(out.stderr)}`,
  );
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** `metadata.a.b.c` for the key "a.b.c". */
function metaValue(metadata: Record<string, unknown>, key: string): unknown {
  return key.split(".").reduce<unknown>(
    (o, k) => (o as Record<string, unknown> | undefined)?.[k],
    metadata,
  );
}

Deno.test("readGgufHeader: tensors and metadata of the tiny model are what gguf-py reads", async () => {
  const [mine, theirs] = await Promise.all([
    readGgufHeader(TINY_GGUF, { tensors: true }),
    ggufPyRead(TINY_GGUF),
  ]);
  assert.equal(mine.path, TINY_GGUF);
  assert.ok(mine.tensors && mine.tensors.length > 0);
  assert.deepEqual(
    mine.tensors.map((t) => [t.name, t.ggmlType, t.dims]),
    theirs.tensors,
  );
  for (const key of KEYS) {
    assert.deepEqual(metaValue(mine.metadata, key), theirs.meta[key], key);
  }
});

Deno.test("readGgufHeader: metadata only unless tensors are asked for", async () => {
  const h = await readGgufHeader(TINY_GGUF);
  assert.equal(h.tensors, undefined);
  assert.equal(metaValue(h.metadata, "general.architecture"), "llama");
});

Deno.test("readGgufHeader: a file that is not GGUF is named, with the reader's reason", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-gguf-header-"));
  try {
    const notGguf = join(dir, "weights.bin");
    writeFileSync(notGguf, new Uint8Array(64).fill(7));
    await assert.rejects(
      readGgufHeader(notGguf),
      (e: Error) =>
        e instanceof GgufReadError && e.path === notGguf && e.reason.length > 0 &&
        e.message === `${notGguf}: not a readable GGUF file (${e.reason})` &&
        !e.reason.includes("\n"),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
