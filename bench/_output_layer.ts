/**
 * The output layer's cost per row of logits, measured through the libllama tunebook loads (with
 * TUNEBOOK_LIBLLAMA, the same native build as llama-bench): one 512-token decode asking for
 * {@linkcode FEW} rows of logits against the same decode asking for every row, same model and
 * threads. llama-bench's prompt-processing test asks for one row per 512 tokens; a scorer asks for
 * a row at every position whose next token it scores, and each row is a vocabulary-wide matrix
 * product (on a 32k vocabulary larger than a token's pass through the blocks), so this is the work
 * a scorer does that llama-bench's test does not.
 *
 * @module
 */
import { createLlamaContext, freeLlamaContext, LlamaBatch } from "../lib/llm/_libllama.ts";
import { median } from "simple-statistics";
import { roundTo } from "../lib/util/round.ts";

/** Tokens per measured decode (llama-bench's -p). */
const TOKENS = 512;
/** Rows of logits in the cheap decode (one row takes ggml's matrix-vector path). */
const FEW = 2;

/** What one measurement found. */
export interface OutputLayerCost {
  /** Seconds per extra row of logits: (all rows − {@linkcode FEW} rows) / (512 − FEW), median. */
  secondsPerRow: number;
  /** Seconds of the 512-token decode with FEW rows and with every row, medians. */
  fewRowsSeconds: number;
  allRowsSeconds: number;
  repeats: number;
}

/** Time `repeats` alternating pairs of decodes (after one warm-up pair); medians. */
export async function measureOutputLayer(
  modelPath: string,
  threads: number,
  repeats = 5,
): Promise<OutputLayerCost> {
  const h = createLlamaContext(modelPath, {
    nCtx: TOKENS,
    nBatch: TOKENS,
    nSeqMax: 1,
    threads,
    kvUnified: true,
  });
  const b = new LlamaBatch(h.lib, TOKENS, 1);
  const mem = h.lib.symbols.llama_get_memory(h.ctx);
  const nVocab = h.nVocab;
  const decode = async (rows: number) => {
    for (let i = 0; i < TOKENS; i++) {
      b.token[i] = (i * 7919 + 13) % nVocab; // arbitrary ids, the same every time
      b.pos[i] = i;
      b.nSeqId[i] = 1;
      b.seqIds[i][0] = 0;
      b.logits[i] = i >= TOKENS - rows ? 1 : 0;
    }
    b.setTokens(TOKENS);
    const t0 = performance.now();
    const rc = await h.lib.symbols.llama_decode(h.ctx, b.struct);
    const seconds = (performance.now() - t0) / 1000;
    h.lib.symbols.llama_memory_clear(mem, false);
    if (rc !== 0) throw new Error(`${modelPath}: llama_decode failed (${rc})`);
    return seconds;
  };
  try {
    await decode(FEW);
    await decode(TOKENS);
    const few: number[] = [], all: number[] = [];
    for (let r = 0; r < repeats; r++) {
      few.push(await decode(FEW));
      all.push(await decode(TOKENS));
    }
    const fewRowsSeconds = median(few), allRowsSeconds = median(all);
    return {
      secondsPerRow: Math.max(0, (allRowsSeconds - fewRowsSeconds) / (TOKENS - FEW)),
      fewRowsSeconds: roundTo(fewRowsSeconds, 5),
      allRowsSeconds: roundTo(allRowsSeconds, 5),
      repeats,
    };
  } finally {
    b.free();
    freeLlamaContext(h);
  }
}

/**
 * Tokens/s llama-bench's rate implies for a workload of `tokens` decoded tokens of which `rows`
 * ask for logits: its prompt time for the tokens plus the output layer for the rows.
 */
export function referenceRate(
  tokens: number,
  rows: number,
  ppTokensPerSecond: number,
  secondsPerRow: number,
): number {
  return tokens / (tokens / ppTokensPerSecond + rows * secondsPerRow);
}
