/**
 * A fake Hugging Face Hub for tests: a Deno.serve server on 127.0.0.1 answering the endpoints
 * @huggingface/hub calls, with the real Hub's headers and error codes (see hub_test.ts).
 */
import { createHash } from "node:crypto";

export interface FakeFile {
  bytes: Uint8Array<ArrayBuffer>;
  lfs: boolean;
}
export interface FakeRepo {
  type: "dataset" | "model";
  gated?: boolean;
  /** with `gated`: the tokens whose account accepted the terms. Default: both tokens */
  granted?: string[];
  /** a private repo answers only callers with a token (401 RepoNotFound to others, as the Hub) */
  private?: boolean;
  /** revision name → commit id and files at that commit */
  branches: Record<string, { sha: string; files: Record<string, FakeFile> }>;
}

export const enc = new TextEncoder();
export const sha1 = (b: Uint8Array | string) => createHash("sha1").update(b).digest("hex");
export const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
/** git's blob id of some bytes */
export const gitOid = (b: Uint8Array) =>
  sha1(new Uint8Array([...enc.encode(`blob ${b.length}\0`), ...b]));
export const lfsPointer = (b: Uint8Array) =>
  enc.encode(
    `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(b)}\nsize ${b.length}\n`,
  );
export const TOKEN = "hf_fake_reader";
/** A token with write access: the only one create-repo and commit accept. */
export const WRITE_TOKEN = "hf_fake_writer";
/** The account both tokens belong to. */
export const USER = "tester";
export const MAX_REQUESTS = 200;

export function entryInfo(path: string, f: FakeFile, commit?: string) {
  const pointer = f.lfs ? lfsPointer(f.bytes) : f.bytes;
  return {
    type: "file",
    path,
    oid: gitOid(pointer),
    size: f.bytes.length,
    ...(f.lfs &&
      { lfs: { oid: sha256(f.bytes), size: f.bytes.length, pointerSize: pointer.length } }),
    ...(commit &&
      { lastCommit: { id: commit, title: "Upload", date: "2024-01-01T00:00:00.000Z" } }),
  };
}

export function errorResponse(status: number, code: string, message: string): Response {
  return Response.json({ error: message }, { status, headers: { "X-Error-Code": code } });
}

/**
 * A fake Hub on 127.0.0.1:<free port>; `log` holds "METHOD path" of every request. Besides reads it
 * answers what huggingface_hub's `whoami`, `create_repo` and `create_commit` call:
 * GET /api/whoami-v2, POST /api/repos/create `{name, organization, private, type}` (409 when it
 * exists), POST /api/{models|datasets}/<repo>/commit/<rev> (NDJSON: a `header` line, then `file`
 * lines with base64 `content`); writes need {@linkcode WRITE_TOKEN}. Pushed repos land in `repos`.
 */
