/**
 * The one place tunebook talks to the Hugging Face Hub: download dataset splits and single files
 * (GGUF models, adapters) into the standard Hugging Face cache, shared with Python's
 * `huggingface_hub`, `transformers` and `datasets`.
 *
 * Files land in `<cache>/<datasets|models>--owner--name/snapshots/<commit>/<path>` (symlinks into
 * `blobs/`), and `refs/<revision>` records the commit each revision resolved to. A file already in
 * the cache is never downloaded again; with `HF_HUB_OFFLINE=1`, or when the Hub cannot be reached,
 * the cache alone answers.
 *
 * Environment: `HF_ENDPOINT` (Hub URL), `HF_TOKEN` (access token), `HF_HUB_CACHE` / `HF_HOME`
 * (cache location), `HF_HUB_OFFLINE` (no network).
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { hubCacheDir } from "./mod.ts";
 * const dir = hubCacheDir(); // e.g. /home/me/.cache/huggingface/hub
 * ok(dir === Deno.env.get("HF_HUB_CACHE") || dir.endsWith("hub"));
 * ```
 * @module
 */
import { datasetInfo, downloadFileToCacheDir, listFiles, modelInfo } from "@huggingface/hub";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { readRef, repoFolderName, snapshotFiles, writeRef } from "./_cache.ts";
import { locateParquetSplit, locateRepoSplit, type SplitMatch } from "./_splits.ts";

/** How to reach the Hub and where to cache what comes from it. */
export interface HubOptions {
  /** Hub base URL. Default: env `HF_ENDPOINT`, else `"https://huggingface.co"`. */
  hubUrl?: string;
  /** Access token for private or gated repos. Default: env `HF_TOKEN`. */
  accessToken?: string;
  /** Cache folder. Default: {@linkcode hubCacheDir} (`HF_HUB_CACHE`, `$HF_HOME/hub`, `~/.cache/huggingface/hub`). */
  cacheDir?: string;
  /** Branch, tag or commit to read. Default: `"main"`. */
  revision?: string;
  /** The fetch to use (proxies, tests). Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** Use only the cache, never the network. Default: env `HF_HUB_OFFLINE` is `1`, `true`, `yes` or `on`. */
  offline?: boolean;
}

/** Which dataset split to download. */
export interface DatasetFilesOptions extends HubOptions {
  /** Dataset config (subset) name. Default: the card's default config, `"default"`, or the only one. */
  config?: string;
  /** Split name, as the Hub names it: `"train"`, `"validation"`, `"test"`, … */
  split: string;
}

/** Which repo a single file comes from. */
export interface FileOptions extends HubOptions {
  /** Kind of repo. Default: `"model"`. */
  repoType?: "model" | "dataset";
}

/** What went wrong talking to the Hub; `kind` lets callers react without parsing text. */
export type HubErrorKind =
  | "not_found"
  | "unauthorized"
  | "gated"
  | "revision_not_found"
  | "file_not_found"
  | "no_split"
  | "unreachable"
  | "offline"
  | "http";

/**
 * An error from the Hub or the cache, with a message that says what to do.
 *
 * @example
 * ```ts
 * import { ok, strictEqual } from "node:assert/strict";
 * import { HubError } from "./mod.ts";
 * const err = new HubError("no_split", 'Dataset "a/b" has no split "dev".');
 * strictEqual(err.kind, "no_split");
 * ok(err instanceof Error);
 * ```
 */
export class HubError extends Error {
  /** What went wrong. */
  readonly kind: HubErrorKind;
  /** HTTP status, when the Hub answered. */
  readonly status?: number;
  /** The URL requested, when there was a request. */
  readonly url?: string;

  /** Build an error of `kind`; `extra` carries the HTTP status, URL and cause when known. */
  constructor(
    kind: HubErrorKind,
    message: string,
    extra: { status?: number; url?: string; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = "HubError";
    this.kind = kind;
    this.status = extra.status;
    this.url = extra.url;
  }
}

/** The branch where the Hub keeps its automatic Parquet conversion of every dataset. */
const PARQUET_REVISION = "refs/convert/parquet";
const DEFAULT_HUB_URL = "https://huggingface.co";

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env: behave as if unset
  }
}

