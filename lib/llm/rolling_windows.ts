/**
 * lm-evaluation-harness's rolling windows (`lm_eval/utils.py`: `get_rolling_token_windows` and
 * `make_disjoint_window`), which its `loglikelihood_rolling` requests score a whole document
 * with: every token of the document is predicted exactly once, each window fits the model's
 * context, and every window after the first conditions on at least `contextLength` tokens that
 * come before it.
 *
 * With tokens `0 … 8`, prefix token `P`, `maxLength` 3 and `contextLength` 2 (lm-eval's own
 * example), the windows are:
 *
 * ```
 *             0 1 2 3 4 5 6 7 8
 * window 1: P 0 1                  <- input
 *             0 1 2                <- predicted
 * window 2:     1 2 3
 *                   3 4
 * window 3:         3 4 5
 *                       5 6
 * window 4:             5 6 7
 *                           7 8
 * ```
 *
 * lm-eval's models score documents with `contextLength` 1 and `maxLength` = the model's window:
 * the first window predicts the first `maxLength` tokens after the prefix token (BOS, else EOS),
 * each later window predicts the next `maxLength` tokens after the one token before them.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { disjointWindow, rollingWindows } from "./rolling_windows.ts";
 * const windows = rollingWindows([0, 1, 2, 3, 4], 9, 3, 1).map(disjointWindow);
 * deepStrictEqual(windows, [
 *   { context: [9], predicted: [0, 1, 2] },
 *   { context: [1, 2], predicted: [3, 4] }, // a short last window reads more of what precedes
 * ]);
 * ```
 * @module
 */

/** One window: the tokens the model reads, and the tokens whose log-probabilities it scores. */
export interface RollingWindow {
  /**
   * Input tokens. From {@linkcode rollingWindows}: the whole window the model reads, the last
   * `predicted.length` positions of which are scored. From {@linkcode disjointWindow}: only the
   * tokens before the first predicted one.
   */
  context: number[];
  /** The tokens this window predicts (each token of the document is in exactly one window). */
  predicted: number[];
}

/**
 * `get_rolling_token_windows(tokens, prefixToken, maxLength, contextLength)`: the windows that
 * predict every token once. Throws a `RangeError` unless 1 ≤ `contextLength` ≤ `maxLength`.
 * No tokens give no windows.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { rollingWindows } from "./rolling_windows.ts";
 * deepStrictEqual(rollingWindows([0, 1, 2, 3, 4, 5, 6, 7, 8], -1, 3, 2)[1], {
 *   context: [1, 2, 3],
 *   predicted: [3, 4],
 * });
 * ```
 */
export function rollingWindows(
  tokens: readonly number[],
  prefixToken: number,
  maxLength: number,
  contextLength: number,
): RollingWindow[] {
  if (!(contextLength >= 1 && contextLength <= maxLength)) {
    throw new RangeError(
      `rolling windows need 1 <= contextLength <= maxLength, got contextLength ${contextLength} ` +
        `and maxLength ${maxLength}`,
    );
  }
  if (tokens.length === 0) return [];
  const predLength = maxLength - contextLength + 1;
  const first = Math.min(maxLength, tokens.length);
  const out: RollingWindow[] = [{
    context: [prefixToken, ...tokens.slice(0, first - 1)],
    predicted: tokens.slice(0, first),
  }];
  let predicted = first;
  while (predicted < tokens.length) {
    const windowPred = Math.min(tokens.length - predicted, predLength);
    const end = predicted + windowPred;
    out.push({
      context: tokens.slice(Math.max(0, end - maxLength - 1), end - 1),
      predicted: tokens.slice(end - windowPred, end),
    });
    predicted += windowPred;
  }
  return out;
}

/**
 * `make_disjoint_window`: a window's input cut to the tokens before its first predicted one, so
 * that `context + predicted` is the sequence the model reads (and the last predicted token is
 * only scored, never read).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { disjointWindow } from "./rolling_windows.ts";
 * // Window 2 of the example above: the model reads 1 2 3 and scores 3 and 4.
 * deepStrictEqual(disjointWindow({ context: [1, 2, 3], predicted: [3, 4] }), {
 *   context: [1, 2],
 *   predicted: [3, 4],
 * });
 * ```
 */
export function disjointWindow(window: RollingWindow): RollingWindow {
  const { context, predicted } = window;
  return { context: context.slice(0, context.length - predicted.length + 1), predicted };
}
