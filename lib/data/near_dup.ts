/**
 * Near-duplicate removal with MinHash and LSH banding. Examples are visited best first (the
 * keep rule, as in exact dedup); each one's signature is cut into bands, and the kept examples
 * sharing a band with it are candidates. A candidate counts only if the exact Jaccard
 * similarity of the two shingle sets reaches the threshold, so LSH never removes a row on its
 * own: it only decides which pairs are compared. A verified row becomes a `near_dup` reject
 * pointing at the kept row it matched; the kept row and the rows it absorbed form a cluster.
 * Only kept rows are indexed, so every removed row is within the threshold of a row that stays.
 * Deterministic: same input and options, same output.
 *
 * Cost: one signature per row (shingles × hash functions) plus one hash-table probe per band;
 * linear in the rows for data without near duplicates.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { dedupNear } from "./near_dup.ts";
 * import { toExamples } from "./examples.ts";
 * const base = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen";
 * const { examples } = toExamples([
 *   { text: base },
 *   { text: base.replace("fourteen", "fifteen") },
 *   { text: "something else entirely, with no words shared at all here" },
 * ], { format: "text", text: "text" });
 * const out = dedupNear(examples, { threshold: 0.7 });
 * strictEqual(out.kept.length, 2);
 * strictEqual(out.rejects[0].rule, "near_dup");
 * strictEqual(out.report.clusters, 1);
 * ```
 * @module
 */
import { fmix32, FNV_OFFSET, FNV_PRIME, IntList, PairTable } from "./_hash.ts";
import {
  type DedupOn,
  dedupText,
  EXACT_DEDUP_DEFAULTS,
  keepOrder,
  type KeepRule,
  matchedRow,
} from "./dedup.ts";
import { type Example, exampleWhere, type Reject, type StageResult } from "./examples.ts";
import {
  jaccard,
  lshParams,
  MINHASH_DEFAULTS,
  MinHasher,
  type MinHashOptions,
  ShingleBuffer,
  shingleHashes,
  shingleSet,
} from "./minhash.ts";

/** Options of {@linkcode dedupNear}. */
export interface NearDupOptions extends MinHashOptions {
  /** Jaccard similarity of shingle sets at or above which two rows are near duplicates. Default: 0.8. */
  threshold?: number;
  /** Text compared. Default: `"prompt"`. */
  on?: DedupOn;
  /** Which row of a cluster is kept. Default: `"longest_output"`. */
  keep?: KeepRule;
  /** LSH bands. Default: chosen by {@linkcode lshParams} so that pairs at the threshold are compared with probability ≥ 0.999 (16 × 4 at 0.8 with 64 functions). */
  bands?: number;
  /** Signature values per band. Default: with `bands`, from {@linkcode lshParams}. */
  rows?: number;
  /** Clusters listed in the report (largest first). Default: 10. */
  reportClusters?: number;
  /** Members shown per listed cluster. Default: 3. */
  reportMembers?: number;
}

/** Defaults of {@linkcode NearDupOptions} (bands/rows: derived from the threshold). */
export const NEAR_DUP_DEFAULTS = {
  ...MINHASH_DEFAULTS,
  threshold: 0.8,
  on: EXACT_DEDUP_DEFAULTS.on,
  keep: EXACT_DEDUP_DEFAULTS.keep,
  reportClusters: 10,
  reportMembers: 3,
} as const;

/** Characters of text shown per row in cluster reports. */
const SNIPPET_CHARS = 160;

/** One near-duplicate cluster, as shown in the report. */
export interface NearDupCluster {
  /** The kept row: 1-based row number, `id` when it has one, and the start of its text. */
  kept: { row_number: number; id?: unknown; text: string };
  /** Rows in the cluster, the kept one included. */
  size: number;
  /** Some removed members with their Jaccard similarity to the kept row. */
  members: { row_number: number; id?: unknown; jaccard: number; text: string }[];
}