/**
 * The standard Hugging Face hub cache folder: `HF_HUB_CACHE`, else `HUGGINGFACE_HUB_CACHE`,
 * else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`
 * (the same rules as Python's `huggingface_hub`).
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { hubCacheDir } from "./mod.ts";
 * const dir = hubCacheDir();
 * // HF_HUB_CACHE when set, else $HF_HOME/hub, else ~/.cache/huggingface/hub
 * ok(dir === Deno.env.get("HF_HUB_CACHE") || dir.endsWith("hub"));
 * ```
 */
export function hubCacheDir(): string {
  const explicit = env("HF_HUB_CACHE") ?? env("HUGGINGFACE_HUB_CACHE");
  if (explicit) return explicit;
  const home = env("HF_HOME") ??
    join(env("XDG_CACHE_HOME") ?? join(homedir(), ".cache"), "huggingface");
  return join(home, "hub");
}

interface Resolved {
  hubUrl: string;
  token?: string;
  cacheDir: string;
  revision: string;
  fetch: typeof fetch;
  offline: boolean;
}

function resolveOptions(o: HubOptions): Resolved {
  const revision = o.revision ?? "main";
  if (revision.split("/").includes("..") || revision.startsWith("/")) {
    throw new HubError(
      "revision_not_found",
      `Invalid revision "${revision}": use a branch, tag or commit id.`,
    );
  }
  return {
    hubUrl: (o.hubUrl ?? env("HF_ENDPOINT") ?? DEFAULT_HUB_URL).replace(/\/+$/, ""),
    token: o.accessToken ?? env("HF_TOKEN"),
    cacheDir: o.cacheDir ?? hubCacheDir(),
    revision,
    fetch: o.fetch ?? globalThis.fetch,
    offline: o.offline ?? /^(1|true|yes|on)$/i.test(env("HF_HUB_OFFLINE") ?? ""),
  };
}

function checkRepoName(repo: string, type: "model" | "dataset"): void {
  if (!/^(?:[\w.-]+\/)?[\w.-]+$/.test(repo) || repo.split("/").includes("..")) {
    throw new HubError(
      "not_found",
      `"${repo}" is not a Hub ${type} repo name; write it as owner/name (e.g. rajpurkar/squad).`,
    );
  }
}

interface Ctx {
  repo: string;
  type: "model" | "dataset";
  r: Resolved;
}

function repoPage(ctx: Ctx): string {
  return `${ctx.r.hubUrl}/${ctx.type === "dataset" ? "datasets/" : ""}${ctx.repo}`;
}

