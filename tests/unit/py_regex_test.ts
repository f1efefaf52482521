/**
 * Tests of lib/util/py_regex.ts: Python `re` patterns (as lm-eval task files write them) match
 * in JavaScript as they do in Python. Expected values are Python's own `re.findall` / `re.sub`
 * (tests/unit/fixtures/make_filter_vectors.py computes them).
 */
import assert from "node:assert/strict";
import { compilePyRegex, pyFindall, PyRegexError, pySub } from "../../lib/util/py_regex.ts";
import vectors from "./fixtures/filter_vectors.json" with { type: "json" };

Deno.test("py_regex: findall and sub equal Python's re on every case", () => {
  assert.ok(vectors.py_regex.length >= 30);
  for (const c of vectors.py_regex) {
    const re = compilePyRegex(c.pattern);
    assert.deepEqual(pyFindall(re, c.text), c.findall, `findall ${JSON.stringify(c)}`);
    assert.equal(pySub(re, c.text), c.sub, `sub ${JSON.stringify(c)}`);
  }
});

Deno.test("py_regex: where plain JavaScript RegExp differs from Python, the translation does not", () => {
  // Each of these means something else (or is a syntax error) as a JavaScript pattern.
  const differs = [
    ["#### (\\-?[0-9\\.\\,]+)", "#### 1,5"], // \, is an error in Unicode mode
    ["^(\\d+)$", "42\n"], // Python's $ matches before a final newline
    ["\\d", "\u0663"], // Unicode digits
    ["a.b", "a\rb"], // . matches \r in Python
  ];
  for (const [pattern, text] of differs) {
    assert.ok(
      compilePyRegex(pattern).test(text),
      `${pattern} should match ${JSON.stringify(text)}`,
    );
  }
});

Deno.test("py_regex: patterns Python rejects, or JavaScript cannot express, are errors naming the place", () => {
  const bad: [string, RegExp][] = [
    ["\\q", /position 0: bad escape \\q/],
    ["a**", /multiple repeat/],
    ["(a", /missing \)/],
    ["a)", /unbalanced parenthesis/],
    ["[a", /unterminated character set/],
    ["(?>a)", /atomic groups/],
    ["a++", /possessive/],
    ["(?(1)a|b)", /conditional/],
    ["x(?i)y", /global flags not at the start/],
    ["\\2(a)", /invalid group reference 2/],
  ];
  for (const [pattern, message] of bad) {
    assert.throws(() => compilePyRegex(pattern), (e) => {
      assert.ok(e instanceof PyRegexError, pattern);
      assert.match((e as Error).message, message, pattern);
      return true;
    });
  }
});
