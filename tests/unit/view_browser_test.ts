/**
 * The viewer's page in headless Chromium (puppeteer-core with Debian's chromium), as a user
 * meets it: the runs index loads, the run page draws its figures, filters narrow the samples and
 * paging walks 100k items, the compare view lists exactly the fixed and broken items of a
 * fixture pair with the differing words marked, the loss chart grows while a fixture
 * events.jsonl is appended, and the static export does the same from disk with no server. No
 * view logs a console error or fails a request. Screenshots of each view go to results/view/
 * (git-ignored build products; CI uploads them).
 */
import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { changedItems } from "../../lib/eval/compare.ts";
import { CHROMIUM_FLAGS, findChromium } from "../../lib/plots/export.ts";
import { exportViewer, startViewer, type Viewer } from "../../lib/view/mod.ts";
import { makeResults } from "./_view_fixture.ts";

const SHOTS = fileURLToPath(new URL("../../results/view/", import.meta.url));
const BIG = 100_000;
const TIMEOUT = 30_000;

interface Problems {
  console: string[];
  failed: string[];
}

function watch(page: Page, problems: Problems): void {
  page.on("console", (m) => {
    if (m.type() === "error") problems.console.push(m.text());
  });
  page.on("pageerror", (e) => problems.console.push(String(e)));
  page.on("requestfailed", (r) => {
    // An event stream closed by leaving the page is not a failure.
    if (!r.url().includes("/events?")) {
      problems.failed.push(`${r.url()}: ${r.failure()?.errorText}`);
    }
  });
  page.on("response", (r) => {
    if (r.status() >= 400) problems.failed.push(`${r.url()}: HTTP ${r.status()}`);
  });
}

/** Browser-side: the app's render count (it marks each finished render). */
const READY = `(document.getElementById("app")?.dataset.ready ?? "")`;

function js<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate(expression) as Promise<T>;
}

/** Go to a view and wait until it has rendered. */
async function open(page: Page, url: string): Promise<void> {
  const before = await js<string>(page, READY).catch(() => "");
  await page.goto(url);
  await page.waitForFunction(`${READY} !== "" && ${READY} !== ${JSON.stringify(before)}`, {
    timeout: TIMEOUT,
  });
}

/** Wait for the next render after an action (a filter change, a click). */
async function after(page: Page, action: () => Promise<unknown>): Promise<void> {
  const before = await js<string>(page, READY);
  await action();
  await page.waitForFunction(`${READY} !== ${JSON.stringify(before)}`, { timeout: TIMEOUT });
}

function text(page: Page, selector: string): Promise<string> {
  return js(page, `document.querySelector(${JSON.stringify(selector)}).innerText`);
}

/** The item ids of the cards matching `selector`, in page order. */
function ids(page: Page, selector: string): Promise<string[]> {
  return js(
    page,
    `[...document.querySelectorAll(${JSON.stringify(selector)})]` +
      `.map((el) => el.querySelector(".head .muted").textContent)`,
  );
}

