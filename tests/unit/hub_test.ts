/**
 * lib/hub against a fake Hub: a Deno.serve server on 127.0.0.1 that answers the endpoints
 * @huggingface/hub calls, with the real Hub's headers and error codes:
 *
 * - GET  /api/{datasets|models}/<repo>/revision/<rev>      repo info incl. `sha` (rev URL-encoded)
 * - GET  /api/{datasets|models}/<repo>/tree/<rev>[/<dir>]  file listing (`?recursive=true`)
 * - POST /api/{datasets|models}/<repo>/paths-info/<rev>    `{paths, expand}` → oid / lfs / lastCommit
 * - GET|HEAD /[datasets/]<repo>/resolve/<rev>/<path>       file bytes; `Range` → 206 + Content-Range;
 *   ETag, X-Linked-ETag / X-Linked-Size (LFS), X-Repo-Commit
 * - errors: X-Error-Code RepoNotFound (401 anonymous, 404 with a token), RevisionNotFound and
 *   EntryNotFound (404), GatedRepo (401)
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import pl from "nodejs-polars";
import { existsSync, lstatSync, mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  downloadDatasetFiles,
  downloadFile,
  hubCacheDir,
  HubError,
  type HubOptions,
} from "../../lib/hub/mod.ts";
import { globToRegExp, locateParquetSplit, locateRepoSplit } from "../../lib/hub/_splits.ts";
import { loadRows } from "../../lib/data/load.ts";

// ---------------------------------------------------------------- the fake Hub

import {
  enc,
  type FakeFile,
  type FakeRepo,
  MAX_REQUESTS,
  sha1,
  sha256,
  startFakeHub,
  TOKEN,
} from "./_fake_hub.ts";

// ---------------------------------------------------------------- fixtures

function parquet(df: pl.DataFrame): FakeFile {
  return { bytes: new Uint8Array(df.writeParquet()), lfs: true };
}

/** SQuAD-shaped rows; answers built with pl.struct (struct values from JS objects are lost). */
function qaFrame(ids: string[]): pl.DataFrame {
  return pl.DataFrame({
    id: ids,
    question: ids.map((id) => `What is ${id}?`),
    text: ids.map((id) => [id.toUpperCase()]),
    answer_start: ids.map(() => [0]),
  }).select(
    pl.col("id"),
    pl.col("question"),
    pl.struct([pl.col("text"), pl.col("answer_start")]).alias("answers"),
  );
}

const text = (s: string): FakeFile => ({ bytes: enc.encode(s), lfs: false });
const MAIN_SHA = sha1("tiny-qa main");
const CONV_SHA = sha1("tiny-qa parquet");
const TRAIN_PARQUET = parquet(qaFrame(["a", "b", "c"]));
const TEST_PARQUET = parquet(qaFrame(["x", "y"]));
const GGUF = { bytes: enc.encode("GGUF\u0003 fake model bytes"), lfs: true };

const REPOS: Record<string, FakeRepo> = {
  "tunebook/tiny-qa": {
    type: "dataset",
    branches: {
      main: {
        sha: MAIN_SHA,
        files: {
          ".gitattributes": text("*.parquet filter=lfs diff=lfs merge=lfs -text\n"),
          "README.md": text("---\nlicense: mit\n---\n# tiny-qa\n"),
          "tiny_qa.py": text(
            "# a legacy loading script: the data lives in the parquet conversion\n",
          ),
        },
      },
      "refs/convert/parquet": {
        sha: CONV_SHA,
        files: {
          "default/train/0000.parquet": TRAIN_PARQUET,
          "default/test/0000.parquet": TEST_PARQUET,
        },
      },
    },
  },
  "tunebook/jsonl-qa": {
    type: "dataset",
    branches: {
      main: {
        sha: sha1("jsonl-qa main"),
        files: {
          "README.md": text(
            "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/train-*\n" +
              "  - split: test\n    path: data/test.jsonl\n---\n# jsonl-qa\n",
          ),
          "data/train-0.jsonl": text('{"q":"t1"}\n'),
          "data/train-1.jsonl": text('{"q":"t2"}\n'),
          "data/test.jsonl": text('{"q":"x1"}\n{bad\n{"q":"x2"}\n'),
        },
      },
    },
  },
  "tunebook/gated": {
    type: "dataset",
    gated: true,
    branches: {
      main: { sha: sha1("gated main"), files: { "test.jsonl": text('{"q":"secret"}\n') } },
    },
  },
  "tunebook/no-data": {
    type: "dataset",
    branches: {
      main: {
        sha: sha1("no-data main"),
        files: { "README.md": text("# soon\n"), "raw.txt": text("x\n") },
      },
    },
  },
  "tunebook/tiny-model": {
    type: "model",
    branches: {
      main: { sha: sha1("model main"), files: { "model.gguf": GGUF, "README.md": text("# m\n") } },
    },
  },
};

