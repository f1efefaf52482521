/**
 * The container files, checked without a Docker engine: the Dockerfile is validated by
 * dockerfile-utils (the linter behind VS Code's Docker support) and parsed with dockerfile-ast
 * to assert what the image relies on; compose.yaml and .dockerignore are checked against it.
 * (tests/model/serve_cli_test.ts runs the Dockerfile's own command line against the tiny model.)
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { DockerfileParser, type JSONInstruction } from "dockerfile-ast";
import { validate } from "dockerfile-utils";
import { parse as parseYaml } from "yaml";
import { DEFAULT_MODEL } from "../../lib/llm/model.ts";
import { SERVE_DENO_FLAGS } from "../../lib/serve/server_process.ts";

const text = readFileSync("Dockerfile", "utf8");
const dockerfile = DockerfileParser.parse(text);
const instructions = dockerfile.getInstructions();
const keyword = (k: string) => instructions.filter((i) => i.getKeyword() === k);
const args = (k: string) => keyword(k).map((i) => i.getArguments().map((a) => a.getValue()));
/** The ENTRYPOINT's exec-form argument list. */
const entrypoint = (dockerfile.getENTRYPOINTs()[0] as JSONInstruction | undefined)
  ?.getJSONStrings().map((s) => s.getJSONValue()) ?? [];

Deno.test("Dockerfile: the linter finds no error or warning", () => {
  const problems = validate(text).map((d) =>
    `Dockerfile:${d.range.start.line + 1}: ${d.message} (severity ${d.severity})`
  );
  assert.deepEqual(problems, []);
  assert.deepEqual(
    instructions.map((i) => i.getKeyword()).filter((k) => !KNOWN.has(k)),
    [],
    "only standard instructions",
  );
});

const KNOWN = new Set([
  "ARG",
  "FROM",
  "WORKDIR",
  "RUN",
  "USER",
  "COPY",
  "ENV",
  "EXPOSE",
  "STOPSIGNAL",
  "HEALTHCHECK",
  "ENTRYPOINT",
  "CMD",
]);

Deno.test("Dockerfile: pinned Deno image, same version as the project's", () => {
  const from = dockerfile.getFROMs();
  assert.equal(from.length, 1);
  assert.equal(from[0].getImageName(), "denoland/deno");
  const arg = dockerfile.getARGs().find((a) => a.getProperty()?.getName() === "DENO_VERSION");
  const version = arg?.getProperty()?.getValue();
  const projectVersion = readFileSync("scripts/test.sh", "utf8").match(/deno@(\d+\.\d+\.\d+)/)?.[1];
  assert.equal(version, projectVersion, "ARG DENO_VERSION = the version scripts/test.sh pins");
  assert.equal(from[0].getImageTag(), "debian-${DENO_VERSION}");
});

Deno.test("Dockerfile: frozen npm install as its own layer, then the code and the tiny model", () => {
  const order = instructions.map((i) => `${i.getKeyword()} ${i.getArgumentsContent()}`);
  const copyLock = order.findIndex((l) => /^COPY .*deno\.json deno\.lock/.test(l));
  const install = order.findIndex((l) => l === "RUN deno install --frozen");
  const copyLib = order.findIndex((l) => /^COPY .*lib\//.test(l));
  assert.ok(copyLock >= 0 && install > copyLock && copyLib > install, order.join("\n"));
  const copied = args("COPY").map((a) => a.filter((x) => !x.startsWith("--")));
  assert.ok(
    copied.some((a) => a[0] === DEFAULT_MODEL && a[1] === `./${DEFAULT_MODEL}`),
    `the bundled model (${DEFAULT_MODEL}) is copied to the same path`,
  );
  for (const a of copied) {
    for (const src of a.slice(0, -1)) assert.ok(existsSync(src), `${src} exists`);
  }
});

Deno.test("Dockerfile: runs the server as a non-root user on 0.0.0.0:8080, with a health check", () => {
  const user = args("USER").at(-1)?.[0];
  assert.ok(user && user !== "root" && user !== "0", `USER ${user}`);
  assert.deepEqual(args("EXPOSE"), [["8080"]]);
  assert.equal(entrypoint[0], "deno");
  assert.equal(entrypoint[1], "run");
  const script = entrypoint.find((a) => a.endsWith(".ts"));
  assert.equal(script, "lib/cli/serve.ts");
  assert.ok(existsSync(script!));
  const after = entrypoint.slice(entrypoint.indexOf(script!) + 1);
  assert.equal(after[after.indexOf("--host") + 1], "0.0.0.0");
  assert.equal(after[after.indexOf("--port") + 1], "8080");
  const health = keyword("HEALTHCHECK")[0]?.getArgumentsContent() ?? "";
  assert.match(health, /http:\/\/127\.0\.0\.1:8080\/health/);
  assert.deepEqual(args("STOPSIGNAL"), [["SIGTERM"]], "the server shuts down cleanly on SIGTERM");
});

Deno.test("the Dockerfile and `deno task serve` run the server with the server's Deno flags", () => {
  const script = entrypoint.indexOf("lib/cli/serve.ts");
  const dockerFlags = entrypoint.slice(2, script).filter((a) => !a.startsWith("--allow-"));
  assert.deepEqual(dockerFlags, [...SERVE_DENO_FLAGS], "Dockerfile ENTRYPOINT");
  const task = JSON.parse(readFileSync("deno.json", "utf8")).tasks.serve as string;
  const words = task.split(/\s+/);
  assert.deepEqual(
    words.slice(words.indexOf("run") + 1, words.indexOf("lib/cli/serve.ts")).filter((a) =>
      a !== "-A"
    ),
    [...SERVE_DENO_FLAGS],
    "deno.json tasks.serve",
  );
});

Deno.test("compose.yaml builds this Dockerfile and publishes the port on the host's loopback only", () => {
  const compose = parseYaml(readFileSync("compose.yaml", "utf8"));
  const services = Object.values(compose.services) as Record<string, unknown>[];
  assert.equal(services.length, 1);
  const svc = services[0];
  assert.equal(svc.build, ".");
  assert.deepEqual(svc.ports, ["127.0.0.1:8080:8080"]);
  assert.ok(Array.isArray(svc.command), "exec-form arguments appended to the ENTRYPOINT");
  assert.ok("TUNEBOOK_API_KEY" in (svc.environment as Record<string, string>));
});

Deno.test(".dockerignore keeps the context to what the Dockerfile copies", () => {
  const lines = readFileSync(".dockerignore", "utf8").split("\n").map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  assert.equal(lines[0], "*", "an allowlist: everything else is ignored (node_modules, .cache, …)");
  const allowed = lines.slice(1).map((l) => l.replace(/^!/, ""));
  const copied = args("COPY").flatMap((a) => a.filter((x) => !x.startsWith("--")).slice(0, -1));
  for (const src of copied) assert.ok(allowed.includes(src), `${src} is in the build context`);
});
