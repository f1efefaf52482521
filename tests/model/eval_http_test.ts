/**
 * `deno task eval --endpoint` against real tunebook servers on the tiny model (three server
 * processes, started once for the whole file): multiple_choice (the three synthetic tasks),
 * loglikelihood and loglikelihood_rolling through one server give the in-process engine's results
 * — metrics and every sample's scores —, with and without a LoRA adapter; three servers give the
 * exact results of one (results.json metrics, samples, run identity), also when one of them fails
 * every scoring request and the others take its share.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLlamaBackend } from "../../lib/eval/backend.ts";
import { createOpenAIBackend, type OpenAIBackendUsage } from "../../lib/eval/openai_backend.ts";
import { readRunIdentity } from "../../lib/eval/run_identity.ts";
import { type EvalResults, runEval, type Sample } from "../../lib/eval/runner.ts";
import { type ServerProcess, spawnTunebookServer } from "../../lib/serve/server_process.ts";
import { writeRandomLora } from "./_serve_lora.ts";
import { TEST_THREADS, TINY_GGUF } from "./_tiny.ts";

const ITEMS = 40;
const dir = mkdtempSync(join(tmpdir(), "tunebook-eval-http-"));
const lora = join(dir, "lora.gguf");
await writeRandomLora(lora, { std: 0.1 });

const servers: ServerProcess[] = await Promise.all(
  [0, 1, 2].map(() =>
    spawnTunebookServer([
      "--threads",
      String(TEST_THREADS),
      "--score-threads",
      String(TEST_THREADS),
      "--cpu",
      "--log-level",
      "warn",
      "--adapter",
      `lora=${lora}`,
    ])
  ),
);
Deno.test.afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

/** A loglikelihood task and a rolling one (a page longer than the 511-token window) on local data. */
function tasks(): string[] {
  const facts = readFileSync("data/synthetic/facts/test.jsonl", "utf8").trim().split("\n")
    .map((l) => JSON.parse(l) as Record<string, string>);
  const t = join(dir, "tasks");
  mkdirSync(join(t, "data"), { recursive: true });
  writeFileSync(
    join(t, "data", "test.jsonl"),
    facts.slice(0, 12).map((f, i) =>
      JSON.stringify({
        id: `d${i}`,
        question: f.question,
        answer: f.correct_answer,
        page: i === 0 ? facts.slice(0, 150).map((x) => x.support).join(" ") : f.support,
      })
    ).join("\n") + "\n",
  );
  const base = ["dataset_path: data", "test_split: test"];
  writeFileSync(
    join(t, "ll.yaml"),
    [
      "task: http_ll",
      ...base,
      "output_type: loglikelihood",
      'doc_to_text: "Question: {{question}}\\nAnswer:"',
      'doc_to_target: " {{answer}}"',
    ].join("\n") + "\n",
  );
  writeFileSync(
    join(t, "rolling.yaml"),
    [
      "task: http_rolling",
      ...base,
      "output_type: loglikelihood_rolling",
      'doc_to_text: ""',
      'doc_to_target: "{{page}}"',
    ].join("\n") + "\n",
  );
  return [
    "synth_facts",
    "synth_facts_support",
    "synth_entailment",
    join(t, "ll.yaml"),
    join(t, "rolling.yaml"),
  ];
}
const TASKS = tasks();

function samples(out: string): Map<string, Sample> {
  const lines = readFileSync(join(out, "samples.jsonl"), "utf8").trim().split("\n");
  return new Map(lines.map((l) => {
    const s = JSON.parse(l) as Sample;
    return [`${s.task}/${s.doc_id}`, s];
  }));
}

/** What scoring decides in a sample (prompt_tokens is an estimate over HTTP: left out). */
function scored(s: Sample): unknown {
  const { prompt_tokens: _t, ...rest } = s;
  return rest;
}

function metrics(r: EvalResults): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(r.tasks).map(([name, t]) => [name, { n: t.n, metrics: t.metrics }]),
  );
}

async function overHttp(
  endpoints: string[],
  model: string,
): Promise<{ results: EvalResults; out: string; usage: OpenAIBackendUsage }> {
  const backend = createOpenAIBackend({ baseUrl: endpoints, model, apiKey: "", concurrency: 8 });
  const out = mkdtempSync(join(dir, "run-"));
  const results = await runEval(backend, {
    tasks: TASKS,
    limit: ITEMS,
    outDir: out,
    progress: false,
  });
  return { results, out, usage: backend.usage() };
}

const one = new Map<string, Awaited<ReturnType<typeof overHttp>>>();

