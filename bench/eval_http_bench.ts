/**
 * `deno task bench:eval-http` — multiple-choice scoring throughput over HTTP against in-process:
 * the same items (synth_facts, synth_facts_support, rendered as `deno task eval` renders them)
 * scored through the eval backends — in-process (`createLlamaBackend`, the batched scorer), and
 * `createOpenAIBackend` against one and against two local `deno task serve` processes (echo +
 * logprobs, one request per question) —, each for all items with the backend's own concurrency.
 * Rounds alternate the methods so background load hits each alike; the median round is
 * reported, with the machine's load average before and after (other work shares these cores).
 * Every method must give the same predictions.
 *
 *   deno task bench:eval-http                     # 3 rounds, at most 400 items per task
 *   deno task bench:eval-http --rounds 1 --limit 100 --score-threads 1
 *
 * Writes results/bench/eval_http.json and results/bench/eval_http.md. Target: one server ≥ 0.8×
 * in-process items/s.
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, getPriority, loadavg } from "node:os";
import { join } from "node:path";
import { median } from "simple-statistics";
import { type Backend, createLlamaBackend } from "../lib/eval/backend.ts";
import { createOpenAIBackend } from "../lib/eval/openai_backend.ts";
import { prepareTask } from "../lib/eval/runner.ts";
import { buildPrompt, findTask } from "../lib/eval/task/mod.ts";
import { DEFAULT_MODEL } from "../lib/llm/model.ts";
import {
  defineCommand,
  type FlagValues,
  integerFlag,
  listFlag,
  runCommand,
  stringFlag,
} from "../lib/cli/_command.ts";
import { type ServerProcess, spawnTunebookServer } from "../lib/serve/server_process.ts";

/** The target: one server's items/s as a fraction of in-process. */
const TARGET_RATIO = 0.8;
const MS_PER_SECOND = 1000;
const METHODS = ["in-process", "1 server", "2 servers"] as const;
type Method = typeof METHODS[number];

interface Item {
  task: string;
  id: string;
  prompt: string;
  choices: string[];
}

const flags = {
  tasks: listFlag("multiple-choice tasks", { default: ["synth_facts", "synth_facts_support"] }),
  limit: integerFlag("items per task", { min: 1, default: 400 }),
  rounds: integerFlag("alternating rounds (median reported)", { min: 1, default: 3 }),
  model: stringFlag("GGUF model", { placeholder: "FILE.gguf", default: DEFAULT_MODEL }),
  "score-threads": integerFlag(
    "llama.cpp threads of the scorer in-process and in each server (0: every core)",
    { min: 0, default: 0 },
  ),
  concurrency: integerFlag("requests in flight per server", { min: 1, default: 32 }),
  out: stringFlag("writes DIR/eval_http.json and DIR/eval_http.md", {
    placeholder: "DIR",
    default: "results/bench",
  }),
};

/** `deno task bench:eval-http`. */
export const command = defineCommand({
  name: "bench:eval-http",
  summary: "Multiple-choice items/s through tunebook's server (one and two local processes, " +
    "echo + logprobs) against the in-process batched scorer, same items, alternating rounds.",
  flags,
  exitStatus: "Exit status: 0 done (the methods agree on every prediction); 1 they do not.",
  run: ({ values, given }) => main(values, given),
});

