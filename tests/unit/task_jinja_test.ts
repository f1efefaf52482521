/**
 * tunebook's Jinja engine against Python's Jinja2 as lm-evaluation-harness configures it: every
 * case is rendered by both (tests/unit/fixtures/jinja_reference.py runs Debian's python3-jinja2)
 * and the texts must be equal byte for byte; where Jinja2 raises, tunebook must raise too. The
 * cases are the harness's own templates (sciq, arc, piqa, boolq, mc_taco, hellaswag, logiqa-style
 * loops), Python methods on strings and lists, lm-eval's `regex_replace`, Jinja2's filters and
 * tests, whitespace control and Python's printing of lists, dicts, None, booleans and floats.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  compileTemplate,
  MissingFieldError,
  renderTemplate,
} from "../../lib/eval/task/_template.ts";
import { findPython } from "../../lib/util/python.ts";

const REFERENCE = fileURLToPath(new URL("./fixtures/jinja_reference.py", import.meta.url));

interface Case {
  template: string;
  doc: Record<string, unknown>;
}

const arcDoc = {
  question: "Which gas do plants take in?",
  choices: {
    text: ["oxygen", "carbon dioxide", 'it\'s "nitrogen"', "argon"],
    label: ["A", "B", "C", "D"],
  },
  answerKey: "B",
};
const sciqDoc = {
  support: "  Plants use carbon dioxide.\n",
  question: "What do plants use?",
  distractor1: "helium",
  distractor2: "neon's",
  distractor3: 'say "hi"',
  correct_answer: "carbon dioxide",
};

const CASES: Case[] = [
  // the harness's templates
  { template: "{{support.lstrip()}}\nQuestion: {{question}}\nAnswer:", doc: sciqDoc },
  { template: "{{[distractor1, distractor2, distractor3, correct_answer]}}", doc: sciqDoc },
  { template: "{{support}} {{question}}", doc: sciqDoc },
  { template: "Question: {{question}}\nAnswer:", doc: arcDoc },
  { template: "{{choices.label.index(answerKey)}}", doc: arcDoc },
  { template: "{{choices.text}}", doc: arcDoc },
  { template: "{{choices['text'][choices.label.index(answerKey)]}}", doc: arcDoc },
  {
    template: "{{passage}}\nQuestion: {{question}}?\nAnswer:",
    doc: { passage: "P.", question: "is it" },
  },
  { template: "Question: {{goal}}\nAnswer:", doc: { goal: "Open a jar" } },
  { template: "{{[sol1, sol2]}}", doc: { sol1: "Twist the lid", sol2: "Hit it's top" } },
  {
    template: "{{sentence}}\nQuestion: {{question}}\nAnswer: {{answer}}\nPlausible:",
    doc: { sentence: 'He said "wait".', question: "How long?", answer: "5 min" },
  },
  {
    template:
      "Passage: {{context}}\nQuestion: {{question}}\nChoices:\n{% for option in options %}{{ 'ABCD'[loop.index0] }}. {{option}}\n{% endfor %}Answer:",
    doc: { context: "C.", question: "Q?", options: ["a", "b", "c", "d"] },
  },
  { template: "{{query}}", doc: { query: "Roof shingle removal: A man" } },
  { template: "{{label}}", doc: { label: "2" } },
  {
    template: "{{answers.text}}",
    doc: { answers: { text: ["Denver Broncos", "Broncos"], answer_start: [177, 191] } },
  },
  { template: "{{ {'a': 0, 'b': 1, 'c': 2, 'd': 3}[label.strip()] }}", doc: { label: " c " } },
  // printing values as Python does
  { template: "{{ x }}", doc: { x: [1, "a'b", 'c"d', "e'f\"g", null, true, 1.5, { k: [1] }] } },
  { template: "{{ x }} {{ y }} {{ z }}", doc: { x: null, y: false, z: 0.1 } },
  { template: "{{ 1, 2 }} {{ (1,) }} {{ () }}", doc: {} },
  {
    template: "{{ 3.0 }} {{ 1.5e3 }} {{ 10 / 3 }} {{ 4 / 2 }} {{ 1e16 }} {{ 1e-5 }} {{ 0.0001 }}",
    doc: {},
  },
  { template: "{{ [x] }}", doc: { x: "\u00a0\x01\t\n\u2028é\u{1F600}\\" } },
  { template: "{{ {'b': 1, 'a': none, 3: [true]} }}", doc: {} },
  {
    template: "{{ d.items() }}|{{ d.keys() }}|{{ d.values() }}|{{ range(3) }}|{{ range(1, 9, 2) }}",
    doc: { d: { a: 1 } },
  },
  { template: "{{ 'x' ~ [1] ~ none ~ 2 }}", doc: {} },
  // arithmetic and comparisons
  {
    template:
      "{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 2**3**2 }} {{ -2**2 }} {{ 2**-1 }}",
    doc: {},
  },
  { template: "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }}", doc: {} },
  {
    template: "{{ true + 1 }} {{ 1 == 1.0 }} {{ 'ab' * 3 }} {{ [0] * 2 }} {{ [1] + [2] }}",
    doc: {},
  },
  {
    template: "{{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in d }} {{ 'z' not in d }}",
    doc: { d: { k: 1 } },
  },
  {
    template: "{{ a and b }} {{ a or b }} {{ not a }} {{ '' or 'x' }} {{ [] and 1 }}",
    doc: { a: 0, b: "y" },
  },
  { template: "{{ 'yes' if x else 'no' }} {{ 'a' if false }}|", doc: { x: [] } },
  // string methods
  {
    template: "{{ s.strip() }}|{{ s.strip('.') }}|{{ s.lstrip() }}|{{ s.rstrip('. ') }}",
    doc: { s: "  ..hi.. " },
  },
  {
    template: "{{ s.split() }} {{ s.split(',') }} {{ s.split(',', 1) }} {{ s.rsplit(',', 1) }}",
    doc: { s: " a,b , c,d " },
  },
  {
    template:
      "{{ s.replace('a', 'o') }} {{ s.replace('a', 'o', 1) }} {{ s.lower() }} {{ s.upper() }}",
    doc: { s: "BanAna" },
  },
  {
    template: "{{ s.title() }} {{ s.capitalize() }} {{ s.swapcase() }}",
    doc: { s: "they're 1st-class ÉLAN" },
  },
  {
    template:
      "{{ s.startswith('ab') }} {{ s.endswith(('x', 'cd')) }} {{ s.find('c') }} {{ s.find('z') }} {{ s.count('b') }}",
    doc: { s: "abcbd" },
  },
  {
    template:
      "{{ s.index('c') }} {{ s.isdigit() }} {{ n.isdigit() }} {{ s.isalpha() }} {{ ' '.isspace() }}",
    doc: { s: "abc", n: "123" },
  },
  {
    template:
      "{{ ', '.join(xs) }}|{{ s.center(9, '*') }}|{{ s.ljust(5) }}|{{ s.rjust(5) }}|{{ n.zfill(5) }}",
    doc: { xs: ["a", "b"], s: "abc", n: "-42" },
  },
  {
    template: "{{ s.splitlines() }} {{ s.partition('=') }} {{ s.removeprefix('k') }}",
    doc: { s: "k=v\nx\r\ny" },
  },
  { template: "{{ '%s-%d-%.2f|%5s|%-5s|%05d|%x' % ('a', 3, 2.5, 'r', 'l', 42, 255) }}", doc: {} },
  { template: "{{ '%(a)s and %(b)r' % {'a': 1, 'b': 'two'} }}", doc: {} },
  {
    template:
      "{{ '%.2f %e %g %g %G %.3g %+d % d %5.1f%%' % (2.675, 12345.678, 0.0001234, 1e20, 1e-20, 1234.5, 5, 7, 99.95) }}",
    doc: {},
  },
  {
    template:
      "{{ '{:.3g} {:.2%} {:e} {:g} {:>+8.2f} {:^7} {:x} {:#b}'.format(1234.5, 0.25, 0.5, 100000000.0, 3.14159, 'mid', 255, 5) }}",
    doc: {},
  },
  {
    template:
      "{{ 2.675 | round(2) }} {{ 0.5 | round }} {{ 1.5 | round }} {{ 2.5 | round(0, 'ceil') }} {{ x | round(3) }}",
    doc: { x: 1.0005 },
  },
  {
    template:
      "{{ '{} {:>4} {:.3f} {:,} {:05.1f} {!r} {name}'.format(1, 'x', 3.14159, 1234567, 2.25, 'q', name='N') }}",
    doc: {},
  },
  {
    template:
      "{{ s[1:3] }} {{ s[::-1] }} {{ s[-2:] }} {{ xs[1:] }} {{ xs[0] }} {{ xs.0 }} {{ xs[-1] }}",
    doc: { s: "abcdef", xs: [1, 2, 3] },
  },
  // list methods
  {
    template: "{{ xs.index('b') }} {{ xs.count('a') }} {{ xs.index('a', 1) }}",
    doc: { xs: ["a", "b", "a"] },
  },
  {
    template: "{% set ys = [] %}{% set _ = ys.append(1) %}{{ ys }}{{ ys.pop() }}{{ ys }}",
    doc: {},
  },
  // filters, including lm-eval's regex_replace
  { template: "{{ x | regex_replace('\\\\s+', ' ') }}", doc: { x: "a   b\n\t c" } },
  {
    template: "{{ x | regex_replace('(\\\\w+)@(\\\\w+)', '\\\\2 at \\\\1') }}",
    doc: { x: "me@home you@work" },
  },
  {
    template: "{{ x | regex_replace('(?P<k>\\\\d+)', '<\\\\g<k>>', 1) }}",
    doc: { x: "a1b22c333" },
  },
  {
    template:
      "{{ x | regex_replace('^\\\\s*|\\\\s*$', '') }}|{{ x | regex_replace('[.?!]$', '') }}",
    doc: { x: "  Done?\n" },
  },
  {
    template: "{{ x | regex_replace('\\\\[.*?\\\\]', '') }}",
    doc: { x: "How to [title] cook [step] rice" },
  },
  {
    template: "{{ x | regex_replace('(?i)HELLO', 'bye') }} {{ x | regex_replace('é\\\\b', 'e') }}",
    doc: { x: "Hello café" },
  },
  {
    template:
      "{{ x | trim }}|{{ x | length }}|{{ x | upper }}|{{ x | lower }}|{{ x | title }}|{{ x | capitalize }}",
    doc: { x: " they're here " },
  },
  {
    template:
      "{{ xs | join(', ') }} {{ xs | first }} {{ xs | last }} {{ xs | length }} {{ xs | sort }} {{ xs | reverse | list }}",
    doc: { xs: ["b", "a", "c"] },
  },
  {
    template:
      "{{ xs | map('upper') | join }} {{ ds | map(attribute='n') | join(',') }} {{ ds | sum(attribute='n') }}",
    doc: { xs: ["a", "b"], ds: [{ n: 1 }, { n: 2 }] },
  },
  {
    template:
      "{{ ds | selectattr('ok') | map(attribute='n') | list }} {{ ns | select('odd') | list }} {{ ns | reject('even') | list }}",
    doc: { ds: [{ n: 1, ok: true }, { n: 2, ok: false }], ns: [1, 2, 3] },
  },
  {
    template: "{{ x | default('none') }} {{ y | default('empty', true) }} {{ y | d('e', true) }}",
    doc: { y: "" },
  },
  {
    template:
      "{{ x | int }} {{ '3.7' | float }} {{ 'ab' | int }} {{ '3.7' | int }} {{ 2 | float }} {{ 7 | string }}",
    doc: { x: " 12 " },
  },
  {
    template:
      "{{ x | round }} {{ x | round(1, 'floor') }} {{ 3 | round }} {{ 2.5 | round }} {{ x | abs }}",
    doc: { x: -2.55 },
  },
  {
    template: "{{ x | truncate(9) }}|{{ x | truncate(11, true) }}|{{ x | wordcount }}",
    doc: { x: "hello world foo bar" },
  },
  {
    template: "{{ x | indent(2) }}|{{ x | indent(2, true) }}|{{ x | center(7) }}",
    doc: { x: "a\nb\n\nc" },
  },
  {
    template:
      "{{ d | dictsort }} {{ d | dictsort(by='value') }} {{ d | items | list }} {{ d | tojson }}",
    doc: { d: { b: 1, a: 2 } },
  },
  { template: "{{ x | tojson }}", doc: { x: { b: "é<>&'", a: [1, 2.5, null, true] } } },
  {
    template:
      "{{ xs | batch(2) | list }} {{ xs | slice(2) | list }} {{ xs | unique | list }} {{ xs | max }} {{ xs | min }}",
    doc: { xs: [3, 1, 3, 2, 5] },
  },
  {
    template:
      "{{ '<b>x</b>' | e }} {{ '<b>x</b>' | striptags }} {{ 'a b' | urlencode }} {{ '%s=%s' | format('k', 2) }}",
    doc: {},
  },
  {
    template:
      "{{ 'abc' | list }} {{ 'abc' | reverse }} {{ [1, [2]] | string }} {{ xs | attr('count') is callable }}",
    doc: { xs: [] },
  },
  // tests
  {
    template:
      "{{ x is defined }} {{ y is undefined }} {{ x is none }} {{ 3 is odd }} {{ 9 is divisibleby 3 }} {{ 4 is divisibleby(3) }}",
    doc: { x: null },
  },
  {
    template:
      "{{ 'a' is string }} {{ 1 is number }} {{ 1.5 is float }} {{ 1 is integer }} {{ [] is sequence }} {{ d is mapping }} {{ 'x' is lower }}",
    doc: { d: {} },
  },
  {
    template:
      "{{ 1 is eq 1 }} {{ 2 is gt 1 }} {{ 2 is in [1, 2] }} {{ x is not none }} {{ true is true }}",
    doc: { x: 1 },
  },
  // statements and whitespace control
  { template: "a\n  {%- if true %}\n  b{% endif -%}\n c", doc: {} },
  {
    template:
      "{% for x in xs if x %}{{ loop.index }}/{{ loop.length }}{% if not loop.last %},{% endif %}{% endfor %}",
    doc: { xs: [0, 1, 2] },
  },
  {
    template: "{% for k, v in d.items() %}{{ k }}={{ v }};{% else %}none{% endfor %}",
    doc: { d: { a: 1, b: 2 } },
  },
  { template: "{% for x in [] %}x{% else %}empty{% endfor %}", doc: {} },
  {
    template:
      "{% for a in [1, 2] %}{% for b in 'xy' %}{{ loop.index }}{{ a }}{{ b }}{{ loop.cycle('-', '+') }}{% endfor %}{% endfor %}",
    doc: {},
  },
  {
    template: "{% set n = 1 %}{% for x in [1, 2] %}{% set n = n + x %}{% endfor %}{{ n }}",
    doc: {},
  },
  {
    template:
      "{% set ns = namespace(n=0) %}{% for x in [1, 2] %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}",
    doc: {},
  },
  {
    template: "{% set a, b = 'xy' %}{{ b }}{{ a }}{% set t %}T{{ a }}{% endset %}[{{ t }}]",
    doc: {},
  },
  {
    template:
      "{% macro opt(l, t='?') %}{{ l }}. {{ t }}{% endmacro %}{{ opt('A', 'x') }}|{{ opt('B') }}",
    doc: {},
  },
  {
    template:
      "{% filter upper %}hi {{ x }}{% endfilter %}|{% with y = 2 %}{{ y * x }}{% endwith %}",
    doc: { x: 3 },
  },
  {
    template: "{# a comment #}x {#- trimmed -#} y{% raw %} {{ not rendered }} {% endraw %}",
    doc: {},
  },
  { template: "{%- if x -%}\n  yes\n{%- else -%}\n  no\n{%- endif %}\n", doc: { x: 1 } },
  { template: "line1\nline2\n", doc: {} },
  {
    template: "{{ '{{' }} {{ \"it's\" }} {{ 'a' 'b' }} {{ 'tab\\there' }} {{ 'back\\\\slash' }}",
    doc: {},
  },
  { template: "{{ {'a': {'b': 1}} }}", doc: {} },
  { template: "{{ dict(a=1, b=[2]) }} {{ range(3) | list }} {{ range(5)[1:3] | list }}", doc: {} },
  // errors Jinja2 raises (StrictUndefined, Python exceptions)
  { template: "{{ missing }}", doc: {} },
  { template: "{{ d.missing }}", doc: { d: {} } },
  { template: "{% if missing %}x{% endif %}", doc: {} },
  { template: "{{ 'a' + 1 }}", doc: {} },
  { template: "{{ xs.index('z') }}", doc: { xs: ["a"] } },
  { template: "{{ 1 / 0 }}", doc: {} },
  { template: "{{ len(xs) }}", doc: { xs: [] } },
];

async function referenceRenders(cases: Case[]): Promise<{ text?: string; error?: string }[]> {
  const python = await findPython({ modules: ["jinja2"] });
  const child = new Deno.Command(python, {
    args: [REFERENCE],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(cases)));
  await writer.close();
  const out = await child.output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

function ours(c: Case): { text?: string; error?: string } {
  try {
    return { text: renderTemplate(compileTemplate(c.template), structuredClone(c.doc)) };
  } catch (e) {
    return { error: e instanceof MissingFieldError ? "UndefinedError" : (e as Error).message };
  }
}

Deno.test("templates render byte for byte as Python's Jinja2 renders them in lm-eval's environment", async () => {
  const reference = await referenceRenders(CASES);
  const mismatches: string[] = [];
  CASES.forEach((c, i) => {
    const want = reference[i];
    const got = ours(c);
    if (want.error !== undefined) {
      if (got.error === undefined) {
        mismatches.push(
          `${JSON.stringify(c.template)}: Jinja2 raises ${want.error}, tunebook gave ${
            JSON.stringify(got.text)
          }`,
        );
      }
    } else if (got.text !== want.text) {
      mismatches.push(
        `${JSON.stringify(c.template)}:\n  jinja2:   ${JSON.stringify(want.text)}\n  tunebook: ${
          got.error !== undefined ? `error ${got.error}` : JSON.stringify(got.text)
        }`,
      );
    }
  });
  assert.deepEqual(
    mismatches,
    [],
    `${mismatches.length} of ${CASES.length} differ:\n${mismatches.join("\n")}`,
  );
});

Deno.test("a missing column is reported by name; a missing attribute says which", () => {
  assert.throws(
    () => renderTemplate(compileTemplate("Q: {{question}}"), {}),
    (e) => e instanceof MissingFieldError && e.field === "question",
  );
  assert.throws(
    () => renderTemplate(compileTemplate("{{ choices.label }}"), { choices: {} }),
    /UndefinedError: 'dict object' has no attribute 'label'/,
  );
});

Deno.test("unknown filters and tests fail when the template is compiled, as in Jinja2", () => {
  assert.throws(() => compileTemplate("{{ x | nofilter }}"), /no filter named "nofilter"/);
  assert.throws(() => compileTemplate("{{ x is notatest }}"), /no test named "notatest"/);
  assert.throws(() => compileTemplate("{{ x | wordwrap }}"), /"wordwrap" is not supported/);
  assert.throws(() => compileTemplate("{% include 'a.txt' %}"), /template loader/);
  assert.throws(() => compileTemplate("{{ x "), /missing "}}"|expected/);
  assert.deepEqual(
    compileTemplate(
      "{% for o in options %}{{ o }}{{ loop.index }}{% endfor %}{{ x is defined }}{{ q }}",
    ).fields,
    ["options", "q"],
  );
});