function tempCache(): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-hub-"));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

async function hubError(
  fn: () => Promise<unknown>,
  kind: string,
  ...parts: string[]
): Promise<HubError> {
  try {
    await fn();
  } catch (e) {
    assert(e instanceof HubError, `expected a HubError, got ${e}`);
    assertEquals(e.kind, kind, e.message);
    for (const p of parts) assert(e.message.includes(p), `expected "${p}" in: ${e.message}`);
    return e;
  }
  throw new Error("expected a rejection");
}

// ---------------------------------------------------------------- tests against the fake Hub

Deno.test("hub: dataset splits download into the standard cache and load offline", async (t) => {
  using cache = tempCache();
  const hub = startFakeHub(REPOS);
  // accessToken "" and offline false: the tester's HF_TOKEN / HF_HUB_OFFLINE must not leak in
  const opts: HubOptions = {
    hubUrl: hub.url,
    cacheDir: cache.dir,
    accessToken: "",
    offline: false,
  };
  const storage = join(cache.dir, "datasets--tunebook--tiny-qa");
  try {
    await t.step(
      "parquet conversion: files land in snapshots/<commit> as links into blobs",
      async () => {
        const paths = await downloadDatasetFiles("tunebook/tiny-qa", { ...opts, split: "test" });
        assertEquals(paths, [join(storage, "snapshots", CONV_SHA, "default/test/0000.parquet")]);
        assert(lstatSync(paths[0]).isSymbolicLink());
        assertEquals(
          realpathSync(paths[0]),
          realpathSync(join(storage, "blobs", sha256(TEST_PARQUET.bytes))),
        );
        assertEquals(readFileSync(join(storage, "refs", "main"), "utf8"), MAIN_SHA);
        assertEquals(
          readFileSync(join(storage, "refs", "refs", "convert", "parquet"), "utf8"),
          CONV_SHA,
        );
        assert(
          !existsSync(join(storage, "snapshots", CONV_SHA, "default/train")),
          "only the test split",
        );
      },
    );

    await t.step("loadRows(hf:…) reads them, nested answers included", async () => {
      const got = await loadRows("hf:tunebook/tiny-qa", { split: "test", hub: opts });
      assertEquals(got.rows, [
        { id: "x", question: "What is x?", answers: { text: ["X"], answer_start: [0] } },
        { id: "y", question: "What is y?", answers: { text: ["Y"], answer_start: [0] } },
      ]);
      assertEquals(got.columns, ["id", "question", "answers"]);
      assertEquals(got.source, "hf:tunebook/tiny-qa");
    });

    await t.step("a cached file is not downloaded again", async () => {
      const before = hub.log.length;
      await downloadDatasetFiles("tunebook/tiny-qa", { ...opts, split: "test" });
      const calls = hub.log.slice(before);
      assert(!calls.some((c) => c.includes("/resolve/")), calls.join("\n"));
    });

    await t.step(
      "README configs: globbed data files on main, malformed JSONL line reported",
      async () => {
        const got = await loadRows("hf:tunebook/jsonl-qa", { split: "train", hub: opts });
        assertEquals(got.rows, [{ q: "t1" }, { q: "t2" }]);
        const test = await loadRows("hf:tunebook/jsonl-qa", { split: "test", hub: opts });
        assertEquals(test.rows, [{ q: "x1" }, { q: "x2" }]);
        assertEquals(test.errors.map((e) => [e.row, e.raw]), [[2, "{bad"]]);
      },
    );

    await t.step("missing split lists the splits that exist", async () => {
      await hubError(
        () => downloadDatasetFiles("tunebook/tiny-qa", { ...opts, split: "validation" }),
        "no_split",
        'no split "validation"',
        "default/train, default/test",
      );
    });

    await t.step(
      "no readable data files and no parquet conversion: lists the repo's files",
      async () => {
        await hubError(
          () => downloadDatasetFiles("tunebook/no-data", { ...opts, split: "train" }),
          "no_split",
          "no data files tunebook can read",
          "README.md, raw.txt",
        );
      },
    );

    await t.step("unknown revision", async () => {
      await hubError(
        () => downloadDatasetFiles("tunebook/tiny-qa", { ...opts, split: "test", revision: "v9" }),
        "revision_not_found",
        'no revision "v9"',
      );
    });

    await t.step("unknown repo: not found, with the HF_TOKEN hint", async () => {
      await hubError(
        () => loadRows("hf:tunebook/nope", { split: "test", hub: opts }),
        "not_found",
        '"tunebook/nope" was not found',
        "HF_TOKEN",
      );
    });

    await t.step(
      "gated repo: says to accept the conditions and set HF_TOKEN; works with a token",
      async () => {
        await hubError(
          () => downloadDatasetFiles("tunebook/gated", { ...opts, split: "test" }),
          "gated",
          "HF_TOKEN",
          `${hub.url}/datasets/tunebook/gated`,
        );
        const got = await loadRows("hf:tunebook/gated", {
          split: "test",
          hub: { ...opts, accessToken: TOKEN },
        });
        assertEquals(got.rows, [{ q: "secret" }]);
      },
    );

    await t.step(
      "downloadFile: a model file in models--owner--name; a missing one named",
      async () => {
        const path = await downloadFile("tunebook/tiny-model", "model.gguf", opts);
        const sha = REPOS["tunebook/tiny-model"].branches.main.sha;
        assertEquals(
          path,
          join(cache.dir, "models--tunebook--tiny-model", "snapshots", sha, "model.gguf"),
        );
        assertEquals(new Uint8Array(readFileSync(path)), GGUF.bytes);
        await hubError(
          () => downloadFile("tunebook/tiny-model", "nope.gguf", opts),
          "file_not_found",
          '"nope.gguf" is not in the model repo "tunebook/tiny-model"',
        );
      },
    );
  } finally {
    await hub.stop();
  }
  assert(hub.log.length <= MAX_REQUESTS, `${hub.log.length} requests`);

  await t.step(
    "server stopped: the cache answers (unreachable Hub, then HF_HUB_OFFLINE)",
    async () => {
      const again = await loadRows("hf:tunebook/tiny-qa", { split: "test", hub: opts });
      assertEquals(again.rows.map((r) => r.id), ["x", "y"]);
      const offline = await loadRows("hf:tunebook/tiny-qa", {
        split: "test",
        hub: { ...opts, offline: true },
      });
      assertEquals(offline.rows.length, 2);
      const model = await downloadFile("tunebook/tiny-model", "model.gguf", {
        ...opts,
        offline: true,
      });
      assertEquals(new Uint8Array(readFileSync(model)), GGUF.bytes);
    },
  );

  await t.step(
    "server stopped, split not cached: says the Hub can't be reached and a local path works",
    async () => {
      await hubError(
        () => downloadDatasetFiles("tunebook/tiny-qa", { ...opts, split: "train" }),
        "unreachable",
        "Cannot reach the Hugging Face Hub",
        "local",
      );
      await hubError(
        () => downloadDatasetFiles("tunebook/tiny-qa", { ...opts, split: "train", offline: true }),
        "offline",
        "HF_HUB_OFFLINE",
        "cached: default/test",
      );
    },
  );
});

