/**
 * Decontamination: remove training rows that share a word n-gram (13 by default) with a
 * benchmark's test items, as lm-evaluation-harness's decontamination does. Text is normalised
 * the way its janitor does (`lm_eval/decontamination/janitor.py`): ASCII letters lowercased,
 * ASCII punctuation deleted, split on whitespace.
 *
 * A benchmark item shorter than `n` words (common for short questions) would have no n-gram at
 * all and could never be found, so an item of at least `minWords` words registers its whole
 * word sequence instead: a training row containing it verbatim (after normalisation) is
 * contaminated. Items shorter than `minWords` are skipped and counted.
 *
 * All n-grams are hashed to 64-bit keys in a typed-array hash table; a hit is confirmed word by
 * word before a row is removed, so hash collisions cannot remove anything. Each reject names
 * the benchmark, the item's id, the shared n-gram and the item's text.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { ContaminationIndex, decontaminate } from "./decontaminate.ts";
 * import { toExamples } from "./examples.ts";
 * const index = new ContaminationIndex([
 *   { benchmark: "quiz", id: "q1", text: "What is the capital of Nisel? The capital of Nisel is Volesa, by the river." },
 * ]);
 * const { examples } = toExamples([
 *   { text: "Trivia: what is the capital of nisel the capital of Nisel is Volesa by the river!" },
 *   { text: "An unrelated sentence about cooking rice in a small pot with water and salt." },
 * ], { format: "text", text: "text" });
 * const out = decontaminate(examples, index);
 * strictEqual(out.kept.length, 1);
 * const matched = out.rejects[0].matched as { benchmark: string; id: string };
 * strictEqual(`${matched.benchmark}/${matched.id}`, "quiz/q1");
 * ```
 * @module
 */
import { fmix32, PairTable } from "./_hash.ts";
import { janitorWords, scanWords, WordBuffer } from "./_words.ts";
import {
  type Example,
  exampleText,
  exampleWhere,
  type Reject,
  type StageResult,
} from "./examples.ts";

/** One benchmark text to check training data against. */
export interface BenchmarkItem {
  /** The benchmark (task name or file) it comes from. */
  benchmark: string;
  /** The item's id (its `id` field, or `<split>:<row>`). */
  id: string;
  /** The text whose n-grams must not appear in training data. */
  text: string;
}

/** Options of {@linkcode ContaminationIndex}. */
export interface ContaminationOptions {
  /** Words per n-gram (lm-eval's decontamination uses 13). Default: 13. */
  n?: number;
  /** Items shorter than `n` words but at least this long are matched as a whole; shorter ones are skipped. Default: 6. */
  minWords?: number;
}

/** Defaults of {@linkcode ContaminationOptions}. */
export const CONTAMINATION_DEFAULTS: Required<ContaminationOptions> = { n: 13, minWords: 6 };

/** Where a training text collided with a benchmark. */
export interface ContaminationMatch {
  /** The benchmark. */
  benchmark: string;
  /** The item's id. */
  id: string;
  /** The shared n-gram, normalised. */
  ngram: string;
  /** The item's text (first characters). */
  text: string;
}

/** Characters of a benchmark item's text kept in a match. */
const ITEM_TEXT_CHARS = 300;
const BASE_A = 0x01000193, BASE_B = 0x5bd1e995;
const LENGTH_SALT_A = 0x9e3779b1, LENGTH_SALT_B = 0x85ebca77;
/** Words a {@linkcode WindowHasher} holds before it grows. */
const INITIAL_WORDS = 256;
/** Prefix bitmap: 2^24 bits (2 MiB), indexed by the top 24 bits of a prefix hash. */
const PREFIX_SHIFT = 8;
const PREFIX_BITMAP_BYTES = (1 << (32 - PREFIX_SHIFT)) / 8;

/** Prefix hashes of a word-hash sequence, under two bases (for O(1) window hashes). */
class WindowHasher {
  pa = new Uint32Array(INITIAL_WORDS + 1);
  pb = new Uint32Array(INITIAL_WORDS + 1);
  powA: Uint32Array;
  powB: Uint32Array;

  constructor(maxLen: number) {
    this.powA = new Uint32Array(maxLen + 1);
    this.powB = new Uint32Array(maxLen + 1);
    this.powA[0] = this.powB[0] = 1;
    for (let i = 1; i <= maxLen; i++) {
      this.powA[i] = Math.imul(this.powA[i - 1], BASE_A);
      this.powB[i] = Math.imul(this.powB[i - 1], BASE_B);
    }
  }