async function main(
  values: FlagValues<typeof flags>,
  given: ReadonlySet<string>,
): Promise<number> {
  const threads = values["score-threads"] || navigator.hardwareConcurrency || 1;
  const items: Item[] = [];
  for (const name of values.tasks) {
    const task = findTask(name);
    const p = await prepareTask(task, { limit: values.limit });
    for (const doc of p.docs) {
      items.push({
        task: name,
        id: doc.id,
        prompt: buildPrompt(task, doc, []),
        choices: (doc.choices ?? []).map((c) => task.targetDelimiter + c),
      });
    }
  }
  const loadBefore = loadavg();
  const serverFlags = [
    "--model",
    values.model,
    "--name",
    "tiny",
    "--threads",
    "1",
    "--score-threads",
    String(threads),
    "--cpu",
    "--log-level",
    "warn",
  ];
  const servers: ServerProcess[] = [];
  for (let i = 0; i < 2; i++) servers.push(await spawnTunebookServer(serverFlags));
  const local = await createLlamaBackend(values.model, { threads, gpu: false });
  const remote = (n: number) =>
    createOpenAIBackend({
      baseUrl: servers.slice(0, n).map((s) => s.url),
      model: "tiny",
      apiKey: "",
      concurrency: values.concurrency,
    });
  const backends: Record<Method, Backend> = {
    "in-process": local,
    "1 server": remote(1),
    "2 servers": remote(2),
  };
  const runs: { method: Method; round: number; task: string; itemsPerSecond: number }[] = [];
  const predictions = new Map<Method, string[]>();
  try {
    for (const b of Object.values(backends)) await b.prepare?.({ scoring: true });
    // Warm-up: one pass each (contexts created, pages mapped, JIT warm).
    for (const m of METHODS) await scoreAll(backends[m], items.slice(0, 64));
    for (let round = 0; round < values.rounds; round++) {
      const order = METHODS.map((_, i) => METHODS[(i + round) % METHODS.length]);
      for (const method of order) {
        for (const task of values.tasks) {
          const part = items.filter((it) => it.task === task);
          const t0 = performance.now();
          const preds = await scoreAll(backends[method], part);
          const seconds = (performance.now() - t0) / MS_PER_SECOND;
          runs.push({ method, round, task, itemsPerSecond: part.length / seconds });
          predictions.set(method, [...(predictions.get(method) ?? []), ...preds]);
        }
        console.error(`round ${round + 1}: ${method} done`);
      }
    }
  } finally {
    await local.dispose();
    await Promise.all(servers.map((s) => s.stop()));
  }
  const loadAfter = loadavg();
  const want = predictions.get("in-process")!;
  const agree = METHODS.every((m) => JSON.stringify(predictions.get(m)) === JSON.stringify(want));
  const table = values.tasks.map((task) => {
    const rate = (m: Method) =>
      median(runs.filter((r) => r.method === m && r.task === task).map((r) => r.itemsPerSecond));
    const inProcess = rate("in-process");
    return {
      task,
      items: items.filter((it) => it.task === task).length,
      inProcess,
      oneServer: rate("1 server"),
      twoServers: rate("2 servers"),
      oneRatio: rate("1 server") / inProcess,
      twoRatio: rate("2 servers") / inProcess,
    };
  });
  const result = {
    date: new Date().toISOString(),
    command: [
      ...(getPriority() > 0 ? [`nice -n ${getPriority()}`] : []),
      "deno task bench:eval-http",
      ...[...given].map((name) => {
        const v = values[name as keyof typeof values];
        return `--${name} ${Array.isArray(v) ? v.join(",") : v}`;
      }),
    ].join(" "),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, deno: Deno.version.deno },
    loadAverage: { before: loadBefore, after: loadAfter },
    settings: {
      model: values.model,
      tasks: values.tasks,
      limit: values.limit,
      rounds: values.rounds,
      scoreThreads: threads,
      concurrencyPerServer: values.concurrency,
      inProcessConcurrency: local.concurrency,
    },
    targetRatio: TARGET_RATIO,
    predictionsAgree: agree,
    table,
    runs,
  };
  mkdirSync(values.out, { recursive: true });
  writeFileSync(join(values.out, "eval_http.json"), JSON.stringify(result, null, 2) + "\n");
  const f = (x: number) => x.toFixed(1);
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(" / ");
  const md = [
    `# Multiple-choice scoring over HTTP vs in-process`,
    ``,
    `The same items scored through the eval backends: in-process (the batched scorer, ` +
    `${local.concurrency} questions in flight) and tunebook's server (\`deno task serve\`, echo + ` +
    `logprobs, one request per question, ${values.concurrency} in flight per server) as one and ` +
    `as two local processes; ${threads} scorer thread(s) in-process and in each server; model ` +
    `\`${values.model}\`; median of ${values.rounds} alternating round(s) after a warm-up. ` +
    `${result.machine.cpus} CPUs (${result.machine.cpu}), shared with the client and with other ` +
    `work: load average (1/5/15 min) ${load(loadBefore)} before, ${load(loadAfter)} after. ` +
    `${result.date}. Command: \`${result.command}\`.`,
    ``,
    `| task | items | in-process items/s | 1 server items/s | × in-process | 2 servers items/s | × in-process |`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ---: |`,
    ...table.map((t) =>
      `| ${t.task} | ${t.items} | ${f(t.inProcess)} | ${f(t.oneServer)} | **${
        t.oneRatio.toFixed(2)
      }** | ${f(t.twoServers)} | ${t.twoRatio.toFixed(2)} |`
    ),
    ``,
    `Target: one server ≥ ${TARGET_RATIO}× in-process. Every method gave the same prediction for ` +
    `every item: ${agree ? "✓" : "✗"}.`,
    ``,
  ].join("\n");
  writeFileSync(join(values.out, "eval_http.md"), md);
  console.log(md);
  return agree ? 0 : 1;
}

/** Score every item through `backend` with its concurrency; the predicted choice of each. */
async function scoreAll(backend: Backend, items: Item[]): Promise<string[]> {
  const out: string[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      const s = await backend.scoreChoices!(items[i].prompt, items[i].choices);
      let best = 0;
      s.logprobs.forEach((l, k) => {
        if (l > s.logprobs[best]) best = k;
      });
      out[i] = `${items[i].task}/${items[i].id}:${best}`;
    }
  };
  await Promise.all(Array.from({ length: Math.min(backend.concurrency, items.length) }, worker));
  return out;
}

if (import.meta.main) await runCommand(command);