// ---------------------------------------------------------------- pure parts

Deno.test("hubCacheDir: HF_HUB_CACHE, then HF_HOME/hub, then ~/.cache/huggingface/hub", () => {
  const names = ["HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"];
  const saved = Object.fromEntries(names.map((n) => [n, Deno.env.get(n)]));
  try {
    for (const n of names) Deno.env.delete(n);
    assert(hubCacheDir().endsWith(join(".cache", "huggingface", "hub")), hubCacheDir());
    Deno.env.set("HF_HOME", "/tmp/hfhome");
    assertEquals(hubCacheDir(), "/tmp/hfhome/hub");
    Deno.env.set("HF_HUB_CACHE", "/tmp/hfcache");
    assertEquals(hubCacheDir(), "/tmp/hfcache");
  } finally {
    for (const n of names) saved[n] === undefined ? Deno.env.delete(n) : Deno.env.set(n, saved[n]!);
  }
});

Deno.test("split location: the datasets library's default patterns", () => {
  const loc = (paths: string[], split: string, readme?: string, config?: string) =>
    locateRepoSplit(paths, readme, config, split);
  // push_to_hub shards, any split name
  const sharded = [
    "README.md",
    "data/train-00000-of-00002.parquet",
    "data/train-00001-of-00002.parquet",
    "data/validation_matched-00000-of-00001.parquet",
  ];
  assertEquals(loc(sharded, "train").files, sharded.slice(1, 3));
  assertEquals(loc(sharded, "validation_matched").available, [
    "default/train",
    "default/validation_matched",
  ]);
  // split words in file names; dev → validation
  const named = [
    ".gitattributes",
    "my_train.jsonl",
    "dev.csv",
    "test-set.json",
    "notes.txt",
    "contest.jsonl",
  ];
  assertEquals(loc(named, "train").files, ["my_train.jsonl"]);
  assertEquals(loc(named, "validation").files, ["dev.csv"]);
  assertEquals(loc(named, "test").files, ["test-set.json"]);
  // split words in folder names win over file names
  assertEquals(loc(["train/a.parquet", "test/b.parquet", "x/train.csv"], "train").files, [
    "train/a.parquet",
  ]);
  // no split words: everything is train
  assertEquals(loc(["data.jsonl", "more.jsonl"], "train").files, ["data.jsonl", "more.jsonl"]);
  assertEquals(loc(["data.jsonl"], "test").files, []);
  // a named config without a card is not on main
  assertEquals(loc(["train.jsonl"], "train", undefined, "other").files, []);
});

