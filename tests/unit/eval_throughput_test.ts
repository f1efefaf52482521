/**
 * lib/eval/throughput.ts on the model-free fake backend: the workload (the first items of each
 * task, every one once per pass, as runEval evaluates them), warm-up passes evaluated but not
 * reported, the timed passes' tokens from the backend's counter, the median inside its range, and
 * the refusals; several backends taking turns pass by pass. No timing is asserted: only what was
 * run and counted.
 */
import assert from "node:assert/strict";
import { measureThroughput, measureThroughputs } from "../../lib/eval/throughput.ts";
import { fakeBackend } from "./_fake_backend.ts";

Deno.test("measureThroughput: warm-up left out, each timed pass the same workload", async () => {
  const backend = fakeBackend({ concurrency: 3 });
  const t = await measureThroughput(backend, ["synth_qa", "synth_facts"], {
    items: 5,
    warmup: 2,
    repeats: 4,
  });
  assert.deepEqual(t.tasks, ["synth_qa", "synth_facts"]);
  assert.equal(t.items, 10);
  assert.equal(t.itemsPerTask, 5);
  assert.equal(t.warmup, 2);
  // 2 warm-up + 4 timed passes over 10 items each; the fake counts one token per item
  assert.equal(backend.answered(), 60);
  assert.deepEqual(t.tokens, [10, 10, 10, 10]);
  assert.equal(t.seconds.length, 4);
  const { median, min, max } = t.tokensPerSecond;
  assert.ok(min <= median && median <= max && min > 0, JSON.stringify(t.tokensPerSecond));
  assert.ok(t.itemsPerSecond > 0);
});

Deno.test("measureThroughput: defaults are 1 warm-up and 3 timed passes over 20 items", async () => {
  const backend = fakeBackend();
  const t = await measureThroughput(backend, ["synth_facts"]);
  assert.equal(t.warmup, 1);
  assert.equal(t.tokens.length, 3);
  assert.equal(backend.answered(), 4 * t.items);
  assert.equal(t.items, 20);
});

Deno.test("measureThroughput: fewer than 3 timed passes or a negative warm-up is refused", async () => {
  const backend = fakeBackend();
  await assert.rejects(
    () => measureThroughput(backend, ["synth_facts"], { repeats: 2 }),
    /repeats is 2; a median and a range need at least 3 timed passes/,
  );
  await assert.rejects(
    () => measureThroughput(backend, ["synth_facts"], { warmup: -1 }),
    /warmup is -1/,
  );
  assert.equal(backend.answered(), 0, "refused before evaluating anything");
  await assert.rejects(
    () => measureThroughput(backend, ["synth_factz"]),
    /synth_factz/,
  );
});

Deno.test("measureThroughputs: backends take turns pass by pass, one result each", async () => {
  const order: string[] = [];
  const logged = (name: string) => {
    const b = fakeBackend();
    return {
      ...b,
      scoreChoices: (context: string, choices: string[]) => {
        if (order.at(-1) !== name) order.push(name);
        return b.scoreChoices!(context, choices);
      },
    };
  };
  const [a, b] = [logged("a"), logged("b")];
  const [ta, tb] = await measureThroughputs([a, b], ["synth_facts"], { items: 4 });
  // 1 warm-up round and 3 timed rounds, each a pass of a then one of b
  assert.deepEqual(order, ["a", "b", "a", "b", "a", "b", "a", "b"]);
  assert.deepEqual([ta.tokens, tb.tokens], [[4, 4, 4], [4, 4, 4]]);
  assert.equal(a.answered() + b.answered(), 2 * 4 * 4);
});
