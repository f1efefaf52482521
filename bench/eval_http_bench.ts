/**
 * `deno task bench:eval-http` — multiple-choice scoring throughput over HTTP against in-process:
 * the same items (synth_facts, synth_facts_support, rendered as `deno task eval` renders them)
 * scored through the eval backends — in-process (`createLlamaBackend`, the batched scorer), and
 * `createOpenAIBackend` against one and against two local `deno task serve` processes (echo +
 * logprobs, one request per question; tunebook's servers are asked for the continuation's
 * log-probabilities only, `echo_logprobs_from`) —, with as many questions in flight per server as
 * in-process, on the tiny model (per-request overhead dominates) and the benchmark model
 * (bench/bench_model.ts: compute dominates). Rounds alternate the methods so background load hits
 * each alike; the median round is reported, with the machine's load average before and after.
 * Every method must give the same predictions.
 *
 *   deno task bench:eval-http                     # 3 rounds, both models
 *   deno task bench:eval-http --model tiny --rounds 1 --limit 100
 *
 * Writes results/bench/eval_http.json and results/bench/eval_http.md. Target: one server ≥ 0.8×
 * in-process items/s.
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { median } from "simple-statistics";
import { type Backend, createLlamaBackend } from "../lib/eval/backend.ts";
import { createOpenAIBackend } from "../lib/eval/openai_backend.ts";
import { prepareTask } from "../lib/eval/runner.ts";
import { buildPrompt, findTask } from "../lib/eval/task/mod.ts";
import {
  defineCommand,
  type FlagValues,
  integerFlag,
  listFlag,
  runCommand,
  stringFlag,
} from "../lib/cli/_command.ts";
import { type ServerProcess, spawnTunebookServer } from "../lib/serve/server_process.ts";
import { benchCommandLine, type BenchModel, resolveBenchModels } from "./bench_model.ts";

/** The issue's target: one server's items/s as a fraction of in-process. */
const TARGET_RATIO = 0.8;
const MS_PER_SECOND = 1000;
const METHODS = ["in-process", "1 server", "2 servers"] as const;
type Method = typeof METHODS[number];
/** Items per task by default: the benchmark model scores ~30× slower than the tiny one. */
const DEFAULT_LIMIT: Record<string, number> = { tiny: 400, bench: 100 };
/** Items each method scores before the measured rounds (contexts made, pages mapped, JIT warm). */
const WARMUP_ITEMS = 64;

interface Item {
  task: string;
  id: string;
  prompt: string;
  choices: string[];
}

const flags = {
  tasks: listFlag("multiple-choice tasks", { default: ["synth_facts", "synth_facts_support"] }),
  limit: integerFlag("items per task", {
    min: 1,
    defaultText: "400 on the tiny model, 100 on the benchmark model",
  }),
  rounds: integerFlag("alternating rounds (median reported)", { min: 1, default: 3 }),
  model: listFlag(
    "models: `tiny` (the bundled tiny model), `bench` (the benchmark model, " +
      "bench/bench_model.ts) or GGUF paths",
    { item: "model", default: ["tiny", "bench"] },
  ),
  "score-threads": integerFlag(
    "llama.cpp threads of the scorer in-process and in each server (0: every core; on a " +
      "machine shared with the client, leave it a core)",
    { min: 0, default: 1 },
  ),
  concurrency: integerFlag("requests in flight per server", {
    min: 1,
    defaultText: "the in-process scorer's questions in flight",
  }),
  out: stringFlag("writes DIR/eval_http.json and DIR/eval_http.md", {
    placeholder: "DIR",
    default: "results/bench",
  }),
};

/** `deno task bench:eval-http`. */
export const command = defineCommand({
  name: "bench:eval-http",
  summary: "Multiple-choice items/s through tunebook's server (one and two local processes, " +
    "echo + logprobs) against the in-process batched scorer, same items, alternating rounds, " +
    "on the tiny and the benchmark model.",
  flags,
  exitStatus: "Exit status: 0 done (the methods agree on every prediction); 1 they do not.",
  run: ({ values, given }) => main(values, given),
});

type Values = FlagValues<typeof flags>;

/** One task's row of the table on one model. */
interface Row {
  model: string;
  task: string;
  items: number;
  inProcess: number;
  oneServer: number;
  twoServers: number;
  oneRatio: number;
  twoRatio: number;
}

