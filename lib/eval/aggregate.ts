/**
 * A task's results from its samples: each metric (per filter pipeline) with its uncertainty —
 * Wilson intervals for 0/1 values, bootstrap for corpus metrics, perplexities and lm-eval's
 * multiple-choice F1 — and the headline metric by prompt length.
 * @module
 */
import {
  binaryF1,
  getLoglikelihoodMetric,
  getMetric,
  type LoglikelihoodItem,
  type LoglikelihoodMetric,
} from "./metrics/mod.ts";
import type { LengthBucket, MetricResult, Sample, TaskResult } from "./runner.ts";
import { bootstrapEstimate, type Estimate, meanEstimate, wilsonEstimate } from "./stats.ts";
import type { MetricSpec, TaskConfig, TaskRowError } from "./task/mod.ts";
import { roundTo } from "../util/round.ts";

/** What {@linkcode aggregateTask} needs besides the samples. */
export interface AggregateOptions {
  split: string;
  rowErrors: TaskRowError[];
  seed: number;
  resamples: number;
  lengthBuckets: number;
  wallSeconds: number;
}

/**
 * The result keys of a task's metrics: each metric's name, or, with a `filter_list`, one key per
 * metric and pipeline (`exact_match,strict-match`), pipelines in file order.
 */
export function metricKeys(task: TaskConfig): { key: string; spec: MetricSpec; filter?: string }[] {
  if (!task.filters.length) return task.metrics.map((spec) => ({ key: spec.metric, spec }));
  return task.filters.flatMap((f) =>
    task.metrics.map((spec) => ({ key: `${spec.metric},${f.name}`, spec, filter: f.name }))
  );
}

/** Per-task metrics with uncertainty, from its samples. */
export function aggregateTask(
  task: TaskConfig,
  samples: Sample[],
  options: AggregateOptions,
): TaskResult {
  const scored = samples.filter((s) => !s.skipped);
  const skipped: Record<string, number> = {};
  for (const s of samples) if (s.skipped) skipped[s.skipped] = (skipped[s.skipped] ?? 0) + 1;
  const metrics: Record<string, MetricResult> = {};
  const boot = { seed: options.seed, resamples: options.resamples };
  for (const { key, spec, filter } of metricKeys(task)) {
    if (!scored.length) continue;
    if (scored[0].metrics[key] !== undefined) {
      metrics[key] = estimate(scored.map((s) => s.metrics[key]));
      continue;
    }
    if (spec.metric === "f1" && task.outputType === "multiple_choice" && !task.processResults) {
      // lm-eval: f1_score(golds, preds), the positive class being the choice at index 1
      const golds = (xs: Sample[]) => xs.map((s) => s.gold ?? -1);
      const preds = (xs: Sample[]) => xs.map((s) => argmax(s.logprobs ?? []));
      metrics[key] = bootstrapEstimate(scored, (xs) => binaryF1(golds(xs), preds(xs)), boot);
      continue;
    }
    const ll = getLoglikelihoodMetric(spec.metric);
    if (task.processResults) {
      // the hook's values: numbers above, or (loglikelihood, count) pairs for a perplexity
      if (!ll || scored.some((s) => !s.pairs?.[key])) continue;
      const est = loglikelihoodEstimate(scored, ll, boot, (s) => {
        const [loglikelihood, count] = s.pairs![key];
        return { loglikelihood, words: count, bytes: count };
      });
      if (est) metrics[key] = est;
      continue;
    }
    if (ll) {
      if (scored.some((s) => s.loglikelihood === undefined)) continue;
      const est = loglikelihoodEstimate(scored, ll, boot, (s) => ({
        loglikelihood: s.loglikelihood!,
        words: s.words,
        bytes: s.bytes,
      }));
      if (est) metrics[key] = est;
      continue;
    }
    const metric = getMetric(spec.metric);
    if (metric.kind !== "corpus") continue;
    const predictionOf = (s: Sample) => (filter ? s.filtered?.[filter] ?? "" : s.prediction);
    const suffix = filter ? `,${filter}` : "";
    const keys = Object.keys(
      metric.compute(scored.map(predictionOf), scored.map((s) => s.references)),
    );
    // A value computed from part of the items (acc_<label>: that label's items) reports their n.
    const support = metric.support?.(
      scored.map(predictionOf),
      scored.map((s) => s.references),
    ) ?? {};
    for (const k of keys) {
      const est = bootstrapEstimate(scored, (xs) => {
        const v = metric.compute(xs.map(predictionOf), xs.map((s) => s.references))[k];
        return Number.isFinite(v) ? v : 0;
      }, boot);
      metrics[k + suffix] = { ...est, n: support[k] ?? est.n };
    }
  }
  return {
    version: task.version,
    outputType: task.outputType,
    split: options.split,
    n: scored.length,
    skipped,
    truncated: scored.filter((s) => (s.truncated ?? 0) > 0).length,
    rowErrors: options.rowErrors,
    metrics: roundEstimates(metrics),
    byLength: lengthBuckets(scored, task, options.lengthBuckets),
    wallSeconds: roundTo(options.wallSeconds, 2),
  };
}