/** What {@linkcode dedupNear} did. */
export interface NearDupReport {
  /** The threshold. */
  threshold: number;
  /** Shingle kind and size. */
  shingle: string;
  /** How signatures were computed. */
  method: string;
  /** Signature length used (bands × rows). */
  numPerm: number;
  /** LSH bands and rows per band. */
  bands: number;
  /** Rows per band. */
  rows: number;
  /** Candidate pairs compared exactly. */
  candidates: number;
  /** Rows removed. */
  removed: number;
  /** Clusters (kept rows that absorbed at least one other). */
  clusters: number;
  /** Cluster sizes: size → how many clusters have it. */
  sizes: Record<string, number>;
  /** The largest clusters, with examples. */
  largest: NearDupCluster[];
}

/** How many cached shingle sets of kept rows to hold before starting over. */
const SHINGLE_CACHE_LIMIT = 4096;
/** Seeds of the two halves of a band key. */
const BAND_SEED_A = 0x27d4eb2f, BAND_SEED_B = 0x165667b1, BAND_MIX_SHIFT = 15;

/** Kept rows indexed by band: band key → linked list of rows. */
class LshIndex {
  #table: PairTable;
  #row = new IntList();
  #next = new IntList();

  constructor(expected: number) {
    this.#table = new PairTable(expected);
  }

  add(keys: Uint32Array, bands: number, row: number): void {
    for (let b = 0; b < bands; b++) {
      // the new node becomes the bucket's head and links to the previous one
      const node = this.#row.push(row);
      this.#next.push(this.#table.set(keys[2 * b], keys[2 * b + 1], node));
    }
  }

