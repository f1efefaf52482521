// @ts-nocheck — browser code; lib/view/page_assets.ts joins it with query.js into one script.
/**
 * The viewer's page: a single-page app over the JSON API of lib/view/api.ts (`deno task view`),
 * or over the data files of a static export (`deno task view --export DIR`, opened from disk:
 * the same views, filtered in the browser with the same rules from query.js).
 *
 * Views (the URL's #fragment): `#/` runs index, `#/eval/<run>` a run, `#/eval/<run>/samples?…`
 * its samples, `#/compare?run=A&run=B…` runs on the same items, `#/train/<run>` a training run.
 */
import {
  CHANGES,
  DEFAULT_PAGE_SIZE,
  matchesCompareRow,
  matchesEntry,
  matchesText,
  OUTCOMES,
  parseCompareQuery,
  parseSampleQuery,
  searchText,
  slug,
} from "./query.js";

const STATIC = globalThis.TUNEBOOK_STATIC === true;
const app = document.getElementById("app");
let cleanup = []; // run when the view changes (live streams)
let pendingPlots = []; // figures to draw once their view is on the page
let renderCount = 0;

// ---------------------------------------------------------------- data: API or static files

const staticData = {};
globalThis.tunebookData = (key, value) => {
  staticData[key] = value;
};

function loadData(key) {
  if (key in staticData) return Promise.resolve(staticData[key]);
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = `data/${key}.js`;
    script.onload = () => {
      if (key in staticData) resolve(staticData[key]);
      else reject(new Error(`data/${key}.js did not hold its data; export again`));
    };
    script.onerror = () => reject(new Error(`data/${key}.js is not part of this export`));
    document.head.append(script);
  });
}

async function fetchJson(path) {
  const res = await fetch(path);
  const body = await res.json().catch(() => ({ error: `${path}: HTTP ${res.status}` }));
  if (!res.ok) throw new Error(body.error ?? `${path}: HTTP ${res.status}`);
  return body;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  return q.toString();
}

const api = {
  runs: () => STATIC ? loadData("runs") : fetchJson("/api/runs"),
  evalRun: (id) =>
    STATIC ? loadData(`eval/${slug(id)}`) : fetchJson(`/api/eval/${encodeURIComponent(id)}`),
  async samples(id, params) {
    if (!STATIC) return fetchJson(`/api/eval/${encodeURIComponent(id)}/samples?${query(params)}`);
    const { filter, offset, limit } = parseSampleQuery(new URLSearchParams(query(params)));
    const items = await staticSamples(id);
    const matches = items.filter((s) =>
      matchesEntry({ task: s.task, outcome: s.outcome, tokens: s.prompt_tokens }, filter) &&
      matchesText(searchText(s), filter)
    );
    return { total: matches.length, offset, items: matches.slice(offset, offset + limit) };
  },
  compare: (ids) =>
    STATIC ? loadData(`compare/${slug(ids)}`) : fetchJson(`/api/compare?${query({ run: ids })}`),
  async compareItems(ids, params) {
    if (!STATIC) return fetchJson(`/api/compare/items?${query({ run: ids, ...params })}`);
    const { filter, offset, limit } = parseCompareQuery(new URLSearchParams(query(params)));
    const rows = await staticCompareRows(ids);
    const against = Math.min(filter.against ?? 1, ids.length - 1);
    const counts = Object.fromEntries(CHANGES.map((c) => [c, 0]));
    for (const r of rows) if (!filter.task || r.task === filter.task) counts[r.changes[against]]++;
    const matches = rows.filter((r) =>
      matchesCompareRow(r, { ...filter, against }) && matchesText(r.search, filter)
    );
    return {
      total: matches.length,
      offset,
      counts,
      items: matches.slice(offset, offset + limit).map((r) => r.item),
    };
  },
  trainRun: (id) =>
    STATIC ? loadData(`train/${slug(id)}`) : fetchJson(`/api/train/${encodeURIComponent(id)}`),
};