  load(words: Int32Array, count: number): void {
    if (this.pa.length < count + 1) {
      let size = this.pa.length;
      while (size < count + 1) size *= 2;
      this.pa = new Uint32Array(size);
      this.pb = new Uint32Array(size);
    }
    const pa = this.pa, pb = this.pb;
    for (let i = 0; i < count; i++) {
      pa[i + 1] = Math.imul(pa[i], BASE_A) + words[i];
      pb[i + 1] = Math.imul(pb[i], BASE_B) + (words[i] ^ LENGTH_SALT_B);
    }
  }

  /** First half of the key of words [start, start + len). */
  a(start: number, len: number): number {
    const h = (this.pa[start + len] - Math.imul(this.pa[start], this.powA[len])) | 0;
    return fmix32(h ^ Math.imul(len, LENGTH_SALT_A));
  }

  /** Second half of the key. */
  b(start: number, len: number): number {
    const h = (this.pb[start + len] - Math.imul(this.pb[start], this.powB[len])) | 0;
    return fmix32(h + len);
  }
}

/** Index statistics. */
export interface ContaminationIndexStats {
  /** Items registered. */
  items: number;
  /** Distinct n-grams (and whole short items) indexed. */
  ngrams: number;
  /** Items shorter than `n` words, matched as a whole. */
  wholeItems: number;
  /** Items shorter than `minWords` words: not checked. */
  skipped: number;
  /** Items per benchmark. */
  benchmarks: Record<string, number>;
}

/** The n-grams of benchmark items, ready to check training texts against. */
export class ContaminationIndex {
  /** Words per n-gram. */
  readonly n: number;
  /** Shortest item matched as a whole. */
  readonly minWords: number;
  /** What was indexed. */
  readonly stats: ContaminationIndexStats;
  #items: BenchmarkItem[] = [];
  #words: string[][] = [];
  #gramItem = new Int32Array(0);
  #gramStart = new Int32Array(0);
  #gramLen = new Int32Array(0);
  #grams: PairTable;
  #prefix = new Uint8Array(PREFIX_BITMAP_BYTES);
  #lengths: number[];
  #prefixLen: number;
  #hasher: WindowHasher;
  #buf = new WordBuffer();

