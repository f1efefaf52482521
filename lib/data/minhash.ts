/**
 * MinHash primitives: shingles of a text (word or character n-grams, hashed to 32 bits),
 * exact Jaccard similarity of two shingle sets, MinHash signatures in a `Uint32Array`, and the
 * choice of LSH banding for a similarity threshold. Everything is seeded and deterministic.
 *
 * Words are split as lm-evaluation-harness's decontamination janitor splits them (ASCII
 * punctuation deleted, whitespace-separated), after full Unicode lowercasing.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { jaccard, MinHasher, shingleSet } from "./minhash.ts";
 * const a = shingleSet("the quick brown fox jumps over the lazy dog today");
 * const b = shingleSet("the quick brown fox jumps over the lazy cat today");
 * const mh = new MinHasher({ numPerm: 128 });
 * strictEqual(jaccard(a, b), 0.5); // 4 of the 8 distinct 5-word shingles are shared
 * strictEqual(MinHasher.estimate(mh.signature(a), mh.signature(b)), 0.5); // seeded: repeatable
 * ```
 * @module
 */
import { fmix32, FNV_OFFSET, FNV_PRIME } from "./_hash.ts";
import { scanWords, WordBuffer } from "./_words.ts";
import { Rng } from "../util/rng.ts";

/** What a shingle is made of. */
export type ShingleKind = "word" | "char";

/** Options for shingling and MinHash. */
export interface MinHashOptions {
  /** Word or character shingles. Default: `"word"`. */
  shingle?: ShingleKind;
  /** Words (or characters) per shingle; a text shorter than this is one shingle. Default: 5. */
  shingleSize?: number;
  /** Hash functions in a signature (near-dup uses bands × rows of them). Default: 64. */
  numPerm?: number;
  /** Seed of the hash functions. Default: 1. */
  seed?: number;
  /**
   * `"oph"`: one permutation hashing with optimal densification (Shrivastava, ICML 2017): each
   * shingle is hashed once into one of `numPerm` bins and empty bins borrow from others, so a
   * signature costs O(shingles + numPerm); two texts still agree in a bin with probability equal
   * to their Jaccard similarity. `"classic"`: `numPerm` independent hash functions,
   * O(shingles × numPerm). Default: `"oph"`.
   */
  method?: MinHashMethod;
}

/** How MinHash signatures are computed (see {@linkcode MinHashOptions.method}). */
export type MinHashMethod = "oph" | "classic";

/** Defaults of {@linkcode MinHashOptions}. */
export const MINHASH_DEFAULTS: Required<MinHashOptions> = {
  shingle: "word",
  shingleSize: 5,
  numPerm: 64,
  seed: 1,
  method: "oph",
};

/** A reusable buffer of shingle hashes. */
export class ShingleBuffer {
  /** Hashes (as signed 32-bit integers), `count` of them valid (in text order, possibly repeated). */
  hashes: Int32Array = new Int32Array(256);
  /** Valid hashes. */
  count = 0;
  /** @internal word buffer */
  words: WordBuffer = new WordBuffer();

  /** Make room for `n` hashes. */
  reserve(n: number): void {
    if (n <= this.hashes.length) return;
    let size = this.hashes.length;
    while (size < n) size *= 2;
    this.hashes = new Int32Array(size);
  }
}

const WHITESPACE_RUN = /\s+/g;
// deno-lint-ignore no-control-regex
const NON_ASCII = /[^\u0000-\u007f]/;

/**
 * Hash the shingles of `text` into `buf` (in text order, repeats kept); returns their number.
 * An empty text has none; a text shorter than `shingleSize` has one.
 */