const chunkCache = {};
function loadChunks(base, count) {
  if (!chunkCache[base]) {
    const parts = [];
    for (let k = 0; k < count; k++) parts.push(loadData(`${base}.${k}`));
    chunkCache[base] = Promise.all(parts).then((xs) => xs.flat());
  }
  return chunkCache[base];
}

async function staticSamples(id) {
  const run = await api.evalRun(id);
  return loadChunks(`eval/${slug(id)}.samples`, run.export?.sampleChunks ?? 0);
}

async function staticCompareRows(ids) {
  const cmp = await api.compare(ids);
  return loadChunks(`compare/${slug(ids)}.items`, cmp.export?.itemChunks ?? 0);
}

// ---------------------------------------------------------------- DOM helpers

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function table(headers, rows, numeric = []) {
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, headers.map((x, i) => h("th", { class: numeric[i] && "num" }, x)))),
    h(
      "tbody",
      {},
      rows.map((r) => h("tr", {}, r.map((c, i) => h("td", { class: numeric[i] && "num" }, c)))),
    ),
  );
}

function badge(text, cls = text) {
  return h("span", { class: `badge ${cls}` }, text);
}

function num(x, digits = 3) {
  return typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "–";
}

function signed(x, digits = 3) {
  return typeof x === "number" && Number.isFinite(x) ? (x > 0 ? "+" : "") + x.toFixed(digits) : "–";
}

function ci(c, digits = 3) {
  return Array.isArray(c) && c.every((x) => typeof x === "number" && Number.isFinite(x))
    ? `[${num(c[0], digits)}, ${num(c[1], digits)}]`
    : "–";
}

function date(iso) {
  return typeof iso === "string" ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "";
}

function bytes(n) {
  if (typeof n !== "number") return "";
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024, i++);
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function figure(fig, id) {
  const div = h("div", { class: "figure", id });
  if (fig && globalThis.Plotly) {
    pendingPlots.push({
      render: renderCount,
      draw: () =>
        globalThis.Plotly.newPlot(div, fig.data, fig.layout, { ...fig.config, responsive: true }),
    });
  } else {
    div.append(h("p", { class: "muted" }, "no figure for this run"));
  }
  return div;
}