  /** Call `visit` with each indexed row sharing a band (a row may come more than once). */
  forEach(keys: Uint32Array, bands: number, visit: (row: number) => void): void {
    for (let b = 0; b < bands; b++) {
      for (let n = this.#table.get(keys[2 * b], keys[2 * b + 1]); n >= 0; n = this.#next.at(n)) {
        visit(this.#row.at(n));
      }
    }
  }

  get bytes(): number {
    return this.#table.bytes + this.#row.bytes + this.#next.bytes;
  }
}

function bandKeys(sig: Int32Array, bands: number, rows: number, out: Uint32Array): void {
  for (let b = 0; b < bands; b++) {
    let h1 = FNV_OFFSET ^ Math.imul(b + 1, BAND_SEED_A), h2 = BAND_SEED_B ^ b;
    const base = b * rows;
    for (let r = 0; r < rows; r++) {
      const v = sig[base + r];
      h1 = Math.imul(h1 ^ v, FNV_PRIME);
      h2 = Math.imul(h2 + v, BAND_SEED_A) ^ (h2 >>> BAND_MIX_SHIFT);
    }
    out[2 * b] = fmix32(h1);
    out[2 * b + 1] = fmix32(h2);
  }
}

function snippet(text: string): string {
  return text.length <= SNIPPET_CHARS ? text : text.slice(0, SNIPPET_CHARS) + "…";
}

function idOf(ex: Example): unknown {
  return ex.row.id;
}

/**
 * Remove near duplicates. Kept examples come back in input order; each reject's `matched` is
 * the kept row with its Jaccard similarity.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { dedupNear } from "./near_dup.ts";
 * import { toExamples } from "./examples.ts";
 * const { examples } = toExamples([{ text: "a b c d e f g h" }, { text: "a b c d e f g h i" }],
 *   { format: "text", text: "text" });
 * deepStrictEqual(dedupNear(examples, { threshold: 0.75, keep: "first" }).rejects[0].matched, {
 *   row_number: 1,
 *   jaccard: 0.8,
 *   row: { text: "a b c d e f g h" },
 * });
 * ```
 */
export function dedupNear(
  examples: readonly Example[],
  options: NearDupOptions = {},
): StageResult & { report: NearDupReport } {
  const o = { ...NEAR_DUP_DEFAULTS, ...options };
  const auto = lshParams(o.threshold, o.numPerm);
  const bands = o.bands ?? auto.bands;
  const rows = o.rows ??
    (o.bands === undefined ? auto.rows : Math.max(1, Math.floor(o.numPerm / bands)));
  const numPerm = bands * rows;
  const shingleOptions: MinHashOptions = { shingle: o.shingle, shingleSize: o.shingleSize };
  const hasher = new MinHasher({ numPerm, seed: o.seed, method: o.method });
  const index = new LshIndex(examples.length * bands);
  const buf = new ShingleBuffer();
  const sig = new Int32Array(numPerm);
  const keys = new Uint32Array(2 * bands);
  const seen = new Int32Array(examples.length).fill(-1);
  const dupOf = new Int32Array(examples.length).fill(-1);
  const simOf = new Float64Array(examples.length);
  const cache = new Map<number, Int32Array>();
  const setOf = (i: number) => {
    let s = cache.get(i);
    if (!s) {
      if (cache.size >= SHINGLE_CACHE_LIMIT) cache.clear();
      s = shingleSet(dedupText(examples[i], o.on), shingleOptions);
      cache.set(i, s);
    }
    return s;
  };
  let candidates = 0;
  for (const i of keepOrder(examples, o.keep)) {
    const text = dedupText(examples[i], o.on);
    const n = shingleHashes(text, buf, shingleOptions);
    hasher.signature(buf.hashes, sig, n);
    bandKeys(sig, bands, rows, keys);
    let mine: Int32Array | undefined;
    let best = -1, bestSim = 0;
    index.forEach(keys, bands, (c) => {
      if (seen[c] === i) return;
      seen[c] = i;
      candidates++;
      mine ??= shingleSet(text, shingleOptions);
      const sim = jaccard(mine, setOf(c));
      if (sim >= o.threshold && (sim > bestSim || (sim === bestSim && c < best))) {
        best = c;
        bestSim = sim;
      }
    });
    if (best >= 0) {
      dupOf[i] = best;
      simOf[i] = bestSim;
    } else index.add(keys, bands, i);
  }
  const kept: Example[] = [];
  const rejects: Reject[] = [];
  const members = new Map<number, number[]>();
  examples.forEach((ex, i) => {
    const d = dupOf[i];
    if (d < 0) {
      kept.push(ex);
      return;
    }
    const sim = simOf[i];
    rejects.push({
      rule: "near_dup",
      row: ex.row,
      index: ex.index,
      matched: matchedRow(examples[d], sim),
      reason: `${exampleWhere(ex)}: Jaccard ${sim.toFixed(3)} ≥ ${o.threshold} with ${
        exampleWhere(examples[d])
      } (${o.shingle} ${o.shingleSize}-shingles of the ${o.on}; kept: ${o.keep})`,
    });
    const list = members.get(d);
    if (list) list.push(i);
    else members.set(d, [i]);
  });
  const sizes: Record<string, number> = {};
  for (const list of members.values()) {
    const key = String(list.length + 1);
    sizes[key] = (sizes[key] ?? 0) + 1;
  }
  const largest = [...members.entries()]
    .sort((a, b) => b[1].length - a[1].length || a[0] - b[0])
    .slice(0, o.reportClusters)
    .map(([k, list]): NearDupCluster => ({
      kept: {
        row_number: examples[k].index + 1,
        ...(idOf(examples[k]) === undefined ? {} : { id: idOf(examples[k]) }),
        text: snippet(dedupText(examples[k], o.on)),
      },
      size: list.length + 1,
      members: list.slice(0, o.reportMembers).map((m) => ({
        row_number: examples[m].index + 1,
        ...(idOf(examples[m]) === undefined ? {} : { id: idOf(examples[m]) }),
        jaccard: simOf[m],
        text: snippet(dedupText(examples[m], o.on)),
      })),
    }));
  return {
    kept,
    rejects,
    report: {
      threshold: o.threshold,
      shingle: `${o.shingle}:${o.shingleSize}`,
      method: o.method,
      numPerm,
      bands,
      rows,
      candidates,
      removed: rejects.length,
      clusters: members.size,
      sizes,
      largest,
    },
  };
}