  /** Index the n-grams of `items`. */
  constructor(items: readonly BenchmarkItem[], options: ContaminationOptions = {}) {
    const { n, minWords } = { ...CONTAMINATION_DEFAULTS, ...options };
    if (!Number.isInteger(n) || n < 1) throw new Error(`n-gram size must be ≥ 1, got ${n}`);
    this.n = n;
    this.minWords = Math.min(minWords, n);
    this.#hasher = new WindowHasher(n);
    const stats: ContaminationIndexStats = {
      items: items.length,
      ngrams: 0,
      wholeItems: 0,
      skipped: 0,
      benchmarks: {},
    };
    const kept: Int32Array[] = [];
    const lengths = new Set<number>();
    for (const item of items) {
      stats.benchmarks[item.benchmark] = (stats.benchmarks[item.benchmark] ?? 0) + 1;
      const count = scanWords(item.text, this.#buf);
      if (count < this.minWords || count === 0) {
        stats.skipped++;
        continue;
      }
      this.#items.push(item);
      this.#words.push(janitorWords(item.text));
      kept.push(this.#buf.hashes.slice(0, count));
      if (count < n) stats.wholeItems++;
      lengths.add(Math.min(n, count));
    }
    this.#lengths = [...lengths].sort((a, b) => a - b);
    const m = this.#prefixLen = this.#lengths[0] ?? n;
    // a bitmap of every gram's first m words (hashed) rules out almost every position with
    // one hash and one byte read; only hits look up the grams of each length
    const gItem: number[] = [], gStart: number[] = [], gLen: number[] = [];
    const total = kept.reduce((t, w) => t + w.length, 0);
    this.#grams = new PairTable(total);
    kept.forEach((words, itemIndex) => {
      const h = this.#hasher;
      h.load(words, words.length);
      const len = Math.min(n, words.length);
      for (let s = 0; s + len <= words.length; s++) {
        const ka = h.a(s, len), kb = h.b(s, len);
        if (this.#grams.get(ka, kb) >= 0) continue; // the first item with an n-gram names it
        this.#grams.set(ka, kb, gItem.length);
        gItem.push(itemIndex);
        gStart.push(s);
        gLen.push(len);
        const bit = h.a(s, m) >>> PREFIX_SHIFT;
        this.#prefix[bit >>> 3] |= 1 << (bit & 7);
      }
    });
    stats.ngrams = gItem.length;
    this.#gramItem = Int32Array.from(gItem);
    this.#gramStart = Int32Array.from(gStart);
    this.#gramLen = Int32Array.from(gLen);
    this.stats = stats;
  }

  /**
   * The first benchmark item that shares an n-gram (or, for short items, its whole text)
   * with `text`, or undefined.
   */
  find(text: string): ContaminationMatch | undefined {
    const lengths = this.#lengths;
    if (lengths.length === 0) return undefined;
    const count = scanWords(text, this.#buf);
    if (count < this.#prefixLen) return undefined;
    const h = this.#hasher;
    h.load(this.#buf.hashes, count);
    const m = this.#prefixLen, prefix = this.#prefix;
    let words: string[] | undefined;
    for (let s = 0; s + m <= count; s++) {
      const bit = h.a(s, m) >>> PREFIX_SHIFT;
      if ((prefix[bit >>> 3] & (1 << (bit & 7))) === 0) continue;
      for (const len of lengths) {
        if (s + len > count) break;
        const g = this.#grams.get(h.a(s, len), h.b(s, len));
        if (g < 0) continue;
        words ??= janitorWords(text);
        const item = this.#gramItem[g], start = this.#gramStart[g];
        const itemWords = this.#words[item];
        let same = this.#gramLen[g] === len;
        for (let k = 0; same && k < len; k++) same = words[s + k] === itemWords[start + k];
        if (!same) continue;
        const it = this.#items[item];
        return {
          benchmark: it.benchmark,
          id: it.id,
          ngram: words.slice(s, s + len).join(" "),
          text: it.text.length <= ITEM_TEXT_CHARS
            ? it.text
            : it.text.slice(0, ITEM_TEXT_CHARS) + "…",
        };
      }
    }
    return undefined;
  }

  /** Bytes held by the hash tables. */
  get bytes(): number {
    return this.#grams.bytes + this.#prefix.byteLength;
  }
}

/** What {@linkcode decontaminate} did. */
export interface DecontaminationReport {
  /** Words per n-gram. */
  n: number;
  /** Shortest item matched as a whole. */
  minWords: number;
  /** The index's statistics. */
  index: ContaminationIndexStats;
  /** Rows removed. */
  removed: number;
  /** Rows removed per benchmark. */
  byBenchmark: Record<string, number>;
}

/**
 * Remove the examples whose text (every turn) shares an n-gram with a benchmark item.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { ContaminationIndex, decontaminate } from "./decontaminate.ts";
 * const index = new ContaminationIndex([{ benchmark: "b", id: "1", text: "alpha beta gamma delta epsilon zeta" }]);
 * const ex = { index: 0, row: { id: "t1" }, messages: [{ role: "user" as const, content: "Alpha, beta; gamma delta epsilon ZETA eta" }] };
 * deepStrictEqual(decontaminate([ex], index).report.byBenchmark, { b: 1 });
 * ```
 */
export function decontaminate(
  examples: readonly Example[],
  index: ContaminationIndex,
): StageResult & { report: DecontaminationReport } {
  const kept: Example[] = [];
  const rejects: Reject[] = [];
  const byBenchmark: Record<string, number> = {};
  for (const ex of examples) {
    const hit = index.find(exampleText(ex));
    if (!hit) {
      kept.push(ex);
      continue;
    }
    byBenchmark[hit.benchmark] = (byBenchmark[hit.benchmark] ?? 0) + 1;
    rejects.push({
      rule: "contaminated",
      row: ex.row,
      index: ex.index,
      matched: hit,
      reason: `${exampleWhere(ex)}: shares "${hit.ngram}" with ${hit.benchmark} item ${hit.id}`,
    });
  }
  return {
    kept,
    rejects,
    report: {
      n: index.n,
      minWords: index.minWords,
      index: index.stats,
      removed: rejects.length,
      byBenchmark,
    },
  };
}
