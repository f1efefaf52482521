/**
 * The import checker behind tests/unit/architecture_test.ts: reads every import of lib/**\/*.ts
 * from the source (comments and JSDoc examples do not count) and checks it against the layering
 * ARCHITECTURE.md states. Test helper only; lib/ never loads it.
 *
 * What counts as an import: `import … from "x"`, `import type … from "x"`, `import "x"`,
 * `export … from "x"`, `export type … from "x"` and `import("x")` with a string literal
 * (a type position `typeof import("x")` included).
 *
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, posix, relative, sep } from "node:path";

/** One token of TypeScript source: what the import scanner needs, nothing more. */
interface Token {
  kind: "ident" | "string" | "punct" | "other";
  value: string;
  line: number;
}

const REGEX_AFTER_KEYWORD = new Set([
  "return",
  "typeof",
  "case",
  "do",
  "else",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "instanceof",
  "yield",
  "await",
]);

/**
 * Splits TypeScript source into identifiers, string literals (quotes removed; a template literal
 * is one token, its `${…}` parts included, so code quoted in a string never counts) and
 * punctuation. Comments are dropped, regular expression literals are skipped.
 */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  const n = source.length;
  const push = (kind: Token["kind"], value: string, at: number) =>
    tokens.push({ kind, value, line: at });
  const regexAllowed = () => {
    const prev = tokens[tokens.length - 1];
    if (!prev) return true;
    if (prev.kind === "ident") return REGEX_AFTER_KEYWORD.has(prev.value);
    if (prev.kind === "punct") return !/^[)\]}]$/.test(prev.value);
    return false;
  };
  /** Skips a quoted string starting at `i` (the quote); returns its contents. */
  const quoted = (quote: string): string => {
    let out = "";
    i++;
    while (i < n && source[i] !== quote) {
      if (source[i] === "\\") {
        out += source[i + 1] ?? "";
        i += 2;
        continue;
      }
      if (source[i] === "\n") line++;
      out += source[i++];
    }
    i++;
    return out;
  };
  /** Skips a template literal starting at `i` (the backtick), `${…}` nesting included. */
  const template = (): string => {
    let out = "";
    i++;
    while (i < n && source[i] !== "`") {
      if (source[i] === "\\") {
        out += source.slice(i, i + 2);
        i += 2;
        continue;
      }
      if (source[i] === "$" && source[i + 1] === "{") {
        out += "${";
        i += 2;
        let depth = 1;
        while (i < n && depth > 0) {
          const c = source[i];
          if (c === "'" || c === '"') out += quoted(c);
          else if (c === "`") out += template();
          else {
            if (c === "{") depth++;
            else if (c === "}") depth--;
            else if (c === "\n") line++;
            out += c;
            i++;
          }
        }
        continue;
      }
      if (source[i] === "\n") line++;
      out += source[i++];
    }
    i++;
    return out;
  };
  while (i < n) {
    const c = source[i];
    const at = line;
    if (c === "\n") {
      line++;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (c === "/" && source[i + 1] === "/") {
      while (i < n && source[i] !== "\n") i++;
    } else if (c === "/" && source[i + 1] === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end < 0 ? n : end + 2;
      for (let k = i; k < stop; k++) if (source[k] === "\n") line++;
      i = stop;
    } else if (c === "'" || c === '"') {
      push("string", quoted(c), at);
    } else if (c === "`") {
      push("string", template(), at);
    } else if (c === "/" && regexAllowed()) {
      // A regular expression literal: skip to its closing slash (classes may hold a slash).
      i++;
      let inClass = false;
      while (i < n && source[i] !== "\n") {
        const d = source[i];
        if (d === "\\") i += 2;
        else {
          i++;
          if (d === "[") inClass = true;
          else if (d === "]") inClass = false;
          else if (d === "/" && !inClass) break;
        }
      }
      while (i < n && /[a-z]/i.test(source[i])) i++;
      push("other", "regex", at);
    } else if (/[A-Za-z_$]/.test(c)) {
      let j = i + 1;
      while (j < n && /[\w$]/.test(source[j])) j++;
      push("ident", source.slice(i, j), at);
      i = j;
    } else if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < n && /[\w.]/.test(source[j])) j++;
      push("other", source.slice(i, j), at);
      i = j;
    } else {
      push("punct", c, at);
      i++;
    }
  }
  return tokens;
}

