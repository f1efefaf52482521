/**
 * ARCHITECTURE.md's rules hold in lib/: every import, parsed from the source (comments and JSDoc
 * examples stripped), goes down the allowed-imports table; node-llama-cpp and `Deno.dlopen` stay
 * in lib/llm, the Hub client in lib/hub; no module imports another's `_private` file; modules
 * have no import cycles; lib/mod.ts re-exports every module's mod.ts. The checker lives in
 * ./_architecture.ts; planted violations show that it fails.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  checkArchitecture,
  findCycles,
  findDlopen,
  findImports,
  formatViolations,
  type LayerTable,
  parseLayerTable,
  readSources,
} from "./_architecture.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const LIB = join(ROOT, "lib");
const TABLE = parseLayerTable(readFileSync(join(ROOT, "ARCHITECTURE.md"), "utf8"));
const PACKAGES = Object.keys(JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")).imports)
  .filter((k) => !k.endsWith("/"));

Deno.test("lib/ follows ARCHITECTURE.md's import rules", () => {
  const violations = checkArchitecture(readSources(LIB), { table: TABLE, packages: PACKAGES });
  assert.equal(violations.length, 0, `\n${formatViolations(violations)}`);
});

Deno.test("the table: every lib folder is a row, a module imports only rows after it", () => {
  const rows = Object.keys(TABLE);
  assert.deepEqual(rows.slice(-3), ["llm", "hub", "util"]);
  assert.deepEqual(TABLE.util, []);
  assert.deepEqual(TABLE.cli, rows.slice(1)); // "anything below"
  rows.forEach((name, i) => {
    for (const dep of TABLE[name]) {
      assert.ok(rows.indexOf(dep) > i, `${name} → ${dep}: ${dep} must be a row below ${name}`);
    }
  });
  assert.deepEqual(findCycles(TABLE), []);
  const folders = readdirSync(LIB, { withFileTypes: true }).filter((e) => e.isDirectory())
    .map((e) => e.name);
  for (const f of folders) assert.ok(f in TABLE, `lib/${f} is not in ARCHITECTURE.md's table`);
});

Deno.test("findImports finds what Deno's module graph finds, in every lib file", async () => {
  const files = readSources(LIB);
  const root = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    const all = Object.keys(files).map((f) => `import "${pathToFileURL(join(LIB, f)).href}";`);
    writeFileSync(root, all.join("\n"));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config", join(ROOT, "deno.json"), root],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: { specifier: string; dependencies?: { specifier: string }[] }[];
    };
    let compared = 0;
    for (const [file, source] of Object.entries(files)) {
      const url = pathToFileURL(join(LIB, file)).href;
      const mod = graph.modules.find((m) => m.specifier === url);
      assert.ok(mod, `deno info did not list lib/${file}`);
      const theirs = [...new Set((mod.dependencies ?? []).map((d) => d.specifier))].sort();
      const ours = [...new Set(findImports(source).map((r) => r.specifier))].sort();
      assert.deepEqual(ours, theirs, `lib/${file}`);
      compared += ours.length;
    }
    assert.ok(compared > 300, `only ${compared} imports compared`);
  } finally {
    Deno.removeSync(root);
  }
});

Deno.test("findImports: every import form, nothing from comments, examples or strings", () => {
  const source = [
    `import { a } from "./a.ts";`,
    `import type { B } from "../b/b.ts";`,
    `import * as c from "tunebook/c/mod.ts";`,
    `import d, { type E } from "yaml";`,
    `import "./side_effect.ts";`,
    `export * from "./f.ts";`,
    `export { g as h } from "./g.ts";`,
    `export type { I } from "./i.ts";`,
    `export * as j from "./j.ts";`,
    `const k = await import("./k.ts");`,
    `type L = typeof import("./l.ts");`,
    `import {`,
    `  m,`,
    `  n,`,
    `} from "./mn.ts";`,
    `// import { x } from "../comment/line.ts";`,
    `/* import "../comment/block.ts"; */`,
    `/**`,
    ` * @example`,
    " * ```ts",
    ` * import { y } from "../jsdoc/example.ts";`,
    ` * await import("../jsdoc/dynamic.ts");`,
    " * ```",
    ` */`,
    `const s = 'import { z } from "../string/single.ts"';`,
    'const t = `import { z } from "../string/template.ts" ${`import("../nested.ts")`}`;',
    `const re = /import "..\\/regex.ts"/;`,
    `const dyn = import(name);`,
    "const tmpl = import(`./${name}.ts`);",
    `const url = new URL("../../", import.meta.url);`,
    `export const from = "x";`,
    `export function f() { return "import('./fn.ts')"; }`,
  ].join("\n");
  const refs = findImports(source);
  assert.deepEqual(refs.map((r) => r.specifier), [
    "./a.ts",
    "../b/b.ts",
    "tunebook/c/mod.ts",
    "yaml",
    "./side_effect.ts",
    "./f.ts",
    "./g.ts",
    "./i.ts",
    "./j.ts",
    "./k.ts",
    "./l.ts",
    "./mn.ts",
  ]);
  assert.deepEqual(refs.map((r) => r.line), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  assert.deepEqual(refs.map((r) => r.form).slice(5, 11), [
    "export-from",
    "export-from",
    "export-from",
    "export-from",
    "dynamic",
    "dynamic",
  ]);
  assert.deepEqual(
    findDlopen(`// Deno.dlopen(p)\nconst s = "Deno.dlopen";\nconst lib = Deno.dlopen(p, {});`),
    [3],
  );
});

