/** A `deno run … lib/cli/serve.ts` child process for tests: started, waited for, stopped. */
import assert from "node:assert/strict";
import { freePort } from "../../lib/serve/server_process.ts";

const START_TIMEOUT_MS = 90_000;
const POLL_MS = 100;

/** A running server process. */
export interface ServeChild {
  /** `http://127.0.0.1:<port>`. */
  base: string;
  /** SIGTERM, then its exit code and everything it wrote to stderr. */
  stop(): Promise<{ code: number; log: string }>;
}

/**
 * Start `deno <args> --port <free port>` and wait until `/health` answers (failing with the
 * server's stderr after 90 s).
 */
export async function startServeChild(
  args: string[],
  env: Record<string, string> = {},
): Promise<ServeChild> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [...args, "--port", String(port)],
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  const reading = (async () => {
    while (true) {
      const { done, value } = await stderr.read();
      if (done) break;
      log += value;
    }
  })();
  const stop = async () => {
    child.kill("SIGTERM");
    const status = await child.status;
    await reading;
    await child.stdout.cancel();
    return { code: status.code, log };
  };
  const base = `http://127.0.0.1:${port}`;
  const start = performance.now();
  while (true) {
    const ok = await fetch(`${base}/health`).then(async (r) => {
      await r.body?.cancel();
      return r.ok;
    }, () => false);
    if (ok) break;
    if (performance.now() - start >= START_TIMEOUT_MS) {
      const { log } = await stop();
      assert.fail(`server did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return { base, stop };
}