async function main(values: Values, given: ReadonlySet<string>): Promise<number> {
  const threads = values["score-threads"] || navigator.hardwareConcurrency || 1;
  const loadBefore = loadavg();
  const models = await resolveBenchModels(values.model);
  const table: Row[] = [];
  const runs: {
    model: string;
    method: Method;
    round: number;
    task: string;
    itemsPerSecond: number;
  }[] = [];
  const settings: Record<string, { limit: number; concurrencyPerServer: number }> = {};
  let agree = true;
  for (const model of models) {
    const limit = values.limit ?? DEFAULT_LIMIT[model.label] ?? DEFAULT_LIMIT.bench;
    const m = await measure(model, await itemsOf(values.tasks, limit), threads, values);
    settings[model.label] = { limit, concurrencyPerServer: m.concurrency };
    table.push(...m.table);
    runs.push(...m.runs.map((r) => ({ model: model.label, ...r })));
    agree &&= m.agree;
  }
  const loadAfter = loadavg();
  const result = {
    date: new Date().toISOString(),
    command: benchCommandLine("bench:eval-http", values, given),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, deno: Deno.version.deno },
    loadAverage: { before: loadBefore, after: loadAfter },
    settings: {
      models: Object.fromEntries(models.map((m) => [m.label, m.path])),
      tasks: values.tasks,
      rounds: values.rounds,
      scoreThreads: threads,
      perModel: settings,
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
    `The same items scored through the eval backends: in-process (the batched scorer) and ` +
    `tunebook's server (\`deno task serve\`, echo + logprobs from the continuation on ` +
    `(\`echo_logprobs_from\`), one request per question, as many questions in flight per server ` +
    `as in-process) as one and as two local processes; ${threads} scorer thread(s) in-process ` +
    `and in each server; median of ${values.rounds} alternating round(s) after a warm-up of ` +
    `${WARMUP_ITEMS} items. Models: ${
      models.map((m) => `${m.label} \`${m.path}\``).join(", ")
    }. ${result.machine.cpus} CPUs (${result.machine.cpu}), shared with the client: load average ` +
    `(1/5/15 min) ${load(loadBefore)} before, ${load(loadAfter)} after. ${result.date}. ` +
    `Command: \`${result.command}\`.`,
    ``,
    `| model | task | items | in-process items/s | 1 server items/s | × in-process | 2 servers items/s | × in-process | items/s per round (in-process; 1 server) |`,
    `| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |`,
    ...table.map((t) => {
      const per = (method: Method) =>
        runs.filter((r) => r.model === t.model && r.task === t.task && r.method === method)
          .map((r) => f(r.itemsPerSecond)).join(", ");
      return `| ${t.model} | ${t.task} | ${t.items} | ${f(t.inProcess)} | ${f(t.oneServer)} | **${
        t.oneRatio.toFixed(2)
      }** | ${f(t.twoServers)} | ${t.twoRatio.toFixed(2)} | ${per("in-process")}; ${
        per("1 server")
      } |`;
    }),
    ``,
    `Target: one server ≥ ${TARGET_RATIO}× in-process: ${
      table.every((t) => t.oneRatio >= TARGET_RATIO) ? "met" : "not met"
    } on every row. Every method gave the same prediction for every item: ` +
    `${agree ? "✓" : "✗"}.`,
    ``,
  ].join("\n");
  writeFileSync(join(values.out, "eval_http.md"), md);
  console.log(md);
  return agree ? 0 : 1;
}

/** The tasks' first `limit` items each, rendered as `deno task eval` renders them (zero-shot). */
async function itemsOf(tasks: readonly string[], limit: number): Promise<Item[]> {
  const items: Item[] = [];
  for (const name of tasks) {
    const task = findTask(name);
    const p = await prepareTask(task, { limit });
    for (const doc of p.docs) {
      items.push({
        task: name,
        id: doc.id,
        prompt: buildPrompt(task, doc, []),
        choices: (doc.choices ?? []).map((c) => task.targetDelimiter + c),
      });
    }
  }
  return items;
}

/** Every method on one model: rounds alternating the methods, the per-task table and every round. */
async function measure(
  model: BenchModel,
  items: Item[],
  threads: number,
  values: Values,
): Promise<{
  table: Row[];
  runs: { method: Method; round: number; task: string; itemsPerSecond: number }[];
  agree: boolean;
  concurrency: number;
}> {
  const local = await createLlamaBackend(model.path, { threads, gpu: false });
  const concurrency = values.concurrency ?? local.concurrency;
  const serverFlags = [
    "--model",
    model.path,
    "--name",
    model.label,
    "--threads",
    "1",
    "--score-threads",
    String(threads),
    "--cpu",
    "--log-level",
    "warn",
  ];
  const servers: ServerProcess[] = [];
  const runs: { method: Method; round: number; task: string; itemsPerSecond: number }[] = [];
  const predictions = new Map<Method, string[]>();
  try {
    for (let i = 0; i < 2; i++) servers.push(await spawnTunebookServer(serverFlags));
    const remote = (n: number) =>
      createOpenAIBackend({
        baseUrl: servers.slice(0, n).map((s) => s.url),
        model: model.label,
        apiKey: "",
        concurrency,
      });
    const backends: Record<Method, Backend> = {
      "in-process": local,
      "1 server": remote(1),
      "2 servers": remote(2),
    };
    for (const b of Object.values(backends)) await b.prepare?.({ scoring: true });
    for (const m of METHODS) await scoreAll(backends[m], items.slice(0, WARMUP_ITEMS));
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
        console.error(`${model.label} round ${round + 1}: ${method} done`);
      }
    }
  } finally {
    await local.dispose();
    await Promise.all(servers.map((s) => s.stop()));
  }
  const want = JSON.stringify(predictions.get("in-process"));
  const agree = METHODS.every((m) => JSON.stringify(predictions.get(m)) === want);
  const table = values.tasks.map((task): Row => {
    const rate = (m: Method) =>
      median(runs.filter((r) => r.method === m && r.task === task).map((r) => r.itemsPerSecond));
    const inProcess = rate("in-process");
    return {
      model: model.label,
      task,
      items: items.filter((it) => it.task === task).length,
      inProcess,
      oneServer: rate("1 server"),
      twoServers: rate("2 servers"),
      oneRatio: rate("1 server") / inProcess,
      twoRatio: rate("2 servers") / inProcess,
    };
  });
  return { table, runs, agree, concurrency };
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