/** Turn a failed Hub response into a HubError that says what to do. */
async function httpError(resp: Response, url: string, ctx: Ctx): Promise<HubError> {
  const code = resp.headers.get("x-error-code") ?? "";
  let detail = "";
  try {
    const text = await resp.text();
    try {
      const json = JSON.parse(text);
      detail = String(json.error ?? json.message ?? "");
    } catch {
      detail = text;
    }
  } catch { /* body unreadable: the status says enough */ }
  detail = detail.trim().slice(0, 200);
  const status = resp.status;
  const extra = { status, url };
  const what = `${ctx.type} repo "${ctx.repo}"`;
  if (
    code === "RepoNotFound" ||
    (status === 404 && !code && /\/api\/\w+s\/[^/]+(\/[^/]+)?\/revision\//.test(url))
  ) {
    return new HubError(
      "not_found",
      `The ${what} was not found on ${ctx.r.hubUrl} (HTTP ${status}). Check the name (owner/name); ` +
        `if the repo is private, set HF_TOKEN to a token that can read it.`,
      extra,
    );
  }
  if (code === "GatedRepo") {
    return new HubError(
      "gated",
      `The ${what} is gated (HTTP ${status}): accept its conditions at ${
        repoPage(ctx)
      } while logged in, ` +
        `then set HF_TOKEN to a read token of that account (https://huggingface.co/settings/tokens).`,
      extra,
    );
  }
  if (status === 401 || status === 403) {
    return new HubError(
      "unauthorized",
      `The Hub refused access to the ${what} (HTTP ${status}${detail ? `: ${detail}` : ""}). ` +
        (ctx.r.token
          ? "The token in HF_TOKEN (or accessToken) was rejected or cannot read this repo; check it."
          : "Set HF_TOKEN to a token that can read it (https://huggingface.co/settings/tokens)."),
      extra,
    );
  }
  if (code === "RevisionNotFound") {
    return new HubError(
      "revision_not_found",
      `The ${what} has no revision "${ctx.r.revision}" (HTTP ${status}). ` +
        `Use an existing branch, tag or commit (the default is "main").`,
      extra,
    );
  }
  if (code === "EntryNotFound") {
    return new HubError(
      "file_not_found",
      `File not found in the ${what}: ${url} (HTTP ${status}).`,
      extra,
    );
  }
  return new HubError(
    "http",
    `The Hub answered HTTP ${status} for ${url}${detail ? `: ${detail}` : ""}. ` +
      `Try again later; if it persists, check HF_ENDPOINT (now ${ctx.r.hubUrl}).`,
    extra,
  );
}

/** A fetch that adds the token and turns failures into HubErrors, for @huggingface/hub to use. */
function hubFetch(ctx: Ctx): typeof fetch {
  return async function (input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const url = input instanceof Request ? input.url : String(input);
    const headers = new Headers(init?.headers);
    if (ctx.r.token && !headers.has("authorization")) {
      headers.set("authorization", `Bearer ${ctx.r.token}`);
    }
    let resp: Response;
    try {
      resp = await ctx.r.fetch(input, { ...init, headers });
    } catch (e) {
      throw new HubError(
        "unreachable",
        `Cannot reach the Hugging Face Hub at ${ctx.r.hubUrl} (${(e as Error).message ?? e}).`,
        { url, cause: e },
      );
    }
    if (!resp.ok) throw await httpError(resp, url, ctx);
    if (headers.get("range") === "bytes=0-0") {
      // @huggingface/hub reads only the headers of its 1-byte size probe; drain the body here so
      // the connection is not left holding an unread response
      const body = await resp.arrayBuffer();
      return new Response(body, {
        status: resp.status,
        statusText: resp.statusText,
        headers: resp.headers,
      });
    }
    return resp;
  };
}

/** Resolve a revision to its commit id and record it under `refs/`. */
async function resolveCommit(ctx: Ctx, storage: string, revision: string): Promise<string> {
  const params = {
    name: ctx.repo,
    revision,
    hubUrl: ctx.r.hubUrl,
    fetch: hubFetch(ctx),
    additionalFields: ["sha" as const],
  };
  const info = ctx.type === "dataset" ? await datasetInfo(params) : await modelInfo(params);
  const sha = (info as { sha?: unknown }).sha;
  if (typeof sha !== "string" || !/^[0-9a-f]{40}$/.test(sha)) {
    throw new HubError(
      "http",
      `The Hub gave no commit id for revision "${revision}" of the ${ctx.type} repo "${ctx.repo}" ` +
        `(at ${ctx.r.hubUrl}); check HF_ENDPOINT.`,
    );
  }
  writeRef(storage, revision, sha);
  return sha;
}

/** Every file path of the repo at `commit`. */
async function listRepoFiles(ctx: Ctx, commit: string): Promise<string[]> {
  const out: string[] = [];
  for await (
    const entry of listFiles({
      repo: { type: ctx.type, name: ctx.repo },
      revision: commit,
      recursive: true,
      hubUrl: ctx.r.hubUrl,
      fetch: hubFetch(ctx),
    })
  ) {
    if (entry.type === "file") out.push(entry.path);
  }
  return out.sort();
}

/** Download one file at `commit` into the cache (no request at all when it is already there). */
async function fetchToCache(ctx: Ctx, path: string, commit: string): Promise<string> {
  try {
    return await downloadFileToCacheDir({
      repo: { type: ctx.type, name: ctx.repo },
      path,
      revision: commit,
      cacheDir: ctx.r.cacheDir,
      hubUrl: ctx.r.hubUrl,
      fetch: hubFetch(ctx),
    });
  } catch (e) {
    if (e instanceof HubError) throw e;
    if (e instanceof Error && /cannot get path info/.test(e.message)) {
      throw new HubError(
        "file_not_found",
        `"${path}" is not in the ${ctx.type} repo "${ctx.repo}" at revision ${ctx.r.revision} ` +
          `(${ctx.r.hubUrl}); check the file name against ${repoPage(ctx)}/tree/${ctx.r.revision}.`,
      );
    }
    // a failure mid-stream arrives as a bare reason, not an Error
    throw new HubError(
      "http",
      `Downloading "${path}" from the ${ctx.type} repo "${ctx.repo}" failed: ${
        e instanceof Error ? e.message : e
      }. ` +
        `Try again; a partial file is left as *.incomplete in ${ctx.r.cacheDir} and is safe to delete.`,
      { cause: e },
    );
  }
}

interface CacheHit {
  files?: string[];
  available: string[];
}

/** Look a split up in the cache only. */
function splitFromCache(
  storage: string,
  revision: string,
  config: string | undefined,
  split: string,
): CacheHit {
  const available: string[] = [];
  const tryBranch = (rev: string, locate: (paths: string[], readme?: string) => SplitMatch) => {
    const commit = readRef(storage, rev);
    if (!commit) return undefined;
    const paths = snapshotFiles(storage, commit);
    const dir = join(storage, "snapshots", commit);
    const readme = paths.includes("README.md")
      ? readFileSync(join(dir, "README.md"), "utf8")
      : undefined;
    const m = locate(paths, readme);
    available.push(...m.available);
    return m.files.length ? m.files.map((f) => join(dir, f)) : undefined;
  };
  const files = tryBranch(revision, (p, readme) => locateRepoSplit(p, readme, config, split)) ??
    (revision === "main"
      ? tryBranch(PARQUET_REVISION, (p) => locateParquetSplit(p, config, split))
      : undefined);
  return { files, available: [...new Set(available)] };
}

function splitLabel(config: string | undefined, split: string): string {
  return `split "${split}"${config ? ` (config "${config}")` : ""}`;
}

async function splitOnline(
  ctx: Ctx,
  storage: string,
  config: string | undefined,
  split: string,
): Promise<string[]> {
  const download = async (files: string[], commit: string) => {
    const out: string[] = [];
    for (const f of files) out.push(await fetchToCache(ctx, f, commit));
    return out;
  };
  // 1. the repo's own data files, at the requested revision
  const commit = await resolveCommit(ctx, storage, ctx.r.revision);
  const paths = await listRepoFiles(ctx, commit);
  const readme = paths.includes("README.md")
    ? readFileSync(await fetchToCache(ctx, "README.md", commit), "utf8")
    : undefined;
  const own = locateRepoSplit(paths, readme, config, split);
  if (own.files.length) return await download(own.files, commit);

  // 2. the Hub's Parquet conversion (it mirrors main, so only for main)
  let converted: SplitMatch = { files: [], available: [] };
  if (ctx.r.revision === "main") {
    let convCommit: string | undefined;
    try {
      convCommit = await resolveCommit(ctx, storage, PARQUET_REVISION);
    } catch (e) {
      const absent = e instanceof HubError &&
        (e.kind === "revision_not_found" || e.kind === "not_found");
      if (!absent) throw e;
    }
    if (convCommit) {
      converted = locateParquetSplit(await listRepoFiles(ctx, convCommit), config, split);
      if (converted.files.length) return await download(converted.files, convCommit);
    }
  }

  const available = [...new Set([...own.available, ...converted.available])];
  const shown = paths.slice(0, 20).join(", ") +
    (paths.length > 20 ? `, … (${paths.length} files)` : "");
  throw new HubError(
    "no_split",
    `Dataset "${ctx.repo}" has no ${splitLabel(config, split)} on ${ctx.r.hubUrl}` +
      (ctx.r.revision !== "main" ? ` at revision ${ctx.r.revision}` : "") + ". " +
      (available.length
        ? `Available (config/split): ${
          available.join(", ")
        }; pass one of those as split (and config).`
        : `It has no data files tunebook can read (Parquet, JSONL, JSON, CSV, TSV); its files: ${
          shown || "none"
        }.`),
  );
}

/**
 * Download the data files of one split of a Hub dataset into the cache and return their local
 * paths (in `snapshots/<commit>/`, sorted by name).
 *
 * Where the split is looked for, in order:
 * 1. the repo's own data files at `revision`, as the `datasets` library finds them: the card's
 *    `configs:` (`data_files` with `split`/`path` globs), else `data/<split>-00000-of-00001.parquet`
 *    shards, else split words in folder names (`train/`, `dev/`) or file names (`test.jsonl`,
 *    `my_valid.csv`), else every data file as `train`;
 * 2. when `revision` is `main`, the Hub's Parquet conversion on branch `refs/convert/parquet`:
 *    `<config>/<split>/0000.parquet` (or `partial-<split>/` for very large datasets).
 *
 * Offline (`HF_HUB_OFFLINE=1`), or when the Hub cannot be reached, the same search runs over what
 * the cache holds. Errors are {@linkcode HubError}s: `not_found`, `gated`, `unauthorized`,
 * `no_split` (listing the splits that do exist), `unreachable`, `offline`.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { downloadDatasetFiles } from "./mod.ts";
 * // Not called here (no network in doc tests); in a notebook:
 * async function squadValidation(): Promise<string[]> {
 *   return await downloadDatasetFiles("rajpurkar/squad", { split: "validation" });
 * }
 * strictEqual(typeof squadValidation, "function");
 * ```
 */
export async function downloadDatasetFiles(
  repo: string,
  options: DatasetFilesOptions,
): Promise<string[]> {
  checkRepoName(repo, "dataset");
  const r = resolveOptions(options);
  const { config, split } = options;
  if (!split) {
    throw new HubError(
      "no_split",
      `No split given for dataset "${repo}": pass split ("train", "test", …).`,
    );
  }
  const ctx: Ctx = { repo, type: "dataset", r };
  const storage = join(r.cacheDir, repoFolderName("dataset", repo));
  if (r.offline) {
    const hit = splitFromCache(storage, r.revision, config, split);
    if (hit.files) return hit.files;
    throw new HubError(
      "offline",
      `Offline (HF_HUB_OFFLINE is set) and the ${
        splitLabel(config, split)
      } of dataset "${repo}" is not in ` +
        `the cache at ${storage}` +
        (hit.available.length ? ` (cached: ${hit.available.join(", ")})` : "") +
        `. Unset HF_HUB_OFFLINE to download it, or use a local file path as the dataset source.`,
    );
  }
  try {
    return await splitOnline(ctx, storage, config, split);
  } catch (e) {
    if (!(e instanceof HubError && e.kind === "unreachable")) throw e;
    const hit = splitFromCache(storage, r.revision, config, split);
    if (hit.files) return hit.files;
    throw new HubError(
      "unreachable",
      `${e.message} The ${
        splitLabel(config, split)
      } of dataset "${repo}" is not in the cache at ${storage} ` +
        `either. Check the network (or HF_ENDPOINT), or use a local JSONL/CSV/Parquet path instead of hf:${repo}.`,
      { url: e.url, cause: e },
    );
  }
}

/**
 * Download one file of a Hub repo (a GGUF model, a LoRA adapter, a tokenizer) into the cache and
 * return its local path (`snapshots/<commit>/<path>`). Already cached: no download. Offline or Hub
 * unreachable: the cached copy of the revision, if any.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { downloadFile } from "./mod.ts";
 * // Not called here (no network in doc tests); in a notebook:
 * async function fetchGguf(): Promise<string> {
 *   return await downloadFile("Qwen/Qwen2.5-0.5B-Instruct-GGUF", "qwen2.5-0.5b-instruct-q4_k_m.gguf", {});
 * }
 * strictEqual(typeof fetchGguf, "function");
 * ```
 */
export async function downloadFile(
  repo: string,
  path: string,
  options: FileOptions = {},
): Promise<string> {
  const type = options.repoType ?? "model";
  checkRepoName(repo, type);
  const r = resolveOptions(options);
  const ctx: Ctx = { repo, type, r };
  const storage = join(r.cacheDir, repoFolderName(type, repo));
  const cached = () => {
    const commit = readRef(storage, r.revision);
    return commit && snapshotFiles(storage, commit).includes(path)
      ? join(storage, "snapshots", commit, path)
      : undefined;
  };
  if (r.offline) {
    const hit = cached();
    if (hit) return hit;
    throw new HubError(
      "offline",
      `Offline (HF_HUB_OFFLINE is set) and "${path}" of the ${type} repo "${repo}" (revision ${r.revision}) is ` +
        `not in the cache at ${storage}. Unset HF_HUB_OFFLINE to download it, or pass a local file path.`,
    );
  }
  try {
    const commit = await resolveCommit(ctx, storage, r.revision);
    return await fetchToCache(ctx, path, commit);
  } catch (e) {
    if (!(e instanceof HubError && e.kind === "unreachable")) throw e;
    const hit = cached();
    if (hit) return hit;
    throw new HubError(
      "unreachable",
      `${e.message} "${path}" of the ${type} repo "${repo}" is not in the cache at ${storage} either. ` +
        `Check the network (or HF_ENDPOINT), or pass a local file path instead.`,
      { url: e.url, cause: e },
    );
  }
}
