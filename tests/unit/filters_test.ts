/**
 * Tests of lib/eval/filters/: lm-eval's filter functions on the values Python gives
 * (tests/unit/fixtures/make_filter_vectors.py), pipelines as a task's filter_list builds them,
 * and the errors a broken pipeline gets.
 */
import assert from "node:assert/strict";
import { compileFilter, FilterSpecError, getFilterFunction } from "../../lib/eval/filters/mod.ts";
import vectors from "./fixtures/filter_vectors.json" with { type: "json" };

function step(name: string) {
  const fn = getFilterFunction(name);
  assert.ok(fn, name);
  return fn;
}

Deno.test("regex filter: group_select, several groups, fallback and stripping as lm-eval's RegexFilter", () => {
  const regex = step("regex");
  for (const c of vectors.regex) {
    const run = regex.create({
      regex_pattern: c.regex_pattern,
      group_select: c.group_select,
      fallback: c.fallback,
    });
    if (c.expected === null) {
      // An IndexError in lm-eval: here an error that says what to change.
      assert.throws(() => run([c.response]), /group_select 5 .* matches 2 time\(s\)/);
    } else {
      assert.deepEqual(run([c.response]), [c.expected], JSON.stringify(c));
    }
  }
  // lm-eval's defaults: GSM8K's "#### <number>" and "[invalid]".
  const defaults = compileFilter({ name: "d", steps: [{ function: "regex", options: {} }] });
  assert.equal(defaults.apply(["so\n#### 42"]), "42");
  assert.equal(defaults.apply(["42"]), "[invalid]");
});

Deno.test("remove_whitespace, lowercase, uppercase equal str.lstrip / lower / upper", () => {
  for (const c of vectors.transform) {
    for (const name of ["remove_whitespace", "lowercase", "uppercase"] as const) {
      assert.deepEqual(step(name).create({})([c.text]), [c[name]], `${name} ${JSON.stringify(c)}`);
    }
  }
});

Deno.test("majority_vote keeps the most frequent response, the first seen among ties", () => {
  for (const c of vectors.majority) {
    assert.deepEqual(step("majority_vote").create({})(c.responses), [c.expected]);
  }
});

Deno.test("a pipeline runs its steps in order and leaves one prediction", () => {
  const flexible = compileFilter({
    name: "flexible-extract",
    steps: [
      { function: "remove_whitespace", options: {} },
      {
        function: "regex",
        options: { regex_pattern: "(-?[$0-9.,]{2,})|(-?[0-9]+)", group_select: -1 },
      },
      { function: "take_first", options: {} },
    ],
  });
  assert.equal(flexible.apply(["  3 apples and 12 pears: 15"]), "15");
  // maj@k: k responses, a vote, then the first.
  const maj = compileFilter({
    name: "maj@3",
    steps: [
      { function: "take_first_k", options: { k: 3 } },
      { function: "lowercase", options: {} },
      { function: "majority_vote", options: {} },
      { function: "take_first", options: {} },
    ],
  }, 4);
  assert.equal(maj.apply(["Yes", "no", "YES", "no"]), "yes");
});

Deno.test("a broken pipeline is refused, naming the step and option", () => {
  const cases: [Parameters<typeof compileFilter>, RegExp, number, string | undefined][] = [
    [
      [{ name: "a", steps: [{ function: "regexp", options: {} }] }],
      /did you mean "regex"/,
      0,
      "function",
    ],
    [
      [{ name: "a", steps: [{ function: "custom", options: {} }] }],
      /runs a Python function/,
      0,
      "function",
    ],
    [
      [{ name: "a", steps: [{ function: "regex", options: { regex_patern: "x" } }] }],
      /no option "regex_patern"; its options: regex_pattern, group_select, fallback/,
      0,
      "regex_patern",
    ],
    [
      [{ name: "a", steps: [{ function: "regex", options: { group_select: "last" } }] }],
      /group_select must be an integer/,
      0,
      "group_select",
    ],
    [
      [{ name: "a", steps: [{ function: "regex", options: { regex_pattern: "(a" } }] }],
      /missing \)/,
      0,
      "regex_pattern",
    ],
    [
      [{ name: "a", steps: [{ function: "take_first_k", options: { k: 3 } }] }, 2],
      /needs at least 3 responses per document but gets 2; raise repeats to 3/,
      0,
      undefined,
    ],
    [
      [{ name: "a", steps: [{ function: "lowercase", options: {} }] }, 3],
      /leaves 3 responses per document; .*end it with take_first/,
      0,
      undefined,
    ],
  ];
  for (const [args, message, index, option] of cases) {
    assert.throws(() => compileFilter(...args), (e) => {
      assert.ok(e instanceof FilterSpecError);
      assert.match(e.message, message);
      assert.equal(e.step, index);
      assert.equal(e.option, option);
      return true;
    });
  }
});