for (const model of ["tiny", "tiny+lora"]) {
  Deno.test(`log-likelihood tasks through one server equal in-process (${model})`, async () => {
    const backend = await createLlamaBackend(TINY_GGUF, {
      threads: TEST_THREADS,
      gpu: false,
      lora: model === "tiny" ? [] : [{ path: lora, scale: 1 }],
      // the server applies its adapter at runtime; eval's default merge rounds W + B·A once
      loraMode: "runtime",
    });
    const out = mkdtempSync(join(dir, "local-"));
    let local: EvalResults;
    try {
      local = await runEval(backend, { tasks: TASKS, limit: ITEMS, outDir: out, progress: false });
    } finally {
      await backend.dispose();
    }
    const http = await overHttp([servers[0].url], model);
    one.set(model, http);
    assert.deepEqual(metrics(http.results), metrics(local));
    const want = samples(out);
    const got = samples(http.out);
    assert.equal(got.size, want.size);
    for (const [key, s] of want) {
      const g = got.get(key)!;
      assert.deepEqual(
        { logprobs: g.logprobs, is_greedy: g.is_greedy, prediction: g.prediction },
        { logprobs: s.logprobs, is_greedy: s.is_greedy, prediction: s.prediction },
        key,
      );
      assert.deepEqual(g.metrics, s.metrics, key);
      if (s.loglikelihood !== undefined) {
        assert.ok(Math.abs(g.loglikelihood! - s.loglikelihood) < 1e-9, key);
        assert.equal(g.tokens, s.tokens, key);
        assert.equal(g.windows, s.windows, key);
      }
    }
    const page = got.get("http_rolling/d0")!;
    assert.ok(page.windows! > 1, `the long page took ${page.windows} windows`);
  });
}

Deno.test("three servers give the results of one: metrics, samples and run identity", async () => {
  const single = one.get("tiny")!;
  const fleet = await overHttp(servers.map((s) => s.url), "tiny");
  assert.deepEqual(metrics(fleet.results), metrics(single.results));
  const a = samples(single.out), b = samples(fleet.out);
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
  for (const [key, s] of a) assert.deepEqual(scored(b.get(key)!), scored(s), key);
  // The identity names what is served, not where: one run, whatever the endpoints.
  const idA = readRunIdentity(single.out), idB = readRunIdentity(fleet.out);
  assert.ok(idA.state === "ok" && idB.state === "ok");
  assert.deepEqual(idB.identity, idA.identity);
  assert.deepEqual(fleet.results.model.endpoints, servers.map((s) => s.url));
  const stats = fleet.usage.endpoints!;
  assert.equal(stats.length, 3);
  assert.ok(stats.every((e) => e.requests > 0), JSON.stringify(stats));
});

Deno.test("an endpoint that fails every scoring request: the others take its share, same results", async () => {
  // A proxy that lists the real server's models (so it looks like one of the fleet) and answers
  // 503 to everything else.
  const proxy = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (req.method === "GET" && path === "/v1/models") return await fetch(servers[0].url + path);
    await req.body?.cancel();
    return Response.json({ error: { message: "overloaded" } }, { status: 503 });
  });
  try {
    const broken = `http://127.0.0.1:${proxy.addr.port}`;
    const fleet = await overHttp([broken, servers[1].url, servers[2].url], "tiny");
    const single = one.get("tiny")!;
    assert.deepEqual(metrics(fleet.results), metrics(single.results));
    const a = samples(single.out), b = samples(fleet.out);
    for (const [key, s] of a) assert.deepEqual(scored(b.get(key)!), scored(s), key);
    const stats = fleet.usage.endpoints!;
    assert.equal(stats[0].requests, 0);
    assert.ok(stats[0].failures > 0);
    assert.equal(fleet.usage.retries, stats[0].failures);
  } finally {
    await proxy.shutdown();
  }
});

Deno.test("deno task eval --endpoint A,B --endpoint C: the default suite, results recording the endpoints", async () => {
  const run = `test-evalhttp-${crypto.randomUUID().slice(0, 8)}`;
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "lib/cli/eval.ts",
        "--endpoint",
        `${servers[0].url},${servers[1].url}`,
        "--endpoint",
        servers[2].url,
        "--api-model",
        "tiny",
        "--limit",
        "5",
        "--run",
        run,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.doesNotMatch(stderr, /leaving out/, "every task of the default suite runs");
    const results = JSON.parse(readFileSync(join("results/eval", run, "results.json"), "utf8"));
    assert.deepEqual(results.model.endpoints, servers.map((s) => s.url));
    assert.deepEqual(
      Object.keys(results.tasks).sort(),
      ["synth_arithmetic", "synth_entailment", "synth_facts", "synth_qa"],
    );
    assert.equal(results.tasks.synth_facts.n, 5);
  } finally {
    Deno.removeSync(join("results/eval", run), { recursive: true });
  }
});
