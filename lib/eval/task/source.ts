/**
 * Reading task YAML with positions: each file is parsed keeping its nodes' offsets, so that
 * validation can point at `file:line:col` of any key or value, and `include:` chains are merged
 * with each key remembering the file it came from.
 *
 * lm-eval's `!function utils.doc_to_text` YAML tag becomes a {@linkcode FunctionRef}: the function
 * `doc_to_text` of `utils.py` in the folder of the file that wrote the tag (lm-eval's rule, so an
 * included base file's hooks live next to the base). Other custom tags are errors
 * ({@linkcode customTagIssues}).
 * @module
 */
import { basename, dirname, extname, resolve } from "node:path";
import {
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type ScalarTag,
  visit,
} from "yaml";
import { displayPath } from "./_format.ts";
import type { FileStamps } from "./_file_stamps.ts";
import { issueAt, TaskFileError, type TaskIssue } from "./issues.ts";
import type { FunctionRef } from "./schema.ts";

/** The `!function` tag for a file: its value names a function of a module next to that file. */
function functionTag(file: string): ScalarTag {
  return {
    tag: "!function",
    resolve(value: string): FunctionRef {
      const parts = value.trim().split(".");
      const name = parts.pop() ?? "";
      const module = resolve(dirname(file), `${parts.join(".")}.py`);
      return { kind: "function", spec: value.trim(), module, name, file, line: 1, col: 1 };
    },
  };
}

/** Parse YAML text with positions and lm-eval's `!function` tag. */
function parseWithTags(file: string, text: string, lines: LineCounter): Document {
  const doc = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: true,
    uniqueKeys: true,
    customTags: [functionTag(file)],
  });
  visit(doc, {
    Scalar(_key, node, path) {
      if (node.tag === "!function" && typeof node.value === "object" && node.value !== null) {
        // positioned at the key the hook is the value of (as every task file issue is)
        const parent = path[path.length - 1];
        const offset = isPair(parent) ? rangeStart(parent.key) : undefined;
        const at = lines.linePos(offset ?? node.range?.[0] ?? 0);
        Object.assign(node.value, { line: at.line, col: at.col });
      }
    },
  });
  return doc;
}

/** One parsed YAML file. */
export interface YamlSource {
  /** Absolute path. */
  file: string;
  /** The parsed document, with node ranges. */
  doc: Document;
  /** Offsets to lines and columns. */
  lines: LineCounter;
  /** The document as plain data. */
  data: Record<string, unknown>;
}

/** The merged keys of a task file and its includes, with the file each key came from. */
export interface MergedTask {
  /** The task file (absolute path). */
  file: string;
  /** The task file itself, parsed. */
  top: YamlSource;
  /** Every key, includes applied (the including file's keys win). */
  data: Record<string, unknown>;
  /** For each key of `data`, the file that set it. */
  owners: Map<string, YamlSource>;
  /** Absolute paths of the included files, base first. */
  includes: string[];
}

/** A 1-based position in a file. */
export interface Position {
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  col: number;
}

/**
 * Parse one YAML task file with positions. Malformed YAML, an empty file, a file that is not a
 * mapping, or a custom YAML tag throws a {@linkcode TaskFileError} with the position.
 */
export function readYaml(file: string, stamps: FileStamps): YamlSource {
  const text = stamps.readText(file);
  const lines = new LineCounter();
  const doc = parseWithTags(file, text, lines);
  const issues: TaskIssue[] = doc.errors.map((err) => {
    const pos = err.linePos?.[0] ?? { line: 1, col: 1 };
    const what = err.message.split(" at line ")[0].split("\n")[0];
    return issueAt(
      file,
      pos.line,
      pos.col,
      "",
      `invalid YAML (${what}); fix the syntax at this position`,
    );
  });
  if (issues.length) throw new TaskFileError(issues);
  const src: YamlSource = { file, doc, lines, data: {} };
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    throw new TaskFileError([
      issueAt(
        file,
        1,
        1,
        "",
        "the file is empty; write the task's keys (task:, dataset_path:, doc_to_text: …)",
      ),
    ]);
  }
  if (!isMap(doc.contents)) {
    const p = positionOf(src, []);
    throw new TaskFileError([
      issueAt(
        file,
        p.line,
        p.col,
        "",
        "a task file must be a mapping of keys (task:, dataset_path:, …), not a list or a value",
      ),
    ]);
  }
  const tagIssues = customTagIssues(src);
  if (tagIssues.length) throw new TaskFileError(tagIssues);
  src.data = doc.toJS() as Record<string, unknown>;
  return src;
}

/**
 * One issue per custom YAML tag other than `!function` (`!something`), at the key its value
 * belongs to. Standard tags (`!!str`, …) are fine; where `!function` may appear is checked when the
 * task is validated.
 */
export function customTagIssues(src: YamlSource): TaskIssue[] {
  const issues: TaskIssue[] = [];
  visit(src.doc, (_key, node, path) => {
    const tag = (node as { tag?: string }).tag;
    if (
      typeof tag === "string" && tag.startsWith("!") && !tag.startsWith("!!") && tag !== "!function"
    ) {
      // Point at the key the tagged value belongs to, and name its dotted path.
      const field: (string | number)[] = [];
      const chain = [...path, node];
      chain.forEach((p, i) => {
        if (isPair(p) && isScalar(p.key)) field.push(String(p.key.value));
        else if (isSeq(p)) field.push(p.items.indexOf(chain[i + 1] as never));
      });
      const parent = path[path.length - 1];
      const offset = isPair(parent) ? rangeStart(parent.key) : rangeStart(node);
      const pos = src.lines.linePos(offset ?? 0);
      const what = `YAML tag ${tag} is not supported; remove it (lm-eval's !function is)`;
      issues.push(issueAt(src.file, pos.line, pos.col, field.join("."), what));
    }
  });
  return issues;
}