/** One import found in a file. */
export interface ImportRef {
  /** The specifier as written (`./x.ts`, `tunebook/llm/model.ts`, `node:fs`, `yaml`). */
  specifier: string;
  /** 1-based line of the `import`/`export` keyword. */
  line: number;
  /** How it was written. */
  form: "import" | "export-from" | "dynamic";
}

/** Tokens allowed between `import`/`export` and `from`: names, braces, `*`, `as`, `type`, commas. */
function isClauseToken(t: Token): boolean {
  return t.kind === "ident" || (t.kind === "punct" && /^[{},*]$/.test(t.value));
}

/** Every import in `source` (static, type-only, re-export and dynamic with a string literal). */
export function findImports(source: string): ImportRef[] {
  const t = tokenize(source);
  const out: ImportRef[] = [];
  for (let k = 0; k < t.length; k++) {
    const tok = t[k];
    if (tok.kind !== "ident" || (tok.value !== "import" && tok.value !== "export")) continue;
    const prev = t[k - 1];
    if (prev && prev.kind === "punct" && prev.value === ".") continue; // x.import
    const next = t[k + 1];
    if (!next) continue;
    if (tok.value === "import" && next.kind === "punct" && next.value === "(") {
      const arg = t[k + 2];
      const after = t[k + 3];
      if (
        arg?.kind === "string" && !arg.value.includes("${") && after?.kind === "punct" &&
        (after.value === ")" || after.value === ",")
      ) out.push({ specifier: arg.value, line: tok.line, form: "dynamic" });
      continue;
    }
    if (tok.value === "import" && next.kind === "string") {
      out.push({ specifier: next.value, line: tok.line, form: "import" });
      continue;
    }
    // import … from "x" / export … from "x": a clause of names and braces, then `from` + string.
    let j = k + 1;
    while (j < t.length && isClauseToken(t[j]) && t[j].value !== "from") j++;
    // `from` may itself be a binding name (`import from from "x"`): prefer the last `from`.
    while (
      j + 1 < t.length && t[j].value === "from" && t[j + 1].kind === "ident" &&
      t[j + 1].value === "from"
    ) j++;
    if (t[j]?.kind === "ident" && t[j].value === "from" && t[j + 1]?.kind === "string") {
      if (tok.value === "export") {
        // `export const from = …` is no re-export; a re-export clause starts with `*`, `{` or `type`.
        const first = t[k + 1];
        const ok = first.value === "*" || first.value === "{" || first.value === "type";
        if (!ok) continue;
      }
      out.push({
        specifier: t[j + 1].value,
        line: tok.line,
        form: tok.value === "import" ? "import" : "export-from",
      });
    }
  }
  return out;
}

/** Lines where `source` calls `Deno.dlopen` (code only, comments and strings ignored). */
export function findDlopen(source: string): number[] {
  const t = tokenize(source);
  const lines: number[] = [];
  for (let k = 0; k + 2 < t.length; k++) {
    if (t[k].value === "Deno" && t[k + 1].value === "." && t[k + 2].value === "dlopen") {
      lines.push(t[k].line);
    }
    if (
      t[k].value === "Deno" && t[k + 1].value === "[" && t[k + 2].kind === "string" &&
      t[k + 2].value === "dlopen"
    ) lines.push(t[k].line);
  }
  return lines;
}

/** Which lib modules each module may import (the ARCHITECTURE.md table). */
export type LayerTable = Record<string, string[]>;

/**
 * Reads the allowed-imports table: the first fenced block under the `## Allowed imports`
 * heading of ARCHITECTURE.md, one `module → a, b, c` line per module. `anything below` means
 * every module listed after it; a trailing `(…)` is a comment; `(nothing in lib)` means none.
 */