export function startFakeHub(repos: Record<string, FakeRepo>) {
  const log: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    log.push(`${req.method} ${url.pathname}`);
    if (log.length > MAX_REQUESTS) return new Response("too many requests", { status: 503 });
    const bearer = req.headers.get("authorization");
    const writer = bearer === `Bearer ${WRITE_TOKEN}`;
    if (url.pathname === "/api/whoami-v2") {
      if (bearer !== `Bearer ${TOKEN}` && !writer) {
        return errorResponse(401, "", "Invalid credentials in Authorization header");
      }
      return Response.json({
        type: "user",
        name: USER,
        auth: { type: "access_token", accessToken: { role: writer ? "write" : "read" } },
      });
    }
    if (url.pathname === "/api/repos/create" && req.method === "POST") {
      if (!writer) return errorResponse(401, "", "You must use a write token to create a repo");
      const body = await req.json() as {
        name: string;
        organization?: string;
        private?: boolean;
        type?: string;
      };
      const id = `${body.organization ?? USER}/${body.name}`;
      if (repos[id]) return errorResponse(409, "", "You already created this model repo");
      repos[id] = {
        type: body.type === "dataset" ? "dataset" : "model",
        private: body.private ?? false,
        branches: { main: { sha: sha1(`${id} empty`), files: {} } },
      };
      return Response.json({ url: `${url.origin}/${id}`, name: id });
    }
    const parts = url.pathname.split("/").slice(1);
    const api = parts[0] === "api";
    const seg = api ? parts.slice(1) : parts;
    const type = seg[0] === "datasets" ? "dataset" : "model";
    const rest = seg[0] === "datasets" || seg[0] === "models" ? seg.slice(1) : seg;
    const [owner, name, action, rawRev, ...pathParts] = rest;
    const repo = repos[`${owner}/${name}`];
    const authorized = bearer === `Bearer ${TOKEN}` || writer;
    if (!repo || repo.type !== type || (repo.private && !authorized)) {
      // like the Hub: 401 to anonymous callers (a private repo is not revealed), 404 otherwise
      return errorResponse(authorized ? 404 : 401, "RepoNotFound", "Repository not found");
    }
    const rev = decodeURIComponent(rawRev ?? "");
    const branch = repo.branches[rev] ?? Object.values(repo.branches).find((b) => b.sha === rev);
    if (!branch) return errorResponse(404, "RevisionNotFound", "Invalid rev id: " + rev);

    if (api && action === "revision" && req.method === "GET") {
      return Response.json({
        _id: "0123",
        id: `${owner}/${name}`,
        sha: branch.sha,
        private: repo.private ?? false,
        gated: repo.gated ? "auto" : false,
        downloads: 0,
        likes: 0,
        lastModified: "2024-01-01T00:00:00.000Z",
        siblings: Object.keys(branch.files).map((rfilename) => ({ rfilename })),
      });
    }
    if (api && action === "commit" && req.method === "POST") {
      if (!writer) return errorResponse(403, "", "You must use a write token to push");
      const files = { ...branch.files };
      for (const line of (await req.text()).split("\n")) {
        if (!line.trim()) continue;
        const { key, value } = JSON.parse(line) as {
          key: string;
          value: { path?: string; content?: string; encoding?: string };
        };
        if (key !== "file") continue;
        const bytes = Uint8Array.from(atob(value.content ?? ""), (c) => c.charCodeAt(0));
        files[value.path!] = { bytes, lfs: bytes.length > 1024 };
      }
      const sha = sha1(`${owner}/${name} ${Object.keys(files).sort().join(",")} ${log.length}`);
      repo.branches[rev] = { sha, files };
      return Response.json({
        commitOid: sha,
        commitUrl: `${url.origin}/${owner}/${name}/commit/${sha}`,
      });
    }
    if (api && action === "tree" && req.method === "GET") {
      const dir = pathParts.join("/");
      const recursive = url.searchParams.get("recursive") === "true";
      const entries: unknown[] = [];
      const dirs = new Set<string>();
      for (const [path, f] of Object.entries(branch.files).sort()) {
        if (dir && !path.startsWith(dir + "/")) continue;
        const rel = dir ? path.slice(dir.length + 1) : path;
        const slash = rel.indexOf("/");
        if (slash >= 0) {
          const sub = (dir ? dir + "/" : "") + rel.slice(0, slash);
          if (!dirs.has(sub)) {
            entries.push({ type: "directory", path: sub, oid: sha1(sub), size: 0 });
          }
          dirs.add(sub);
          if (!recursive) continue;
        }
        entries.push(entryInfo(path, f));
      }
      return Response.json(entries);
    }
    if (api && action === "paths-info" && req.method === "POST") {
      const body = await req.json() as { paths: string[]; expand?: boolean };
      return Response.json(
        body.paths.filter((p) => branch.files[p]).map((p) =>
          entryInfo(p, branch.files[p], body.expand ? branch.sha : undefined)
        ),
      );
    }
    if (!api && action === "resolve" && (req.method === "GET" || req.method === "HEAD")) {
      if (repo.gated && !authorized) {
        return errorResponse(
          401,
          "GatedRepo",
          "Access to this repo is restricted; you must be authenticated.",
        );
      }
      const granted = repo.granted ?? [TOKEN, WRITE_TOKEN];
      if (repo.gated && !granted.some((t) => bearer === `Bearer ${t}`)) {
        return errorResponse(
          403,
          "GatedRepo",
          "Access to this repo is restricted and you are not in the authorized list.",
        );
      }
      const f = branch.files[pathParts.map(decodeURIComponent).join("/")];
      if (!f) return errorResponse(404, "EntryNotFound", "Entry not found");
      const headers = new Headers({
        "Content-Type": "application/octet-stream",
        "Accept-Ranges": "bytes",
        "X-Repo-Commit": branch.sha,
        ETag: `"${gitOid(f.lfs ? lfsPointer(f.bytes) : f.bytes)}"`,
      });
      if (f.lfs) {
        headers.set("X-Linked-ETag", `"${sha256(f.bytes)}"`);
        headers.set("X-Linked-Size", String(f.bytes.length));
      }
      const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.get("range") ?? "");
      let status = 200;
      let body = f.bytes;
      if (range) {
        const start = Number(range[1]);
        const end = range[2] ? Math.min(Number(range[2]), f.bytes.length - 1) : f.bytes.length - 1;
        body = f.bytes.subarray(start, end + 1);
        status = 206;
        headers.set("Content-Range", `bytes ${start}-${end}/${f.bytes.length}`);
      }
      return new Response(req.method === "HEAD" ? null : body.slice(), { status, headers });
    }
    return errorResponse(404, "", "Not found");
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    log,
    stop: () => server.shutdown(),
  };
}
