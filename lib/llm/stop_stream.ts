/**
 * Stop sequences over streamed text: emit text as soon as it can no longer be the start of a
 * stop sequence, and cut before the first stop sequence that appears, even when it spans
 * several tokens.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StopSequenceStream } from "./stop_stream.ts";
 * const s = new StopSequenceStream(["\n\n"]);
 * assert.deepEqual(s.push("12\n"), { text: "12", stopped: false }); // "\n" may start "\n\n"
 * assert.deepEqual(s.push("\nmore"), { text: "", stopped: true });
 * ```
 * @module
 */

/** What {@linkcode StopSequenceStream.push} returns. */
export interface StopStreamStep {
  /** Text that is safe to send now. */
  text: string;
  /** True once a stop sequence appeared; `text` then ends just before it. */
  stopped: boolean;
}

/**
 * Cuts streamed text at the first of several stop sequences (OpenAI's `stop`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StopSequenceStream } from "./stop_stream.ts";
 * const s = new StopSequenceStream(["###"]);
 * const parts = [s.push("4 #"), s.push("#"), s.push("# next")];
 * assert.equal(parts.map((p) => p.text).join(""), "4 ");
 * assert.equal(parts[2].stopped, true);
 * ```
 */
export class StopSequenceStream {
  readonly #stops: string[];
  #held = "";
  #stopped = false;

  /** `stops`: the stop sequences; empty strings are ignored. */
  constructor(stops: readonly string[]) {
    this.#stops = stops.filter((s) => s.length > 0);
  }

  /** Whether a stop sequence has been seen. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Add newly generated text; returns what can be sent now. */
  push(text: string): StopStreamStep {
    if (this.#stopped) return { text: "", stopped: true };
    const buffer = this.#held + text;
    const cut = firstStop(buffer, this.#stops);
    if (cut >= 0) {
      this.#held = "";
      this.#stopped = true;
      return { text: buffer.slice(0, cut), stopped: true };
    }
    const keep = stopPrefixLength(buffer, this.#stops);
    this.#held = buffer.slice(buffer.length - keep);
    return { text: buffer.slice(0, buffer.length - keep), stopped: false };
  }

  /** The text still held back, for when generation ends without a stop sequence. */
  flush(): string {
    const rest = this.#stopped ? "" : this.#held;
    this.#held = "";
    return rest;
  }
}

/** Index of the earliest stop sequence in `text`, or -1. */
export function firstStop(text: string, stops: readonly string[]): number {
  let cut = -1;
  for (const s of stops) {
    if (!s) continue;
    const i = text.indexOf(s);
    if (i >= 0 && (cut < 0 || i < cut)) cut = i;
  }
  return cut;
}

/** Length of the longest suffix of `text` that is a proper prefix of a stop sequence. */
function stopPrefixLength(text: string, stops: readonly string[]): number {
  let best = 0;
  for (const s of stops) {
    for (let n = Math.min(s.length - 1, text.length); n > best; n--) {
      if (text.endsWith(s.slice(0, n))) {
        best = n;
        break;
      }
    }
  }
  return best;
}