/** A small layered tree that follows its table: app → core → base. */
const TINY_TABLE: LayerTable = { app: ["core", "base"], core: ["base"], base: [] };
const TINY: Record<string, string> = {
  "mod.ts": `export * from "./core/mod.ts";\nexport * from "./base/mod.ts";`,
  "app/main.ts": `import { core } from "../core/mod.ts";\nimport { b } from "tunebook/base/b.ts";`,
  "core/mod.ts": `export { core } from "./core.ts";`,
  "core/core.ts": `import { b } from "../base/b.ts";\nimport { h } from "./_help.ts";\n` +
    `import { readFileSync } from "node:fs";\nimport { parse } from "yaml";\nexport const core = 1;`,
  "core/_help.ts": `export const h = 1;`,
  "base/mod.ts": `export * from "./b.ts";`,
  "base/b.ts": `export const b = 1;`,
};
const TINY_OPTS = {
  table: TINY_TABLE,
  packages: ["yaml", "node-llama-cpp"],
  entryModules: ["app"],
  packageOwners: { "node-llama-cpp": "base" },
  ffiOwner: "base",
};

/** The violations of TINY with `changes` applied (a file set to undefined is removed). */
function check(changes: Record<string, string | undefined>, table = TINY_TABLE): string[] {
  const files: Record<string, string> = { ...TINY };
  for (const [f, s] of Object.entries(changes)) {
    if (s === undefined) delete files[f];
    else files[f] = s;
  }
  return checkArchitecture(files, { ...TINY_OPTS, table }).map((v) =>
    `${v.file}:${v.line}: ${v.message}`
  );
}

Deno.test("checkArchitecture: a tree that follows its table passes", () => {
  assert.deepEqual(check({}), []);
});