export function parseLayerTable(markdown: string): LayerTable {
  const lines = markdown.split("\n");
  const heading = lines.findIndex((l) => /^##\s+Allowed imports\s*$/.test(l));
  const open = lines.findIndex((l, i) => i > heading && /^\s*```/.test(l));
  const close = lines.findIndex((l, i) => i > open && /^\s*```/.test(l));
  if (heading < 0 || open < 0 || close < 0) {
    throw new Error("ARCHITECTURE.md: no fenced table under '## Allowed imports'");
  }
  const rows: [string, string][] = [];
  for (const [i, line] of lines.slice(open + 1, close).entries()) {
    if (line.trim() === "") continue;
    const m = line.match(/^\s*([a-z_]+)\s+→\s*(.*?)\s*$/);
    if (!m) {
      throw new Error(
        `ARCHITECTURE.md:${open + 2 + i}: expected 'module → a, b, c', got '${line}'`,
      );
    }
    rows.push([m[1], m[2]]);
  }
  const table: LayerTable = {};
  rows.forEach(([name, rest], index) => {
    const deps = rest.replace(/\(.*\)$/, "").trim();
    if (deps === "anything below") table[name] = rows.slice(index + 1).map(([n]) => n);
    else table[name] = deps.split(",").map((d) => d.trim()).filter((d) => d !== "");
  });
  return table;
}

/** Module cycles in a table or graph (each as the list of modules on it), empty when none. */
export function findCycles(graph: Record<string, Iterable<string>>): string[][] {
  // Tarjan's strongly connected components; a component of two or more modules is a cycle.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph[v] ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) cycles.push(comp.sort());
    }
  };
  for (const v of Object.keys(graph).sort()) if (!idx.has(v)) visit(v);
  return cycles;
}

/** What the checker needs to know besides the sources. */
export interface CheckOptions {
  /** The allowed-imports table. */
  table: LayerTable;
  /** npm packages deno.json maps (bare specifiers a lib file may use). */
  packages: string[];
  /**
   * Modules that are entry points and have no public surface of their own (not re-exported
   * from lib/mod.ts). Default: `["cli"]`.
   */
  entryModules?: string[];
  /** Packages only one module may import, by package name. Default: node-llama-cpp → llm, @huggingface/hub → hub. */
  packageOwners?: Record<string, string>;
  /** The module that may call `Deno.dlopen`. Default: `"llm"`. */
  ffiOwner?: string;
}

/** Where a rule is broken: file (lib-relative, `eval/runner.ts`), line and what. */
export interface Violation {
  file: string;
  line: number;
  message: string;
}

/** The package name of a bare specifier (`@scope/name/sub` → `@scope/name`). */
function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** The lib-relative path an import resolves to, or undefined when it leaves lib/. */
function resolveInLib(from: string, specifier: string): string | undefined {
  if (specifier.startsWith("tunebook/")) {
    return posix.normalize(specifier.slice("tunebook/".length));
  }
  const p = posix.normalize(posix.join(posix.dirname(from), specifier));
  return p.startsWith("../") || p === ".." ? undefined : p;
}

/** The module a lib-relative path belongs to (`eval/task/x.ts` → `eval`); "" for lib/mod.ts. */
function moduleOf(path: string): string {
  const i = path.indexOf("/");
  return i < 0 ? "" : path.slice(0, i);
}

/**
 * Checks lib/ sources against the layering. `files` maps lib-relative paths (`eval/runner.ts`,
 * `mod.ts` for the root) to their source text. Returns every violation, none when it holds.
 */
