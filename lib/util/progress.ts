/**
 * A one-line progress bar on stderr (items/s and ETA). On a terminal it redraws in place;
 * elsewhere (CI logs, notebooks) it prints a line every 10%.
 * @module
 */

const BAR_WIDTH = 24;
const LOG_EVERY = 0.1;

/** A progress bar for `total` items. */
export class Progress {
  #done: number;
  #start = performance.now();
  #startDone: number;
  #lastLogged = -1;
  #tty = Deno.stderr.isTerminal();

  /**
   * @example
   * ```ts
   * import { Progress } from "./progress.ts";
   * const p = new Progress("demo", 2);
   * p.tick();
   * p.tick();
   * p.finish();
   * ```
   */
  constructor(readonly label: string, readonly total: number, done = 0) {
    this.#done = done;
    this.#startDone = done;
  }

  /** The line as it would be printed. */
  line(): string {
    const frac = this.total ? this.#done / this.total : 1;
    const filled = Math.round(frac * BAR_WIDTH);
    const secs = (performance.now() - this.#start) / 1000;
    const rate = secs > 0 ? (this.#done - this.#startDone) / secs : 0;
    const eta = rate > 0 ? (this.total - this.#done) / rate : 0;
    return `${this.label} [${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}] ` +
      `${this.#done}/${this.total} ${rate.toFixed(1)} it/s ETA ${eta.toFixed(0)}s`;
  }

  /** One more item done. */
  tick(n = 1): void {
    this.#done += n;
    if (this.#tty) {
      Deno.stderr.writeSync(new TextEncoder().encode(`\r${this.line()}`));
    } else {
      const step = Math.floor((this.#done / Math.max(1, this.total)) / LOG_EVERY);
      if (step !== this.#lastLogged) {
        this.#lastLogged = step;
        console.error(this.line());
      }
    }
  }

  /** End the line. */
  finish(): void {
    if (this.#tty) Deno.stderr.writeSync(new TextEncoder().encode(`\r${this.line()}\n`));
  }
}
