/**
 * Fast 32-bit hashing and an open-addressing hash table keyed by 64-bit (two 32-bit halves)
 * values, for the curation stages that see every row (exact dedup, MinHash/LSH,
 * decontamination). Private to `lib/data`.
 * @module
 */

/** FNV-1a offset basis. */
export const FNV_OFFSET = 0x811c9dc5;
/** FNV-1a prime. */
export const FNV_PRIME = 0x01000193;
/** Seed of the second, independent hash of a string. */
const SECOND_SEED = 0x9e3779b9;

/** murmur3's 32-bit finalizer: a bijection that spreads every input bit over the output. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over the UTF-16 code units of `text`, finalised with {@linkcode fmix32}. */
export function hash32(text: string, seed = 0): number {
  let h = (FNV_OFFSET ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return fmix32(h ^ text.length);
}

/** Two independent 32-bit hashes of `text` (together ~64 bits, for keys of a {@linkcode PairTable}). */
export function hashPair(text: string): [number, number] {
  return [hash32(text), hash32(text, SECOND_SEED)];
}

/** Empty-slot marker in {@linkcode PairTable}'s value array. */
const EMPTY = -1;
/** Initial number of slots (a power of two). */
const INITIAL_SLOTS = 1 << 10;
/** Grow when more than this fraction of the slots is used. */
const MAX_LOAD = 0.5;

/**
 * A hash table from a 64-bit key, given as two 32-bit halves, to a non-negative int32 value.
 * Linear probing over typed arrays: no per-entry objects, so tens of millions of entries stay
 * compact and fast.
 */
export class PairTable {
  #hi: Uint32Array;
  #lo: Uint32Array;
  #val: Int32Array;
  #mask: number;
  /** Entries stored. */
  size = 0;

  /** Create a table sized for about `expected` entries. */
  constructor(expected = 0) {
    let slots = INITIAL_SLOTS;
    while (slots * MAX_LOAD < expected) slots *= 2;
    this.#hi = new Uint32Array(slots);
    this.#lo = new Uint32Array(slots);
    this.#val = new Int32Array(slots).fill(EMPTY);
    this.#mask = slots - 1;
  }

  /** The value stored for key (hi, lo), or -1. */
  get(hi: number, lo: number): number {
    const mask = this.#mask, his = this.#hi, los = this.#lo, vals = this.#val;
    hi >>>= 0;
    lo >>>= 0;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
    for (;;) {
      const v = vals[i];
      if (v === EMPTY) return EMPTY;
      if (his[i] === hi && los[i] === lo) return v;
      i = (i + 1) & mask;
    }
  }

  /** Store `value` (≥ 0) for key (hi, lo); returns the previous value or -1. */
  set(hi: number, lo: number, value: number): number {
    if ((this.size + 1) > (this.#mask + 1) * MAX_LOAD) this.#grow();
    const mask = this.#mask, his = this.#hi, los = this.#lo, vals = this.#val;
    hi >>>= 0;
    lo >>>= 0;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
    for (;;) {
      const v = vals[i];
      if (v === EMPTY) {
        his[i] = hi;
        los[i] = lo;
        vals[i] = value;
        this.size++;
        return EMPTY;
      }
      if (his[i] === hi && los[i] === lo) {
        vals[i] = value;
        return v;
      }
      i = (i + 1) & mask;
    }
  }

  /** Bytes held by the table's arrays. */
  get bytes(): number {
    return this.#hi.byteLength + this.#lo.byteLength + this.#val.byteLength;
  }

  #grow(): void {
    const his = this.#hi, los = this.#lo, vals = this.#val;
    const slots = (this.#mask + 1) * 2;
    this.#hi = new Uint32Array(slots);
    this.#lo = new Uint32Array(slots);
    this.#val = new Int32Array(slots).fill(EMPTY);
    this.#mask = slots - 1;
    this.size = 0;
    for (let i = 0; i < vals.length; i++) if (vals[i] !== EMPTY) this.set(his[i], los[i], vals[i]);
  }
}

/** A growable Int32Array (for linked lists of row indices hanging off a {@linkcode PairTable}). */
export class IntList {
  #data: Int32Array;
  /** Elements stored. */
  length = 0;

  /** Create a list with room for `capacity` elements. */
  constructor(capacity = INITIAL_SLOTS) {
    this.#data = new Int32Array(Math.max(1, capacity));
  }

  /** Append `value`; returns its position. */
  push(value: number): number {
    if (this.length === this.#data.length) {
      const bigger = new Int32Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.length] = value;
    return this.length++;
  }

  /** The element at `i`. */
  at(i: number): number {
    return this.#data[i];
  }

  /** Bytes held. */
  get bytes(): number {
    return this.#data.byteLength;
  }
}