/** Points of the loss figure's training trace. */
const LOSS_POINTS = `document.getElementById("fig-loss").data[0].x.length`;

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`) as `${string}.png` });
}

async function withViewer(
  fn: (ctx: { root: string; viewer: Viewer; browser: Browser; page: Page }) => Promise<void>,
): Promise<void> {
  const root = makeResults(Deno.makeTempDirSync({ prefix: "tunebook-view-" }), { bigItems: BIG });
  const viewer = startViewer({ results: root, port: 0, pollMs: 100, compare: { resamples: 200 } });
  const browser = await puppeteer.launch({
    executablePath: findChromium(),
    args: [...CHROMIUM_FLAGS],
    headless: true,
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    await fn({ root, viewer, browser, page });
  } finally {
    await browser.close();
    await viewer.shutdown();
    rmSync(root, { recursive: true, force: true });
  }
}

Deno.test({
  name: "viewer page: index, run, samples filters and paging, compare, live loss; no errors",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withViewer(async ({ root, viewer, page }) => {
      const problems: Problems = { console: [], failed: [] };
      watch(page, problems);

      // Runs index.
      await open(page, `${viewer.url}/`);
      const runs = await js<string[]>(
        page,
        `[...document.querySelectorAll("input[data-run]")].map((e) => e.dataset.run)`,
      );
      assert.deepEqual([...runs].sort(), ["base", "big", "tuned", "tuned-q4_k_m"]);
      assert.match(await text(page, "main"), /lora-qa\.gguf ×0\.5/);
      assert.match(await text(page, "main"), /synth_facts acc 0\.325 \[0\.201, 0\.480\]/);
      assert.match(await text(page, "main"), /tiny\s+done/);
      await shot(page, "index");

      // A run: metrics, figures drawn, skipped items and row errors.
      await open(page, `${viewer.url}/#/eval/base`);
      await page.waitForSelector("#fig-scores .main-svg", { timeout: TIMEOUT });
      await page.waitForSelector("#fig-length .main-svg", { timeout: TIMEOUT });
      const runText = await text(page, "main");
      assert.match(runText, /synth_qa\s+em\s+0\.325\s+\[0\.201, 0\.480\]/);
      assert.match(runText, /too_long/);
      assert.match(runText, /doc_to_text: 'context' is undefined/);
      assert.match(runText, /9000 prompt tokens > context 512/);
      await shot(page, "run");

      // Samples: each filter narrows the list.
      await open(page, `${viewer.url}/#/eval/base/samples`);
      const total = async () => Number((await text(page, "#total")).split(" ")[0]);
      assert.equal(await total(), 121);
      await after(page, () => page.select("#task", "synth_facts"));
      assert.equal(await total(), 40);
      await after(page, () => page.select("#outcome", "wrong"));
      assert.equal(await total(), 27);
      const outcomes = await js<string[]>(
        page,
        `[...document.querySelectorAll(".sample")].map((e) => e.dataset.outcome)`,
      );
      assert.ok(outcomes.length === 25 && outcomes.every((o) => o === "wrong"));
      await after(page, () => page.select("#bucket", "21:37"));
      const inBucket = await total();
      assert.ok(inBucket > 0 && inBucket < 27, `length bucket: ${inBucket}`);
      await after(page, async () => {
        await page.type("#q", "q3");
        await page.keyboard.press("Enter");
      });
      const lines = readFileSync(join(root, "eval", "base", "samples.jsonl"), "utf8").trim()
        .split("\n").map((l) => JSON.parse(l));
      const expectedIds = lines.filter((x) =>
        x.task === "synth_facts" && x.metrics.acc === 0 && x.prompt_tokens >= 21 &&
        x.prompt_tokens <= 37 && x.prompt.includes("q3")
      ).map((x) => x.doc_id);
      assert.ok(expectedIds.length > 0 && expectedIds.length < inBucket);
      assert.deepEqual(await ids(page, ".sample"), expectedIds);
      await shot(page, "samples");

      // Paging 100k items: the page holds 25, the range moves.
      await open(page, `${viewer.url}/#/eval/big/samples`);
      assert.equal(await total(), BIG);
      assert.match(await text(page, ".pager .range"), /^1–25 of 100000$/);
      await after(page, () => page.click(".pager .next"));
      assert.match(await text(page, ".pager .range"), /^26–50 of 100000$/);
      assert.equal((await ids(page, ".sample"))[0], "big-25");
      assert.equal((await page.$$(".sample")).length, 25);

      // Compare a fixture pair: exactly its fixed and broken items, words that differ marked.
      const [a, b] = ["tuned", "tuned-q4_k_m"];
      const changes = changedItems(join(root, "eval", a), join(root, "eval", b));
      const expected = (kind: "fixed" | "broken") =>
        Object.values(changes.tasks).flatMap((t) => t[kind].map((i) => i.doc_id));
      await open(page, `${viewer.url}/#/compare?run=${a}&run=${b}&change=broken`);
      await page.waitForSelector("#fig-delta .main-svg", { timeout: TIMEOUT });
      assert.deepEqual(await ids(page, ".compared"), expected("broken"));
      assert.match(await text(page, "#change-counts"), /fixed: 16\s*broken: 25/);
      assert.ok((await page.$$(".compared ins")).length > 0, "added words marked");
      assert.ok((await page.$$(".compared del")).length > 0, "removed words marked");
      assert.match(await text(page, "main"), /synth_facts\s+acc\s+40\s+0\.775\s+0\.650.*10 \/ 5/);
      await shot(page, "compare");
      await js(page, `document.getElementById("compared").scrollIntoView()`);
      await shot(page, "compare_items");
      await after(page, () => page.select("#change", "fixed"));
      assert.deepEqual(await ids(page, ".compared"), expected("fixed"));

      // A training run that is still going: the loss chart grows as events arrive.
      const live = join(root, "train", "live");
      mkdirSync(live);
      const events = join(live, "events.jsonl");
      writeFileSync(events, JSON.stringify({ event: "start", steps: 40 }) + "\n");
      const step = (i: number) =>
        JSON.stringify({ event: "step", step: i, loss: 3 / (1 + i / 10), lr: 0.003 }) + "\n";
      for (let i = 1; i <= 5; i++) appendFileSync(events, step(i));
      await open(page, `${viewer.url}/#/train/live`);
      await page.waitForSelector("#fig-loss .main-svg", { timeout: TIMEOUT });
      const points = () => js<number>(page, LOSS_POINTS);
      assert.equal(await points(), 5);
      assert.match(await text(page, "#live"), /live/);
      for (let i = 6; i <= 20; i++) {
        appendFileSync(events, step(i));
      }
      await page.waitForFunction(`${LOSS_POINTS} === 20`, { timeout: TIMEOUT });
      appendFileSync(events, JSON.stringify({ event: "eval", step: 20, val_loss: 1.2 }) + "\n");
      for (let i = 21; i <= 40; i++) {
        appendFileSync(events, step(i));
      }
      appendFileSync(events, JSON.stringify({ event: "done", steps: 40 }) + "\n");
      await page.waitForFunction(
        `document.getElementById("train-status")?.textContent === "done"`,
        { timeout: TIMEOUT },
      );
      assert.equal(await points(), 40);
      assert.equal(await text(page, "#train-step"), "40 / 40");
      await shot(page, "train");

      assert.deepEqual(problems, { console: [], failed: [] });
    }),
});