/** Position of a key (`key: true`) or value at `path`, or of its nearest existing ancestor. */
export function positionOf(
  src: YamlSource,
  path: readonly (string | number)[],
  key = false,
): Position {
  let node: unknown = src.doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) =>
        isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg)
      );
      if (!pair) break;
      if (last && key) {
        offset = rangeStart(pair.key) ?? offset;
        break;
      }
      node = pair.value;
      offset = rangeStart(node) ?? rangeStart(pair.key) ?? offset;
    } else if (isSeq(node) && typeof seg === "number" && seg < node.items.length) {
      node = node.items[seg];
      offset = rangeStart(node) ?? offset;
    } else {
      break;
    }
  }
  return src.lines.linePos(offset);
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range ? range[0] : undefined;
}

/**
 * Read a task file and the files it includes, and merge their keys: paths are relative to the
 * including file, the including file's keys win, and in an include list earlier entries win
 * over later ones (lm-eval's rule). A missing file or a cycle throws with the include's position.
 */
export function mergeIncludes(file: string, stamps: FileStamps, stack: string[] = []): MergedTask {
  const src = readYaml(file, stamps);
  const merged: MergedTask = { file, top: src, data: {}, owners: new Map(), includes: [] };
  const include = src.data.include;
  if (include !== undefined) {
    const list = includeList(src, include);
    list.forEach((rel, i) => {
      const target = resolve(dirname(file), rel);
      const at = positionOf(src, typeof include === "string" ? ["include"] : ["include", i]);
      if (!stamps.isFile(target)) {
        throw new TaskFileError([
          issueAt(
            file,
            at.line,
            at.col,
            "include",
            `included file ${displayPath(target)} not found; paths are relative to ${
              displayPath(dirname(file))
            }`,
          ),
        ]);
      }
      const chain = [...stack, file];
      if (chain.includes(target)) {
        const cycle = [...chain.slice(chain.indexOf(target)), target].map(displayPath).join(" -> ");
        throw new TaskFileError([
          issueAt(
            file,
            at.line,
            at.col,
            "include",
            `include cycle: ${cycle}; remove one of these includes`,
          ),
        ]);
      }
    });
    for (const rel of [...list].reverse()) {
      const base = mergeIncludes(resolve(dirname(file), rel), stamps, [...stack, file]);
      for (const [k, v] of Object.entries(base.data)) {
        merged.data[k] = v;
        merged.owners.set(k, base.owners.get(k)!);
      }
      merged.includes.push(...base.includes.filter((f) => !merged.includes.includes(f)), base.file);
    }
  }
  for (const [k, v] of Object.entries(src.data)) {
    if (k === "include") continue;
    merged.data[k] = v;
    merged.owners.set(k, src);
  }
  return merged;
}

/** The `include:` value as a list of paths, or an error at its position. */
function includeList(src: YamlSource, include: unknown): string[] {
  if (typeof include === "string") return [include];
  if (Array.isArray(include) && include.every((x) => typeof x === "string")) return include;
  const p = positionOf(src, ["include"]);
  throw new TaskFileError([
    issueAt(
      src.file,
      p.line,
      p.col,
      "include",
      "expected a file path (or a list of paths); write e.g. include: _base.yaml",
    ),
  ]);
}

/** What can be read of a task file that does not validate: its name and tags, and where `task:` is. */
export interface TaskPeek {
  /** `task:`, or the file name without its extension when the file does not say. */
  name: string;
  /** `tag:` and `group:` names found. */
  tags: string[];
  /** Position of the `task:` key (1:1 when there is none). */
  at: Position;
}

/**
 * The name, tags and `task:` position of a task file, read as leniently as possible (includes
 * merged when they can be, else the file alone, else nothing but its file name), so that a
 * broken file can still be named in listings and found by the name it was meant to have.
 */
export function peekTask(file: string, stamps: FileStamps): TaskPeek {
  const fallback: TaskPeek = {
    name: basename(file, extname(file)),
    tags: [],
    at: { line: 1, col: 1 },
  };
  let data: Record<string, unknown> | undefined;
  let top: YamlSource | undefined;
  try {
    const merged = mergeIncludes(file, stamps);
    data = merged.data;
    top = merged.top;
  } catch {
    try {
      const lines = new LineCounter();
      const doc = parseWithTags(file, stamps.readText(file), lines);
      if (isMap(doc.contents)) {
        top = { file, doc, lines, data: {} };
        data = Object.fromEntries(
          doc.contents.items.flatMap((p) =>
            isPair(p) && isScalar(p.key) && isScalar(p.value)
              ? [[String(p.key.value), p.value.value]]
              : isPair(p) && isScalar(p.key) && isSeq(p.value)
              ? [[String(p.key.value), p.value.items.map((x) => isScalar(x) ? x.value : x)]]
              : []
          ),
        );
      }
    } catch {
      // unreadable: fall back to the file name
    }
  }
  if (!data || !top) return fallback;
  const tags = [data.tag, data.group].flatMap((v) =>
    typeof v === "string" ? [v] : Array.isArray(v) ? v.filter((x) => typeof x === "string") : []
  );
  const name = typeof data.task === "string" && data.task !== "" ? data.task : fallback.name;
  return { name, tags, at: positionOf(top, ["task"], true) };
}
