/**
 * An index over a run's `samples.jsonl`, so the viewer pages through 100k items without
 * holding them: for each line its byte range, task, id, prompt length and verdict. A page reads
 * only its own lines from disk; a text search reads the lines the other filters leave (and
 * remembers the matches while the file is unchanged, so paging through them is cheap). The
 * index follows a file that grows (an evaluation still running): the next query reads only the
 * lines appended since, and a line cut short is picked up once it is complete.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { SampleIndex } from "./sample_index.ts";
 * const dir = Deno.makeTempDirSync();
 * const lines = [0, 1, 1].map((s, i) =>
 *   JSON.stringify({ task: "t", doc_id: `d${i}`, prompt: `q${i}`, prompt_tokens: 5 + i, metrics: { acc: s } })
 * );
 * Deno.writeTextFileSync(join(dir, "samples.jsonl"), lines.join("\n") + "\n");
 * const index = new SampleIndex(join(dir, "samples.jsonl"));
 * const page = index.query({ outcome: "right" }, { offset: 0, limit: 10 });
 * assert.equal(page.total, 2);
 * assert.deepEqual(page.items.map((s) => s.doc_id), ["d1", "d2"]);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 * @module
 */
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import type { Sample } from "../eval/runner.ts";
import {
  matchesEntry,
  matchesText,
  outcomeOf,
  type SampleFilter,
  searchText,
  verdictMetric,
} from "./page/query.js";

export type { SampleFilter };

/** One line of samples.jsonl as the index keeps it. */
export interface IndexEntry {
  /** Byte offset of the line and its length (without the newline). */
  offset: number;
  length: number;
  /** 1-based line number. */
  line: number;
  task: string;
  docId: string;
  /** Prompt length in tokens (NaN when the line has none). */
  tokens: number;
  /** Verdict under the task's metric (see query.js's outcomeOf). */
  outcome: string;
  /** A hash of the prediction's text (equal texts, equal hashes): tells runs' answers apart. */
  predictionHash: number;
}

/** A page of items. */
export interface SamplePage {
  /** Items matching the filter. */
  total: number;
  offset: number;
  /** The page: each sample as written, plus its line number and verdict. */
  items: (Partial<Sample> & { line: number; outcome: string })[];
}

/** A line of samples.jsonl that is not JSON or not a sample. */
export interface BadLine {
  line: number;
  message: string;
}

/** Options for {@linkcode SampleIndex}. */
export interface SampleIndexOptions {
  /**
   * The metric that decides right or wrong, per task. Default: per task, the first of
   * acc, exact_match, em, f1, rougeL, rouge1, bleu4 in its first item's metrics.
   */
  metrics?: Record<string, string>;
}

/** Bytes read from disk at a time while indexing. */
const READ_CHUNK = 8 * 1024 * 1024;
const NEWLINE = 10;

/** An index of one samples.jsonl (see the module documentation). */
export class SampleIndex {
  /** The file indexed. */
  readonly path: string;
  #metrics: Record<string, string>;
  #entries: IndexEntry[] = [];
  /** Position in #entries of each (task, doc_id): the last line of an item wins. */
  #byKey = new Map<string, number>();
  #bad: BadLine[] = [];
  #indexedBytes = 0;
  #lines = 0;
  #identity = "";
  /** The last line indexed had no newline yet: the next byte, if one, ends it. */
  #owesNewline = false;
  #textCache: { key: string; matches: IndexEntry[] } | null = null;

  /**
   * Index `path` (a missing file is an empty index until it appears).
   *
   * @example
   * ```ts ignore
   * const index = new SampleIndex("results/eval/base/samples.jsonl", { metrics: { synth_qa: "em" } });
   * ```
   */
  constructor(path: string, options: SampleIndexOptions = {}) {
    this.path = path;
    this.#metrics = { ...options.metrics };
    this.refresh();
  }