function flatten(obj, prefix = "") {
  const out = [];
  for (const [k, v] of Object.entries(obj ?? {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === "object" && !Array.isArray(v)) out.push(...flatten(v, key));
    else out.push([key, Array.isArray(v) ? v.map(String).join(", ") : String(v)]);
  }
  return out;
}

function kv(pairs) {
  return h("dl", { class: "kv" }, pairs.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function evalLink(id) {
  return h("a", { href: `#/eval/${encodeURIComponent(id)}` }, id);
}

function samplesHref(id, params = {}) {
  const q = query(params);
  return `#/eval/${encodeURIComponent(id)}/samples${q ? `?${q}` : ""}`;
}

function setHash(path, params) {
  const q = query(params);
  location.hash = `${path}${q ? `?${q}` : ""}`;
}

// ---------------------------------------------------------------- views

async function runsView() {
  const runs = await api.runs();
  const selected = [];
  const compareButton = h("button", {
    disabled: true,
    onclick: () => setHash("/compare", { run: selected }),
  }, "Compare selected");
  const note = h(
    "span",
    { class: "muted" },
    "tick two or more runs; the first ticked is the baseline",
  );
  const evalRows = runs.eval.map((r) => [
    STATIC ? "" : h("input", {
      type: "checkbox",
      "data-run": r.id,
      onchange: (e) => {
        if (e.target.checked) selected.push(r.id);
        else selected.splice(selected.indexOf(r.id), 1);
        compareButton.disabled = selected.length < 2;
      },
    }),
    evalLink(r.id),
    r.model === "?" ? "–" : r.model + (r.backend !== "node-llama-cpp" ? ` (${r.backend})` : ""),
    r.adapters.map((a) => `${a.name}${a.scale !== 1 ? ` ×${a.scale}` : ""}`).join(", ") || "–",
    r.quantization ?? "–",
    r.tasks.join(", "),
    date(r.created),
    h(
      "span",
      {},
      r.scores.map((s) =>
        h("div", {}, `${s.task} ${s.metric} ${num(s.estimate?.value)} ${ci(s.estimate?.ci)}`)
      ),
    ),
    r.error
      ? h("span", { class: "error" }, r.error)
      : r.running
      ? "running"
      : r.complete
      ? "done"
      : r.scores.length
      ? "in progress (or interrupted)"
      : "no results.json yet",
  ]);
  const trainRows = runs.train.map((r) => [
    h("a", { href: `#/train/${encodeURIComponent(r.id)}` }, r.id),
    badge(r.status, r.status === "done" ? "right" : r.status === "error" ? "wrong" : "partial"),
    r.base ?? "–",
    r.backend ?? "–",
    r.step === null ? "–" : `${r.step}${r.steps ? ` / ${r.steps}` : ""}`,
    num(r.lastLoss, 4),
    num(r.lastValLoss, 4),
    date(r.modified),
  ]);
  const comparisons = (runs.export?.comparisons ?? []).map((ids) =>
    h("li", {}, h("a", { href: `#/compare?${query({ run: ids })}` }, ids.join(" vs ")))
  );
  return [
    h("h1", {}, "Runs"),
    h("p", { class: "muted" }, `results folder: ${runs.root}`),
    h("h2", {}, `Evaluation runs (${runs.eval.length})`),
    runs.eval.length
      ? table(
        [
          "",
          "run",
          "model",
          "adapters",
          "quant",
          "tasks",
          "created",
          "headline scores (95% CI)",
          "",
        ],
        evalRows,
      )
      : h("p", { class: "muted" }, "none yet: deno task eval writes results/eval/<run>/"),
    STATIC ? "" : h("div", { class: "filters" }, compareButton, note),
    comparisons.length ? [h("h2", {}, "Comparisons in this export"), h("ul", {}, comparisons)] : "",
    h("h2", {}, `Training runs (${runs.train.length})`),
    runs.train.length
      ? table(
        ["run", "status", "base", "backend", "step", "loss", "val loss", "modified"],
        trainRows,
        [false, false, false, false, true, true, true],
      )
      : h("p", { class: "muted" }, "none yet: deno task finetune writes results/train/<run>/"),
  ];
}

async function evalView(id) {
  const run = await api.evalRun(id);
  const s = run.summary;
  const info = run.info ?? {};
  const metricRows = run.tasks.flatMap((t) =>
    t.metrics.map((m) => [
      h("a", { href: samplesHref(id, { task: t.task }) }, t.task),
      m.name === t.verdictMetric ? h("b", {}, m.name) : m.name,
      num(m.value),
      ci(m.ci),
      num(m.stderr),
      m.n ?? "",
      m.method ?? "",
    ])
  );
  const lengthRows = run.tasks.flatMap((t) =>
    t.byLength.map((b) => [
      t.task,
      b.metric,
      h(
        "a",
        { href: samplesHref(id, { task: t.task, min: b.minTokens, max: b.maxTokens }) },
        b.minTokens === b.maxTokens ? `${b.minTokens}` : `${b.minTokens}–${b.maxTokens}`,
      ),
      num(b.estimate?.value),
      ci(b.estimate?.ci),
      b.estimate?.n ?? "",
    ])
  );
  const skipped = run.tasks.flatMap((t) =>
    Object.entries(t.skipped).map(([reason, n]) => [
      t.task,
      reason,
      h("a", { href: samplesHref(id, { task: t.task, outcome: "skipped" }) }, String(n)),
    ])
  );
  const rowErrors = run.tasks.flatMap((t) =>
    t.rowErrors.map((e) => [t.task, e.row ?? "", e.field ?? "", e.message ?? JSON.stringify(e)])
  );
  const verdicts = run.tasks.map((t) => [
    t.task,
    t.verdictMetric ?? "–",
    ...OUTCOMES.map((o) =>
      t.counts[o]
        ? h("a", { href: samplesHref(id, { task: t.task, outcome: o }) }, String(t.counts[o]))
        : "0"
    ),
  ]);
  const skippedItems = Object.values(run.tasks).some((t) => (t.counts.skipped ?? 0) > 0)
    ? await api.samples(id, { outcome: "skipped", limit: 10 })
    : null;
  return [
    h("h1", {}, `Run ${id}`),
    run.resultsError ? h("p", { class: "error" }, run.resultsError) : "",
    kv([
      ["model", s.model],
      ["backend", s.backend],
      ["quantization", s.quantization ?? "–"],
      ["adapters", s.adapters.map((a) => `${a.name} ×${a.scale}`).join(", ") || "none"],
      ["created", date(s.created)],
      [
        "status",
        s.running
          ? "running (run.lock held)"
          : s.complete
          ? "complete"
          : "in progress (or interrupted)",
      ],
      ["wall time", info.wallSeconds !== undefined ? `${info.wallSeconds} s` : "–"],
      ["tokens/s", info.tokensPerSecond ?? "–"],
      ["config", flatten(info.config).map(([k, v]) => `${k}=${v}`).join("  ")],
    ]),
    h(
      "p",
      {},
      h("a", { href: samplesHref(id), id: "samples-link" }, `Samples (${run.samples.total}) →`),
    ),
    h("h2", {}, "Metrics per task (95% CI)"),
    metricRows.length
      ? table(["task", "metric", "value", "95% CI", "stderr", "n", "method"], metricRows, [
        false,
        false,
        true,
        false,
        true,
        true,
      ])
      : h("p", { class: "muted" }, "no task has finished yet"),
    figure(run.figures.scores, "fig-scores"),
    h("h2", {}, "Items per verdict"),
    table(["task", "verdict metric", ...OUTCOMES], verdicts),
    h("h2", {}, "Score by input length"),
    lengthRows.length
      ? [
        table(["task", "metric", "prompt tokens", "value", "95% CI", "n"], lengthRows, [
          false,
          false,
          false,
          true,
          false,
          true,
        ]),
        figure(run.figures.byLength, "fig-length"),
      ]
      : h("p", { class: "muted" }, "no length buckets (too few items per task)"),
    h("h2", {}, "Skipped items"),
    skipped.length
      ? [
        table(["task", "reason", "items"], skipped),
        skippedItems ? skippedItems.items.map((x) => sampleCard(x)) : "",
      ]
      : h("p", { class: "muted" }, "none"),
    h("h2", {}, "Row errors"),
    rowErrors.length
      ? table(["task", "row", "field", "message"], rowErrors)
      : h("p", { class: "muted" }, "none"),
    run.samples.badLineCount
      ? [
        h("h2", {}, `Unreadable samples.jsonl lines (${run.samples.badLineCount})`),
        table(["line", "problem"], run.samples.badLines.map((b) => [b.line, b.message])),
      ]
      : "",
    run.identity ? [h("h2", {}, "Run identity (run.json)"), kv(flatten(run.identity))] : "",
  ];
}

function sampleCard(s) {
  const metrics = Object.entries(s.metrics ?? {}).map(([k, v]) => `${k}=${num(v)}`).join(" ");
  const choices = Array.isArray(s.choices)
    ? h(
      "ul",
      { class: "choices" },
      s.choices.map((c, i) =>
        h(
          "li",
          { class: i === s.gold ? "gold" : "" },
          c,
          s.logprobs ? h("span", { class: "muted" }, `  log p ${num(s.logprobs[i])}`) : "",
          i === s.gold ? "  ★ gold" : "",
          c === s.prediction ? "  ← chosen" : "",
        )
      ),
    )
    : "";
  return h(
    "div",
    { class: "item sample", "data-outcome": s.outcome, "data-task": s.task },
    h(
      "div",
      { class: "head" },
      h("b", {}, s.task),
      h("span", { class: "muted" }, String(s.doc_id)),
      badge(s.outcome),
      h("span", { class: "muted" }, `${s.prompt_tokens ?? "?"} tokens`),
      h("span", { class: "muted" }, `line ${s.line}`),
      h("span", {}, metrics),
    ),
    h("div", { class: "muted" }, "prompt"),
    h("pre", { class: "prompt" }, String(s.prompt ?? "")),
    choices,
    s.references
      ? [
        h("div", { class: "muted" }, "references"),
        h("pre", {}, (Array.isArray(s.references) ? s.references : [s.references]).join("\n")),
      ]
      : "",
    s.skipped ? h("p", { class: "skipped" }, `skipped: ${s.skipped} ${s.skip_detail ?? ""}`) : [
      h("div", { class: "muted" }, "prediction"),
      h("pre", { class: "prediction" }, s.prediction),
    ],
  );
}

function pager(page, params, go) {
  const limit = Number(params.limit) || DEFAULT_PAGE_SIZE;
  const first = page.total ? page.offset + 1 : 0;
  const last = Math.min(page.total, page.offset + limit);
  return h(
    "div",
    { class: "pager" },
    h("button", {
      class: "prev",
      disabled: page.offset <= 0,
      onclick: () => go({ ...params, offset: Math.max(0, page.offset - limit) || undefined }),
    }, "← previous"),
    h("span", { class: "range" }, `${first}–${last} of ${page.total}`),
    h("button", {
      class: "next",
      disabled: last >= page.total,
      onclick: () => go({ ...params, offset: page.offset + limit }),
    }, "next →"),
  );
}

async function samplesView(id, params) {
  const run = await api.evalRun(id);
  const go = (next) => setHash(`/eval/${encodeURIComponent(id)}/samples`, next);
  const set = (key) => (e) =>
    go({ ...params, [key]: e.target.value || undefined, offset: undefined });
  const buckets = run.tasks.filter((t) => !params.task || t.task === params.task).flatMap((t) =>
    t.byLength.map((b) => ({ task: t.task, min: b.minTokens, max: b.maxTokens, n: b.estimate?.n }))
  );
  const bucketValue = params.min !== undefined || params.max !== undefined
    ? `${params.min ?? ""}:${params.max ?? ""}`
    : "";
  const search = h("input", {
    type: "search",
    id: "q",
    placeholder: "text in prompt, answer, references",
    value: params.q ?? "",
    onchange: (e) => go({ ...params, q: e.target.value || undefined, offset: undefined }),
  });
  const page = await api.samples(id, params);
  return [
    h("h1", {}, "Samples of ", evalLink(id)),
    h(
      "div",
      { class: "filters" },
      h(
        "label",
        {},
        "task",
        h(
          "select",
          { id: "task", onchange: set("task") },
          h("option", { value: "" }, "all tasks"),
          run.tasks.map((t) =>
            h("option", { value: t.task, selected: t.task === params.task }, t.task)
          ),
        ),
      ),
      h(
        "label",
        {},
        "verdict",
        h(
          "select",
          { id: "outcome", onchange: set("outcome") },
          h("option", { value: "" }, "any"),
          OUTCOMES.map((o) => h("option", { value: o, selected: o === params.outcome }, o)),
        ),
      ),
      h(
        "label",
        {},
        "length",
        h(
          "select",
          {
            id: "bucket",
            onchange: (e) => {
              const [min, max] = e.target.value.split(":");
              const bucket = buckets.find((b) => `${b.min}:${b.max}` === e.target.value);
              go({
                ...params,
                task: bucket?.task ?? params.task,
                min: min || undefined,
                max: max || undefined,
                offset: undefined,
              });
            },
          },
          h("option", { value: "" }, "any length"),
          buckets.map((b) =>
            h(
              "option",
              { value: `${b.min}:${b.max}`, selected: `${b.min}:${b.max}` === bucketValue },
              `${params.task ? "" : `${b.task}: `}${b.min}–${b.max} tokens (n=${b.n})`,
            )
          ),
          bucketValue && !buckets.some((b) => `${b.min}:${b.max}` === bucketValue)
            ? h("option", { value: bucketValue, selected: true }, bucketValue.replace(":", "–"))
            : "",
        ),
      ),
      h("label", {}, "text", search),
      h("button", { onclick: () => go({}) }, "clear"),
    ),
    h("p", { id: "total" }, `${page.total} of ${run.samples.total} items match`),
    pager(page, params, go),
    h("div", { id: "samples" }, page.items.map((s) => sampleCard(s))),
    page.items.length > 5 ? pager(page, params, go) : "",
  ];
}

function diffView(segments, fallback) {
  if (!segments.length) return h("pre", { class: "prediction" }, fallback);
  return h(
    "pre",
    { class: "prediction" },
    segments.map((s) => s.op === "same" ? s.text : h(s.op === "add" ? "ins" : "del", {}, s.text)),
  );
}

function compareItemCard(item, against) {
  return h(
    "div",
    { class: "item compared", "data-change": item.runs[against]?.change, "data-task": item.task },
    h(
      "div",
      { class: "head" },
      h("b", {}, item.task),
      h("span", { class: "muted" }, item.doc_id),
      badge(item.runs[against]?.change ?? ""),
    ),
    h("pre", { class: "prompt" }, String(item.prompt ?? "")),
    item.references
      ? h("div", { class: "muted" }, "references: ", [].concat(item.references).join(" | "))
      : "",
    h(
      "div",
      { class: "side" },
      item.runs.map((r, k) =>
        h(
          "div",
          { class: "item" },
          h(
            "div",
            { class: "head" },
            h("b", {}, r.id),
            k === 0 ? h("span", { class: "muted" }, "baseline") : badge(r.change),
            badge(r.outcome),
            h(
              "span",
              { class: "muted" },
              Object.entries(r.metrics).map(([m, v]) => `${m}=${num(v)}`).join(" "),
            ),
          ),
          k === 0
            ? h("pre", { class: "prediction" }, r.prediction)
            : diffView(r.diff, r.prediction),
        )
      ),
    ),
  );
}

async function comparePicker() {
  const runs = await api.runs();
  if (STATIC) {
    const list = runs.export?.comparisons ?? [];
    return [
      h("h1", {}, "Compare"),
      list.length
        ? h(
          "ul",
          {},
          list.map((ids) =>
            h("li", {}, h("a", { href: `#/compare?${query({ run: ids })}` }, ids.join(" vs ")))
          ),
        )
        : h(
          "p",
          { class: "muted" },
          "this export holds no comparison (deno task view --export DIR --compare A,B)",
        ),
    ];
  }
  return [
    h("h1", {}, "Compare"),
    h("p", {}, "Pick two or more runs on the runs index (the first ticked is the baseline)."),
    ...(await runsView()).slice(2, 5),
  ];
}

async function compareView(params) {
  const ids = [].concat(params.run ?? []);
  if (ids.length < 2) return comparePicker();
  const cmp = await api.compare(ids);
  const against = Math.min(Math.max(1, Number(params.against) || 1), ids.length - 1);
  const itemParams = {
    against,
    task: params.task,
    change: params.change ?? "any",
    q: params.q,
    offset: params.offset,
  };
  const page = await api.compareItems(ids, itemParams);
  const go = (next) => setHash("/compare", { run: ids, ...next });
  const set = (key) => (e) =>
    go({ ...itemParams, [key]: e.target.value || undefined, offset: undefined });
  const pairTables = cmp.pairs.map((p) => [
    h("h2", {}, `${p.b} vs ${p.a} (baseline)`),
    p.error ? h("p", { class: "error" }, p.error) : table(
      [
        "task",
        "metric",
        "n",
        p.a,
        p.b,
        "Δ",
        "95% CI",
        "p",
        "McNemar b / c",
        "p (McNemar)",
        "fixed",
        "broken",
      ],
      p.tasks.flatMap((t) =>
        t.metrics.map((m, i) => [
          i === 0 ? t.task : "",
          m.metric === t.verdictMetric ? h("b", {}, m.metric) : m.metric,
          m.n,
          num(m.meanA),
          num(m.meanB),
          signed(m.delta),
          ci(m.ci),
          m.pText,
          m.mcnemar ? `${m.mcnemar.b} / ${m.mcnemar.c}` : "–",
          m.mcnemar ? `${m.mcnemar.pText} (${m.mcnemar.method})` : "–",
          i === 0
            ? h("a", {
              href: `#/compare?${
                query({ run: ids, against: p.against, task: t.task, change: "fixed" })
              }`,
            }, String(t.changes.fixed))
            : "",
          i === 0
            ? h("a", {
              href: `#/compare?${
                query({ run: ids, against: p.against, task: t.task, change: "broken" })
              }`,
            }, String(t.changes.broken))
            : "",
        ])
      ),
      [false, false, true, true, true, true, false, true, true, false, true, true],
    ),
    p.tasksOnlyInA?.length
      ? h("p", { class: "muted" }, `only in ${p.a}: ${p.tasksOnlyInA.join(", ")}`)
      : "",
    p.tasksOnlyInB?.length
      ? h("p", { class: "muted" }, `only in ${p.b}: ${p.tasksOnlyInB.join(", ")}`)
      : "",
  ]);
  return [
    h("h1", {}, "Compare ", ids.map((id, i) => [i ? " · " : "", evalLink(id)])),
    h(
      "p",
      { class: "muted" },
      `baseline ${
        ids[0]
      }. Δ = run − baseline over the items both evaluated, paired-bootstrap 95% CI; ` +
        "McNemar b = items the run broke (right → wrong), c = items it fixed (wrong → right).",
    ),
    pairTables,
    h("h2", {}, "Items, side by side"),
    h(
      "div",
      { class: "filters" },
      ids.length > 2
        ? h(
          "label",
          {},
          "changes of",
          h(
            "select",
            { id: "against", onchange: set("against") },
            ids.slice(1).map((id, k) =>
              h("option", { value: k + 1, selected: k + 1 === against }, id)
            ),
          ),
        )
        : "",
      h(
        "label",
        {},
        "task",
        h(
          "select",
          { id: "ctask", onchange: set("task") },
          h("option", { value: "" }, "all tasks"),
          cmp.tasks.map((t) => h("option", { value: t, selected: t === params.task }, t)),
        ),
      ),
      h(
        "label",
        {},
        "change",
        h(
          "select",
          { id: "change", onchange: set("change") },
          [
            ["any", "fixed, broken or changed"],
            ["fixed", "fixed"],
            ["broken", "broken"],
            [
              "changed",
              "other verdict change",
            ],
            ["differs", "same verdict, other answer"],
            ["same", "same answer"],
            ["", "all shared items"],
          ]
            .map(([v, label]) =>
              h("option", { value: v, selected: (itemParams.change ?? "") === v }, label)
            ),
        ),
      ),
      h(
        "label",
        {},
        "text",
        h("input", {
          type: "search",
          id: "cq",
          value: params.q ?? "",
          onchange: (e) => go({ ...itemParams, q: e.target.value || undefined, offset: undefined }),
        }),
      ),
    ),
    h(
      "p",
      { class: "counts", id: "change-counts" },
      CHANGES.map((c) => h("span", { class: c }, `${c}: ${page.counts[c] ?? 0}`)),
    ),
    pager(page, itemParams, go),
    h("div", { id: "compared" }, page.items.map((item) => compareItemCard(item, against))),
    page.items.length > 5 ? pager(page, itemParams, go) : "",
    h("h2", {}, "Per-task difference"),
    figure(cmp.figure, "fig-delta"),
  ];
}

async function trainView(id) {
  const run = await api.trainRun(id);
  const s = run.summary;
  const status = h("span", { id: "train-status" }, s.status);
  const progress = h(
    "span",
    { id: "train-step" },
    s.step === null ? "–" : `${s.step}${s.steps ? ` / ${s.steps}` : ""}`,
  );
  const fig = figure(run.figure, "fig-loss");
  const events = run.events.slice();
  const recentBody = h("tbody");
  const drawRecent = () => {
    recentBody.replaceChildren(
      ...events.slice(-12).reverse().map((e) =>
        h(
          "tr",
          {},
          h("td", {}, e.event),
          h("td", { class: "num" }, e.step ?? ""),
          h("td", { class: "num" }, num(e.loss ?? e.val_loss, 4)),
          h(
            "td",
            {},
            e.message ??
              flatten(
                Object.fromEntries(
                  Object.entries(e).filter(([k]) =>
                    !["event", "step", "loss", "val_loss"].includes(k)
                  ),
                ),
              ).map(([k, v]) => `${k}=${v}`).join(" "),
          ),
        )
      ),
    );
  };
  drawRecent();
  const live = h("span", { id: "live", class: "muted" }, "");
  if (!STATIC && (s.status === "running" || s.status === "empty" || s.status === "stopped")) {
    const source = new EventSource(
      `/api/train/${encodeURIComponent(id)}/events?from=${run.eventsBytes}`,
    );
    live.textContent = "live: following events.jsonl";
    source.addEventListener("events", (msg) => {
      const data = JSON.parse(msg.data);
      events.push(...data.events);
      globalThis.Plotly.react(fig, data.figure.data, data.figure.layout, {
        ...data.figure.config,
        responsive: true,
      });
      status.textContent = data.summary.status;
      progress.textContent = data.summary.step === null
        ? "–"
        : `${data.summary.step}${data.summary.steps ? ` / ${data.summary.steps}` : ""}`;
      drawRecent();
      if (data.summary.status === "done" || data.summary.status === "error") {
        source.close();
        live.textContent = `finished (${data.summary.status})`;
      }
    });
    cleanup.push(() => source.close());
  }
  return [
    h("h1", {}, `Training run ${id}`),
    kv([
      ["status", h("span", {}, status, " ", live)],
      ["step", progress],
      ["base", s.base ?? "–"],
      ["backend", s.backend ?? "–"],
      ["modified", date(s.modified)],
    ]),
    run.configError ? h("p", { class: "error" }, run.configError) : "",
    fig,
    run.messages.length
      ? [
        h("h2", {}, "Errors and warnings"),
        table(
          ["event", "step", "message"],
          run.messages.map((m) => [m.event, m.step ?? "", m.message]),
        ),
      ]
      : "",
    h("h2", {}, "Latest events"),
    h(
      "table",
      {},
      h(
        "thead",
        {},
        h("tr", {}, ["event", "step", "loss / val loss", "details"].map((x) => h("th", {}, x))),
      ),
      recentBody,
    ),
    h("h2", {}, "Config"),
    run.config ? kv(flatten(run.config)) : h("p", { class: "muted" }, "no config.json"),
    run.record ? [h("h2", {}, "Run record (run.json)"), kv(flatten(run.record))] : "",
    h("h2", {}, "Artifacts"),
    run.artifacts.length
      ? table(
        ["path", "size", "files"],
        run.artifacts.map((a) => [a.path, bytes(a.bytes), a.files ?? ""]),
        [false, true, true],
      )
      : h("p", { class: "muted" }, "none"),
  ];
}

// ---------------------------------------------------------------- router

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, qs = ""] = raw.split("?");
  const params = {};
  for (const [k, v] of new URLSearchParams(qs)) {
    if (k === "run") (params.run ??= []).push(v);
    else params[k] = v;
  }
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), params };
}