Deno.test("split location: README configs with data_files globs and several configs", () => {
  const readme =
    "---\nconfigs:\n- config_name: en\n  default: true\n  data_files:\n  - split: train\n" +
    '    path: "en/train-*.parquet"\n  - split: test\n    path: [en/test.parquet]\n- config_name: fr\n' +
    "  data_dir: fr\n---\nbody\n";
  const paths = [
    "en/train-0.parquet",
    "en/train-1.parquet",
    "en/test.parquet",
    "fr/train.jsonl",
    "fr/test.jsonl",
  ];
  assertEquals(locateRepoSplit(paths, readme, undefined, "train").files, paths.slice(0, 2));
  assertEquals(locateRepoSplit(paths, readme, "fr", "test").files, ["fr/test.jsonl"]);
  assertEquals(locateRepoSplit(paths, readme, "fr", "validation").available, [
    "en/train",
    "en/test",
    "fr/train",
    "fr/test",
  ]);
  assert(globToRegExp("**/train-*").test("train-0.jsonl"));
  assert(globToRegExp("data/**").test("data/a/b.csv"));
  assert(!globToRegExp("data/*").test("data/a/b.csv"));
});

Deno.test("split location: the refs/convert/parquet layouts", () => {
  const squad = ["plain_text/train/0000.parquet", "plain_text/validation/0000.parquet"];
  assertEquals(locateParquetSplit(squad, undefined, "validation").files, [squad[1]]); // the only config
  const two = [
    "a/train/0000.parquet",
    "a/train/0001.parquet",
    "b/test/0000.parquet",
    "default/partial-train/0.parquet",
  ];
  assertEquals(locateParquetSplit(two, "a", "train").files, two.slice(0, 2));
  assertEquals(locateParquetSplit(two, undefined, "train").files, [two[3]]); // partial conversion
  assertEquals(locateParquetSplit(two, "c", "train").files, []);
  const old = [
    "plain_text/squad-train.parquet",
    "plain_text/squad-validation-00000-of-00002.parquet",
  ];
  assertEquals(locateParquetSplit(old, undefined, "validation").files, [old[1]]);
});