/**
 * A corpus log-likelihood metric (perplexity, bits per byte) with a bootstrap interval, or
 * `undefined` when the full sample has no value (e.g. bits per byte of documents that are all
 * empty). A resample without a value (only empty documents: no bytes) counts as the full sample's.
 */
function loglikelihoodEstimate(
  scored: Sample[],
  ll: LoglikelihoodMetric,
  boot: { seed: number; resamples: number },
  item: (s: Sample) => LoglikelihoodItem,
): Estimate | undefined {
  const value = ll.aggregate(scored.map(item));
  if (Number.isNaN(value)) return undefined;
  return bootstrapEstimate(scored, (xs) => {
    const v = ll.aggregate(xs.map(item));
    return Number.isNaN(v) ? value : v;
  }, boot);
}

function lengthBuckets(samples: Sample[], task: TaskConfig, buckets: number): LengthBucket[] {
  const keys = metricKeys(task).map((k) => k.key);
  const metric = keys.includes("acc") ? "acc" : keys[0];
  if (!metric || samples.length < buckets * 2 || samples[0].metrics[metric] === undefined) {
    return [];
  }
  const sorted = [...samples].sort((a, b) => a.prompt_tokens - b.prompt_tokens);
  const out: LengthBucket[] = [];
  const cuts = bucketCuts(sorted.map((s) => s.prompt_tokens), buckets);
  for (let b = 0; b + 1 < cuts.length; b++) {
    const part = sorted.slice(cuts[b], cuts[b + 1]);
    out.push({
      minTokens: part[0].prompt_tokens,
      maxTokens: part[part.length - 1].prompt_tokens,
      metric,
      estimate: roundEstimate(estimate(part.map((s) => s.metrics[metric]))),
    });
  }
  return out;
}

/**
 * Where sorted lengths are cut into about `buckets` equal parts (quantiles) such that items of
 * the same length always share a bucket: each quantile cut moves to the nearer place where the
 * length changes, and cuts that meet merge their buckets. So no two buckets cover the same
 * length, and there may be fewer than `buckets`. Returns the cut indexes, 0 and n included.
 */
function bucketCuts(lengths: number[], buckets: number): number[] {
  const n = lengths.length;
  const cuts = [0];
  for (let b = 1; b < buckets; b++) {
    const target = Math.floor((b * n) / buckets);
    let up = target;
    while (up < n && up > 0 && lengths[up] === lengths[up - 1]) up++;
    let down = target;
    while (down > 0 && down < n && lengths[down] === lengths[down - 1]) down--;
    const cut = down > cuts.at(-1)! && target - down < up - target ? down : up;
    if (cut > cuts.at(-1)! && cut < n) cuts.push(cut);
  }
  cuts.push(n);
  return cuts;
}

/** Wilson interval for 0/1 values (accuracy, exact match), closed-form mean ± z·stderr otherwise. */
function estimate(values: number[]): Estimate {
  return values.every((v) => v === 0 || v === 1)
    ? wilsonEstimate(values as (0 | 1)[])
    : meanEstimate(values);
}

/** Index of the largest value (the first, on ties). */
export function argmax(xs: number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

function roundEstimate(e: Estimate): Estimate {
  return {
    ...e,
    value: roundTo(e.value, 6),
    stderr: roundTo(e.stderr, 6),
    ci: [roundTo(e.ci[0], 6), roundTo(e.ci[1], 6)],
  };
}

function roundEstimates(m: Record<string, Estimate>): Record<string, Estimate> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, roundEstimate(v)]));
}