async function render() {
  for (const f of cleanup) f();
  cleanup = [];
  const mine = ++renderCount;
  const { parts, params } = parseHash();
  let view;
  try {
    if (parts.length === 0) view = await runsView();
    else if (parts[0] === "eval" && parts.length === 2) view = await evalView(parts[1]);
    else if (parts[0] === "eval" && parts[2] === "samples") {
      view = await samplesView(parts[1], params);
    } else if (parts[0] === "compare") view = await compareView(params);
    else if (parts[0] === "train" && parts.length === 2) view = await trainView(parts[1]);
    else view = [h("p", { class: "error" }, `no view ${location.hash}; go to the runs index`)];
  } catch (e) {
    view = [h("p", { class: "error" }, e.message)];
  }
  if (mine !== renderCount) return; // a newer navigation won
  app.replaceChildren(...[view].flat(Infinity).filter((x) => x !== "" && x != null));
  const plots = pendingPlots.filter((p) => p.render === mine);
  pendingPlots = pendingPlots.filter((p) => p.render > mine);
  await Promise.all(plots.map((p) => p.draw()));
  app.dataset.view = parts[0] ?? "runs";
  app.dataset.ready = String(mine);
}

document.getElementById("mode").textContent = STATIC
  ? "static export (opened from disk)"
  : "deno task view";
globalThis.addEventListener("hashchange", render);
render();
