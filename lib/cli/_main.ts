/**
 * Private: what every `lib/cli/` entry point shares — its exit statuses and how it runs.
 * @module
 */

/** Exit status for bad arguments or input (the message says what and where). */
export const USAGE_ERROR = 2;
/** Exit status for any other failure. */
export const FAILURE = 1;

/**
 * Run a command's `main`, exit with its status; an error it throws is printed as one
 * `error: …` line and exits {@linkcode USAGE_ERROR} when it is an instance of one of
 * `usageErrors`, else {@linkcode FAILURE}.
 */
export async function runMain(
  main: () => number | Promise<number>,
  usageErrors: (abstract new (...args: never[]) => Error)[] = [],
): Promise<never> {
  try {
    Deno.exit(await main());
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    Deno.exit(usageErrors.some((c) => e instanceof c) ? USAGE_ERROR : FAILURE);
  }
}