export function shingleHashes(
  text: string,
  buf: ShingleBuffer,
  options: MinHashOptions = {},
): number {
  const kind = options.shingle ?? MINHASH_DEFAULTS.shingle;
  const k = options.shingleSize ?? MINHASH_DEFAULTS.shingleSize;
  if (kind === "word") {
    // scanWords lowercases ASCII itself; only other scripts need the full case mapping
    const n = scanWords(NON_ASCII.test(text) ? text.toLowerCase() : text, buf.words);
    const w = buf.words.hashes;
    const count = n === 0 ? 0 : Math.max(1, n - k + 1);
    buf.reserve(count);
    const out = buf.hashes;
    for (let i = 0; i < count; i++) {
      let h = FNV_OFFSET;
      const end = Math.min(n, i + k);
      for (let j = i; j < end; j++) h = Math.imul(h ^ w[j], FNV_PRIME);
      out[i] = fmix32(h ^ (end - i));
    }
    buf.count = count;
    return count;
  }
  const s = text.toLowerCase().replace(WHITESPACE_RUN, " ").trim();
  const count = s.length === 0 ? 0 : Math.max(1, s.length - k + 1);
  buf.reserve(count);
  const out = buf.hashes;
  for (let i = 0; i < count; i++) {
    let h = FNV_OFFSET;
    const end = Math.min(s.length, i + k);
    for (let j = i; j < end; j++) h = Math.imul(h ^ s.charCodeAt(j), FNV_PRIME);
    out[i] = fmix32(h ^ (end - i));
  }
  buf.count = count;
  return count;
}

/**
 * The set of shingle hashes of `text` (signed 32-bit), sorted ascending without repeats (the
 * form {@linkcode jaccard} reads).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { shingleSet } from "./minhash.ts";
 * strictEqual(shingleSet("a b c d e f").length, 2);
 * strictEqual(shingleSet("one two", { shingleSize: 5 }).length, 1);
 * ```
 */
export function shingleSet(
  text: string,
  options: MinHashOptions = {},
  buf = new ShingleBuffer(),
): Int32Array {
  const n = shingleHashes(text, buf, options);
  const sorted = buf.hashes.slice(0, n).sort();
  let m = 0;
  for (let i = 0; i < n; i++) if (i === 0 || sorted[i] !== sorted[m - 1]) sorted[m++] = sorted[i];
  return sorted.slice(0, m);
}

/**
 * Exact Jaccard similarity |A ∩ B| / |A ∪ B| of two sorted, repeat-free shingle sets (1 when
 * both are empty).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { jaccard } from "./minhash.ts";
 * strictEqual(jaccard(Int32Array.of(1, 2, 3), Int32Array.of(2, 3, 4)), 0.5);
 * ```
 */