Deno.test("checkArchitecture reports each planted violation, with file and line", () => {
  // An upward import (core already imports base, so it also closes a cycle).
  assert.deepEqual(check({ "base/up.ts": `\nimport { core } from "../core/core.ts";` }), [
    "base/up.ts:2: lib/base may not import lib/core ('../core/core.ts'); allowed: nothing in lib",
    "lib/:0: import cycle between modules: base ↔ core",
  ]);
  // The same through the import-map prefix, a type-only import and a dynamic import.
  for (
    const up of [
      `import type { X } from "tunebook/core/mod.ts";`,
      `await import("../core/mod.ts");`,
    ]
  ) {
    assert.match(
      check({ "base/up.ts": up })[0],
      /^base\/up\.ts:1: lib\/base may not import lib\/core/,
    );
  }
  // core may import base but not app.
  assert.deepEqual(check({ "core/app.ts": `export { core } from "../app/main.ts";` }), [
    "core/app.ts:1: lib/core may not import lib/app ('../app/main.ts'); allowed: base",
    "lib/:0: import cycle between modules: app ↔ core",
  ]);
  // A JSDoc example may show anything: it is not an import.
  assert.deepEqual(check({ "base/doc.ts": "/**\n * ```ts\n * import '../app/main.ts';\n */" }), []);
  // Another module's private file.
  assert.deepEqual(check({ "app/x.ts": `import { h } from "../core/_help.ts";` }), [
    "app/x.ts:1: '../core/_help.ts' is private to lib/core; import its mod.ts or a public file",
  ]);
  // node-llama-cpp outside its owner; Deno.dlopen outside its owner.
  assert.deepEqual(check({ "core/llama.ts": `import { getLlama } from "node-llama-cpp";` }), [
    "core/llama.ts:1: 'node-llama-cpp' may be imported only in lib/base",
  ]);
  assert.deepEqual(check({ "core/ffi.ts": `export const lib = Deno.dlopen("x.so", {});` }), [
    "core/ffi.ts:1: Deno.dlopen outside lib/base (one libllama binding)",
  ]);
  assert.deepEqual(check({ "base/ffi.ts": `export const lib = Deno.dlopen("x.so", {});` }), []);
  // Packages only through deno.json.
  assert.deepEqual(check({ "base/p.ts": `import { z } from "npm:zod@3";\nimport x from "zod";` }), [
    "base/p.ts:1: 'npm:zod@3': import packages through deno.json's import map",
    "base/p.ts:2: 'zod' is not a package in deno.json's imports",
  ]);
  // A module missing from the table; an import of the root surface.
  assert.deepEqual(
    check({
      "extra/mod.ts": `export const e = 1;`,
      "mod.ts": TINY["mod.ts"] + `\nexport * from "./extra/mod.ts";`,
    }),
    [
      "extra/:0: module 'extra' is not in the allowed-imports table; add it to ARCHITECTURE.md",
    ],
  );
  assert.deepEqual(check({ "core/root.ts": `import { b } from "../mod.ts";` }), [
    "core/root.ts:1: '../mod.ts' is lib/mod.ts: modules import each other, never the root",
  ]);
});

Deno.test("checkArchitecture reports module cycles, even where the table allows both ways", () => {
  const loose: LayerTable = { app: ["core", "base"], core: ["base"], base: ["core"] };
  const found = check({ "base/loop.ts": `import { core } from "../core/mod.ts";` }, loose);
  assert.deepEqual(found, [
    "ARCHITECTURE.md:0: the table has a cycle: base ↔ core",
    "lib/:0: import cycle between modules: base ↔ core",
  ]);
  assert.deepEqual(findCycles({ a: ["b"], b: ["c"], c: ["a"], d: ["a"] }), [["a", "b", "c"]]);
});

Deno.test("checkArchitecture: lib/mod.ts re-exports every module's mod.ts and nothing else", () => {
  assert.deepEqual(check({ "mod.ts": `export * from "./core/mod.ts";` }), [
    "mod.ts:0: lib/mod.ts does not re-export ./base/mod.ts",
  ]);
  assert.deepEqual(check({ "mod.ts": TINY["mod.ts"] + `\nexport * from "./core/core.ts";` }), [
    "mod.ts:3: './core/core.ts': lib/mod.ts re-exports modules' mod.ts only; export it there",
  ]);
  assert.deepEqual(check({ "base/mod.ts": undefined }), [
    "base/:0: lib/base has no mod.ts (its public surface)",
  ]);
});

Deno.test("the real tree with one planted upward import fails on exactly that import", () => {
  const files = readSources(LIB);
  files["llm/planted.ts"] = `import { runEval } from "../eval/runner.ts";\nexport { runEval };`;
  const violations = checkArchitecture(files, { table: TABLE, packages: PACKAGES });
  assert.equal(violations.length, 2, formatViolations(violations));
  assert.match(violations[0].message, /^lib\/llm may not import lib\/eval/);
  assert.match(violations[1].message, /import cycle between modules: .*eval.*llm/);
});

Deno.test("lib/mod.ts exports every value each module's mod.ts exports", async () => {
  const root = await import("../../lib/mod.ts");
  const modules = Object.keys(readSources(LIB)).filter((f) => /^[^/]+\/mod\.ts$/.test(f));
  assert.ok(modules.length >= 10, modules.join(", "));
  for (const file of modules) {
    const mod = await import(pathToFileURL(join(LIB, file)).href);
    const missing = Object.keys(mod).filter((k) =>
      !(k in root) || root[k as keyof typeof root] !== mod[k]
    );
    assert.deepEqual(missing, [], `lib/${file}: not re-exported by lib/mod.ts (a name clash?)`);
  }
});