  /**
   * Read what was appended since the last call (all of it when the file shrank or was
   * replaced); returns whether anything changed.
   *
   * @example
   * ```ts ignore
   * if (index.refresh()) console.log(index.size);
   * ```
   */
  refresh(): boolean {
    if (!existsSync(this.path)) {
      const changed = this.#entries.length > 0;
      if (changed) this.#reset();
      return changed;
    }
    const stat = statSync(this.path);
    const identity = String(stat.ino);
    if (stat.size < this.#indexedBytes || identity !== this.#identity) {
      this.#reset();
      this.#identity = identity;
    }
    if (stat.size === this.#indexedBytes) return false;
    const before = this.#indexedBytes;
    const fd = openSync(this.path, "r");
    try {
      let carry = new Uint8Array(0);
      let position = this.#indexedBytes;
      while (position < stat.size) {
        const size = Math.min(READ_CHUNK, stat.size - position);
        const chunk = new Uint8Array(carry.length + size);
        chunk.set(carry);
        const read = readSync(fd, chunk, carry.length, size, position);
        position += read;
        const data = chunk.subarray(0, carry.length + read);
        const base = position - data.length;
        let start = 0;
        if (this.#owesNewline && data[0] === NEWLINE) start = 1;
        this.#owesNewline = false;
        for (let i = start; i < data.length; i++) {
          if (data[i] !== NEWLINE) continue;
          this.#addLine(data.subarray(start, i), base + start);
          start = i + 1;
        }
        carry = data.slice(start);
        this.#indexedBytes = position - carry.length;
        if (read === 0) break;
      }
      // A last line without its newline counts once it is whole JSON (a file written by hand); an
      // evaluation appends each line with its newline in one write, so a partial line waits.
      if (carry.length && isJson(carry)) {
        this.#addLine(carry, this.#indexedBytes);
        this.#indexedBytes += carry.length;
        this.#owesNewline = true;
      }
    } finally {
      closeSync(fd);
    }
    if (this.#indexedBytes !== before) this.#textCache = null;
    return this.#indexedBytes !== before;
  }

  /** Items indexed (the last line of each task and doc_id). */
  get size(): number {
    return this.#byKey.size;
  }

  /** Lines that are not JSON or not samples, with their line numbers. */
  get badLines(): readonly BadLine[] {
    return this.#bad;
  }

  /** The metric each task's verdict uses. */
  get metrics(): Readonly<Record<string, string>> {
    return this.#metrics;
  }

  /** Every entry, in file order (one per item). */
  entries(): readonly IndexEntry[] {
    return this.#entries;
  }

  /** The entry of an item, or undefined. */
  entry(task: string, docId: string): IndexEntry | undefined {
    const at = this.#byKey.get(key(task, docId));
    return at === undefined ? undefined : this.#entries[at];
  }

  /** Items per task and verdict. */
  counts(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const e of this.entries()) {
      const t = (out[e.task] ??= {});
      t[e.outcome] = (t[e.outcome] ?? 0) + 1;
    }
    return out;
  }

  /**
   * The items matching `filter` (all of them, in file order), text included.
   *
   * @example
   * ```ts ignore
   * const wrong = index.select({ task: "synth_qa", outcome: "wrong" });
   * ```
   */
  select(filter: SampleFilter): IndexEntry[] {
    this.refresh();
    const candidates = this.entries().filter((e) => matchesEntry(e, filter));
    if (!filter.q?.trim()) return candidates;
    const cacheKey = JSON.stringify(filter);
    if (this.#textCache?.key === cacheKey) return this.#textCache.matches;
    const matches = this.#withFile((fd) =>
      candidates.filter((e) => matchesText(searchText(this.#parse(fd, e)), filter))
    );
    this.#textCache = { key: cacheKey, matches };
    return matches;
  }

  /**
   * One page of the items matching `filter`: only that page's lines are read from disk.
   *
   * @example
   * ```ts ignore
   * const page = index.query({ q: "paris" }, { offset: 50, limit: 25 });
   * ```
   */
  query(filter: SampleFilter, page: { offset: number; limit: number }): SamplePage {
    const matches = this.select(filter);
    const slice = matches.slice(page.offset, page.offset + page.limit);
    return { total: matches.length, offset: page.offset, items: this.read(slice) };
  }

  /** The samples of some entries, read from disk, with their line numbers and verdicts. */
  read(entries: IndexEntry[]): SamplePage["items"] {
    return this.#withFile((fd) =>
      entries.map((e) => ({ ...this.#parse(fd, e), line: e.line, outcome: e.outcome }))
    );
  }

  #reset(): void {
    this.#entries = [];
    this.#byKey.clear();
    this.#bad = [];
    this.#indexedBytes = 0;
    this.#lines = 0;
    this.#owesNewline = false;
    this.#textCache = null;
  }

  #addLine(bytes: Uint8Array, offset: number): void {
    const line = ++this.#lines;
    const text = DECODER.decode(bytes).trim();
    if (!text) return;
    let row: Partial<Sample>;
    try {
      row = JSON.parse(text);
    } catch (e) {
      this.#bad.push({ line, message: `not valid JSON (${(e as Error).message})` });
      return;
    }
    if (!row || typeof row !== "object" || typeof row.task !== "string" || row.doc_id == null) {
      this.#bad.push({ line, message: 'not a sample (needs "task" and "doc_id")' });
      return;
    }
    const task = row.task;
    const metric = this.#metrics[task] ??
      (this.#metrics[task] = verdictMetric(Object.keys(row.metrics ?? {})) ?? "");
    const entry: IndexEntry = {
      offset,
      length: bytes.length,
      line,
      task,
      docId: String(row.doc_id),
      tokens: typeof row.prompt_tokens === "number" ? row.prompt_tokens : NaN,
      outcome: outcomeOf(row, metric || null),
      predictionHash: fnv1a(String(row.prediction ?? "")),
    };
    const k = key(task, entry.docId);
    const at = this.#byKey.get(k);
    if (at === undefined) {
      this.#byKey.set(k, this.#entries.length);
      this.#entries.push(entry);
    } else {
      this.#entries[at] = entry;
    }
  }

  #withFile<T>(fn: (fd: number) => T): T {
    const fd = openSync(this.path, "r");
    try {
      return fn(fd);
    } finally {
      closeSync(fd);
    }
  }

  #parse(fd: number, e: IndexEntry): Partial<Sample> {
    const bytes = new Uint8Array(e.length);
    readSync(fd, bytes, 0, e.length, e.offset);
    return JSON.parse(DECODER.decode(bytes));
  }
}

const DECODER = new TextDecoder();

/** FNV-1a, 32 bits, of a string's UTF-16 code units. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function isJson(bytes: Uint8Array): boolean {
  try {
    JSON.parse(DECODER.decode(bytes));
    return true;
  } catch {
    return false;
  }
}

function key(task: string, docId: string): string {
  return `${task}\u0000${docId}`;
}