Deno.test({
  name: "static export: opens from disk (file://), filters and compare work, nothing fetched",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withViewer(async ({ root, page }) => {
      const out = join(root, "export");
      const written = exportViewer(root, out, {
        compare: [["tuned", "tuned-q4_k_m"]],
        compareOptions: { resamples: 200 },
      });
      const problems: Problems = { console: [], failed: [] };
      watch(page, problems);
      const remote: string[] = [];
      page.on("request", (r) => {
        if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) remote.push(r.url());
      });
      await open(page, `file://${written.index}`);
      assert.match(await text(page, "#mode"), /static export/);
      assert.match(await text(page, "main"), /tuned vs tuned-q4_k_m/);
      await open(page, `file://${written.index}#/eval/base/samples`);
      assert.match(await text(page, "#total"), /^121 of 121/);
      await after(page, () => page.select("#task", "synth_qa"));
      await after(page, () => page.select("#outcome", "skipped"));
      assert.deepEqual(await ids(page, ".sample"), ["synth_qa-long"]);
      await open(page, `file://${written.index}#/compare?run=tuned&run=tuned-q4_k_m&change=broken`);
      const changes = changedItems(join(root, "eval", "tuned"), join(root, "eval", "tuned-q4_k_m"));
      assert.deepEqual(
        await ids(page, ".compared"),
        Object.values(changes.tasks).flatMap((t) => t.broken.map((i) => i.doc_id)),
      );
      await page.waitForSelector("#fig-delta .main-svg", { timeout: TIMEOUT });
      await open(page, `file://${written.index}#/train/tiny`);
      await page.waitForSelector("#fig-loss .main-svg", { timeout: TIMEOUT });
      await shot(page, "export");
      assert.deepEqual(remote, []);
      assert.deepEqual(problems, { console: [], failed: [] });
    }),
});