export function jaccard(a: Int32Array, b: Int32Array): number {
  if (a.length === 0 && b.length === 0) return 1;
  let i = 0, j = 0, common = 0;
  while (i < a.length && j < b.length) {
    const x = a[i], y = b[j];
    if (x === y) {
      common++;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return common / (a.length + b.length - common);
}

/** Odd multipliers come from this constant. */
const ODD = 1;
/** Stream name of the hash-function seeds. */
const SEED_STREAM = "minhash";
const UINT32 = 4294967296;
const MIX_SHIFT = 16;
const INT32_MAX = 0x7fffffff;

/** Most probes for a non-empty bin before densification falls back to a scan. */
const MAX_PROBES = 64;
const PROBE_MULT_A = 0x9e3779b1, PROBE_MULT_B = 0x85ebca77;
/** Bins are taken from the top 16 bits of a shingle's hash. */
const BIN_BITS = 16;
const MAX_BINS = 1 << BIN_BITS;

/**
 * MinHash signatures of shingle-hash sets. Two texts agree at a signature position with
 * probability equal to their Jaccard similarity; see {@linkcode MinHashOptions.method} for the
 * two ways of computing them.
 */
export class MinHasher {
  /** Signature length. */
  readonly numPerm: number;
  /** The method. */
  readonly method: MinHashMethod;
  #xor: Int32Array;
  #mul: Int32Array;
  #seed: number;
  #filled: Uint8Array;

  /** Create the hash functions (`numPerm`, `seed` and `method` from the options). */
  constructor(options: MinHashOptions = {}) {
    const { numPerm, seed, method } = { ...MINHASH_DEFAULTS, ...options };
    if (!Number.isInteger(numPerm) || numPerm < 1 || numPerm > MAX_BINS) {
      throw new Error(`numPerm must be an integer from 1 to ${MAX_BINS}, got ${numPerm}`);
    }
    if (method !== "oph" && method !== "classic") {
      throw new Error(`MinHash method must be "oph" or "classic", got "${method}"`);
    }
    this.numPerm = numPerm;
    this.method = method;
    const rng = new Rng(seed, SEED_STREAM);
    this.#xor = Int32Array.from({ length: numPerm }, () => Math.floor(rng.next() * UINT32) | 0);
    this.#mul = Int32Array.from({ length: numPerm }, () => Math.floor(rng.next() * UINT32) | ODD);
    this.#seed = Math.floor(rng.next() * UINT32) | 0;
    this.#filled = new Uint8Array(numPerm);
  }

  /**
   * The signature of a set (or list) of shingle hashes, written into `out` when given. Values
   * are compared as signed 32-bit integers (an order-preserving relabelling of the unsigned
   * ones, which keeps V8 on integer arithmetic). An empty input gives all 0x7fffffff.
   */
  signature(
    shingles: Int32Array,
    out: Int32Array = new Int32Array(this.numPerm),
    count = shingles.length,
  ): Int32Array {
    return this.method === "oph"
      ? this.#oph(shingles, out, count)
      : this.#classic(shingles, out, count);
  }

  #classic(shingles: Int32Array, out: Int32Array, count: number): Int32Array {
    const p = this.numPerm, xs = this.#xor, ms = this.#mul;
    out.fill(INT32_MAX);
    for (let i = 0; i < count; i++) {
      const s = shingles[i];
      for (let j = 0; j < p; j++) {
        let v = Math.imul(s ^ xs[j], ms[j]);
        v ^= v >>> MIX_SHIFT;
        out[j] = Math.min(out[j], v);
      }
    }
    return out;
  }

  #oph(shingles: Int32Array, out: Int32Array, count: number): Int32Array {
    const k = this.numPerm, seed = this.#seed, filled = this.#filled;
    out.fill(INT32_MAX);
    filled.fill(0);
    for (let i = 0; i < count; i++) {
      const v = fmix32(shingles[i] ^ seed) | 0;
      // the bin comes from the top bits, so within a bin signed order is unsigned order
      const bin = ((v >>> BIN_BITS) * k) >>> BIN_BITS;
      if (v < out[bin]) out[bin] = v;
      filled[bin] = 1;
    }
    if (count === 0) return out;
    // optimal densification: an empty bin copies the first filled bin of its own fixed,
    // seeded probe sequence (the same sequence for every text)
    for (let j = 0; j < k; j++) {
      if (filled[j]) continue;
      let src = -1;
      for (let a = 1; a <= MAX_PROBES && src < 0; a++) {
        const t = ((fmix32(seed ^ Math.imul(j + 1, PROBE_MULT_A) ^ Math.imul(a, PROBE_MULT_B)) >>>
          BIN_BITS) * k) >>> BIN_BITS;
        if (filled[t]) src = t;
      }
      for (let t = (j + 1) % k; src < 0; t = (t + 1) % k) if (filled[t]) src = t;
      out[j] = out[src];
    }
    return out;
  }

  /** The fraction of positions where two signatures agree: an estimate of Jaccard similarity. */
  static estimate(a: Int32Array, b: Int32Array): number {
    let same = 0;
    for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
    return same / a.length;
  }
}

/** LSH banding: `bands` bands of `rows` signature values each. */
export interface LshParams {
  /** Number of bands. */
  bands: number;
  /** Signature values per band. */
  rows: number;
}

/** Share of pairs at the threshold that LSH must make candidates, when choosing bands. */
export const LSH_TARGET_RECALL = 0.999;

/**
 * The probability that two texts with Jaccard similarity `j` share at least one band:
 * 1 − (1 − j^rows)^bands.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { candidateProbability } from "./minhash.ts";
 * strictEqual(candidateProbability(0.8, { bands: 16, rows: 4 }).toFixed(4), "0.9998");
 * ```
 */
export function candidateProbability(j: number, params: LshParams): number {
  return 1 - Math.pow(1 - Math.pow(j, params.rows), params.bands);
}

/**
 * Banding for a threshold: the most rows per band (fewest false candidates) for which pairs at
 * the threshold still become candidates with probability ≥ `recall`, using at most `numPerm`
 * hash functions.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { lshParams } from "./minhash.ts";
 * deepStrictEqual(lshParams(0.8, 64), { bands: 16, rows: 4 });
 * ```
 */
export function lshParams(
  threshold: number,
  numPerm: number,
  recall = LSH_TARGET_RECALL,
): LshParams {
  if (!(threshold > 0 && threshold <= 1)) {
    throw new Error(`near-dup threshold must be in (0, 1], got ${threshold}`);
  }
  for (let rows = numPerm; rows >= 1; rows--) {
    const bands = Math.floor(numPerm / rows);
    if (candidateProbability(threshold, { bands, rows }) >= recall) return { bands, rows };
  }
  return { bands: numPerm, rows: 1 };
}
