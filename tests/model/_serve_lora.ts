/**
 * Writes a small random GGUF LoRA adapter for the tiny model with llama.cpp's gguf-py (Debian's
 * python3 + numpy), in the layout llama.cpp's src/llama-adapter.cpp reads: general.type
 * "adapter", adapter.type "lora", adapter.lora.alpha, and per adapted weight W (ggml shape
 * [in, out]) the pair `W.lora_a` (numpy rank × in) and `W.lora_b` (numpy out × rank).
 */
import { resolve } from "node:path";

/** Options for {@linkcode writeRandomLora}. */
export interface RandomLoraOptions {
  /** Random seed. Default: 0. */
  seed?: number;
  /** LoRA rank. Default: 4. */
  rank?: number;
  /** Standard deviation of A and B's entries. Default: 0.5 (large enough to change the output). */
  std?: number;
}

const SCRIPT = `
import sys, numpy as np
sys.path.insert(0, sys.argv[2])
import gguf
out, seed, rank, std = sys.argv[1], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
rng = np.random.default_rng(seed)
w = gguf.GGUFWriter(out, "llama")
w.add_type(gguf.GGUFType.ADAPTER)
w.add_string(gguf.Keys.Adapter.TYPE, "lora")
w.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(rank))
hidden, vocab = 128, 2048
for name, n_in, n_out in [("blk.0.attn_q.weight", hidden, hidden), ("output.weight", hidden, vocab)]:
    w.add_tensor(name + ".lora_a", (rng.standard_normal((rank, n_in)) * std).astype(np.float32))
    w.add_tensor(name + ".lora_b", (rng.standard_normal((n_out, rank)) * std).astype(np.float32))
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
`;

/** Write the adapter to `path`; throws with python's message when gguf-py or numpy is missing. */
export async function writeRandomLora(
  path: string,
  options: RandomLoraOptions = {},
): Promise<void> {
  const { seed = 0, rank = 4, std = 0.5 } = options;
  const python = Deno.env.get("TUNEBOOK_PYTHON") ?? "/usr/bin/python3";
  const ggufPy = resolve(Deno.env.get("TUNEBOOK_LLAMA_CPP") ?? ".cache/llama.cpp", "gguf-py");
  const out = await new Deno.Command(python, {
    args: ["-c", SCRIPT, path, ggufPy, String(seed), String(rank), String(std)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `writing a test LoRA adapter with ${python} and ${ggufPy} failed ` +
        `(run \`deno task setup\`): ${new TextDecoder().decode(out.stderr)}`,
    );
  }
}
