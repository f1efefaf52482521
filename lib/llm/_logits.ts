/**
 * Reading a logits row in place (a view of llama.cpp's output buffer): its log-partition, arg-max
 * and most likely tokens, for the batched scorer and the batched generator alike, so both report
 * the same numbers for the same row.
 * @module
 */

/** A token and its natural-log probability. */
export interface TokenLogprob {
  /** Token id. */
  token: number;
  /** Natural-log probability. */
  logprob: number;
}

/** What a logits row says. */
export interface RowDistribution {
  /** log Σ exp(logits). */
  logZ: number;
  /** The most likely token (ties: the lowest id). */
  argmax: number;
  /** The `k` most likely tokens, most likely first (ties: the lower id first). */
  top: TokenLogprob[];
}

/** A view of batch row `row`'s logits (`nVocab` floats), or an error naming the row. */
export function logitsRow(
  symbols: { llama_get_logits_ith: (ctx: Deno.PointerValue, i: number) => Deno.PointerValue },
  ctx: Deno.PointerValue,
  row: number,
  nVocab: number,
): Float32Array {
  const p = symbols.llama_get_logits_ith(ctx, row);
  if (p === null) throw new Error(`llama.cpp returned no logits for batch row ${row}`);
  return new Float32Array(Deno.UnsafePointerView.getArrayBuffer(p, nVocab * 4));
}

/** Log-partition, arg-max and the `k` most likely tokens of a logits row. */
export function rowDistribution(logits: Float32Array, k: number): RowDistribution {
  let max = -Infinity, argmax = 0;
  for (let i = 0; i < logits.length; i++) {
    if (logits[i] > max) {
      max = logits[i];
      argmax = i;
    }
  }
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  const logZ = max + Math.log(sum);
  return { logZ, argmax, top: topTokens(logits, k, logZ) };
}

function topTokens(logits: Float32Array, k: number, logZ: number): TokenLogprob[] {
  if (k <= 0) return [];
  const ids: number[] = [];
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i];
    if (ids.length === k && v <= logits[ids[k - 1]]) continue;
    let at = ids.length;
    while (at > 0 && logits[ids[at - 1]] < v) at--;
    ids.splice(at, 0, i);
    if (ids.length > k) ids.pop();
  }
  return ids.map((token) => ({ token, logprob: logits[token] - logZ }));
}