export function checkArchitecture(files: Record<string, string>, opts: CheckOptions): Violation[] {
  const {
    table,
    packages,
    entryModules = ["cli"],
    packageOwners = { "node-llama-cpp": "llm", "@huggingface/hub": "hub" },
    ffiOwner = "llm",
  } = opts;
  const v: Violation[] = [];
  const graph: Record<string, Set<string>> = {};
  const modules = new Set(Object.keys(files).map(moduleOf).filter((m) => m !== ""));

  for (const m of modules) {
    if (!(m in table)) {
      v.push({
        file: `${m}/`,
        line: 0,
        message: `module '${m}' is not in the allowed-imports table; add it to ARCHITECTURE.md`,
      });
    }
  }
  for (const cycle of findCycles(table)) {
    v.push({
      file: "ARCHITECTURE.md",
      line: 0,
      message: `the table has a cycle: ${cycle.join(" ↔ ")}`,
    });
  }

  for (const [file, source] of Object.entries(files).sort()) {
    const from = moduleOf(file);
    for (const ref of findImports(source)) {
      const at = { file, line: ref.line };
      const s = ref.specifier;
      if (s.startsWith("node:")) continue;
      if (/^(npm|jsr|https?|file):/.test(s)) {
        v.push({ ...at, message: `'${s}': import packages through deno.json's import map` });
        continue;
      }
      const isPath = s.startsWith(".") || s.startsWith("/") || s.startsWith("tunebook/");
      if (!isPath) {
        const pkg = packageName(s);
        if (!packages.includes(pkg)) {
          v.push({ ...at, message: `'${s}' is not a package in deno.json's imports` });
        }
        const owner = packageOwners[pkg];
        if (owner !== undefined && from !== owner) {
          v.push({ ...at, message: `'${pkg}' may be imported only in lib/${owner}` });
        }
        continue;
      }
      const target = resolveInLib(file, s);
      if (target === undefined) {
        v.push({
          ...at,
          message: `'${s}' leaves lib/ (lib may import only lib, node:* and packages)`,
        });
        continue;
      }
      if (target === "mod.ts" && file !== "mod.ts") {
        v.push({
          ...at,
          message: `'${s}' is lib/mod.ts: modules import each other, never the root`,
        });
        continue;
      }
      const to = moduleOf(target);
      if (to === from || from === "") continue;
      (graph[from] ??= new Set()).add(to);
      if (!(table[from] ?? []).includes(to)) {
        v.push({
          ...at,
          message: `lib/${from} may not import lib/${to} ('${s}'); allowed: ${
            (table[from] ?? []).join(", ") || "nothing in lib"
          }`,
        });
      }
      if (target.split("/").some((part) => part.startsWith("_"))) {
        v.push({
          ...at,
          message: `'${s}' is private to lib/${to}; import its mod.ts or a public file`,
        });
      }
    }
    if (from !== ffiOwner) {
      for (const line of findDlopen(source)) {
        v.push({
          file,
          line,
          message: `Deno.dlopen outside lib/${ffiOwner} (one libllama binding)`,
        });
      }
    }
  }
  for (const cycle of findCycles(graph)) {
    v.push({
      file: "lib/",
      line: 0,
      message: `import cycle between modules: ${cycle.join(" ↔ ")}`,
    });
  }

  // lib/mod.ts re-exports every module's mod.ts and nothing else.
  const root = files["mod.ts"];
  if (root === undefined) v.push({ file: "mod.ts", line: 0, message: "lib/mod.ts is missing" });
  else {
    const exported = new Set(
      findImports(root).filter((r) => r.form === "export-from").map((r) =>
        resolveInLib("mod.ts", r.specifier)
      ),
    );
    for (const ref of findImports(root)) {
      const target = resolveInLib("mod.ts", ref.specifier);
      if (ref.form === "export-from" && target !== undefined && !/^[^/]+\/mod\.ts$/.test(target)) {
        v.push({
          file: "mod.ts",
          line: ref.line,
          message:
            `'${ref.specifier}': lib/mod.ts re-exports modules' mod.ts only; export it there`,
        });
      }
    }
    for (const m of [...modules].sort()) {
      if (entryModules.includes(m)) continue;
      if (!(`${m}/mod.ts` in files)) {
        v.push({ file: `${m}/`, line: 0, message: `lib/${m} has no mod.ts (its public surface)` });
      } else if (!exported.has(`${m}/mod.ts`)) {
        v.push({ file: "mod.ts", line: 0, message: `lib/mod.ts does not re-export ./${m}/mod.ts` });
      }
    }
  }
  return v;
}

/** Every `.ts` file under `dir`, keyed by its path relative to `dir` with `/` separators. */
export function readSources(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts")) {
        out[relative(dir, p).split(sep).join("/")] = readFileSync(p, "utf8");
      }
    }
  };
  walk(dir);
  return out;
}

/** `file:line: message` lines for an assertion message. */
export function formatViolations(violations: Violation[], root = "lib"): string {
  return violations.map((x) => `${join(root, x.file)}${x.line ? `:${x.line}` : ""}: ${x.message}`)
    .join("\n");
}
