/**
 * Label metrics for classification-style tasks (labels such as `yes`/`no` or
 * `entailment`/`not_entailment`). Predictions and gold labels are compared after trimming
 * surrounding whitespace and lowercasing; the gold label of an item is its first reference.
 *
 * - `acc` (item): 1 when the prediction equals the gold label, else 0.
 * - `per_class_accuracy` (corpus): `acc_<label>` for every gold label: the share of the items
 *   with that gold label that were predicted correctly (the label's recall). Keys are sorted;
 *   each value's `n` (its `support`) is the number of items with that gold label.
 * - `macro_f1` (corpus): scikit-learn's `f1_score(gold, predicted, average="macro")` with its
 *   defaults: the unweighted mean F1 over every label seen in the gold labels **or** the
 *   predictions (so an off-label prediction such as `maybe` adds a class with F1 0), and 0 for a
 *   precision, recall or F1 whose denominator is 0.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { macroF1, perClassAccuracy } from "./classification.ts";
 * const predictions = ["yes", "no", "yes", "Yes "];
 * const references = [["yes"], ["yes"], ["no"], ["yes"]];
 * deepStrictEqual(perClassAccuracy.compute(predictions, references), { acc_no: 0, acc_yes: 0.6666666666666666 });
 * deepStrictEqual(macroF1.compute(predictions, references), { macro_f1: 0.3333333333333333 });
 * ```
 * @module
 */
import type { CorpusMetric, ItemMetric } from "./mod.ts";
import { pyStrip } from "./_text.ts";

/**
 * The form labels are compared in: Python's `label.strip().lower()`.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { normalizeLabel } from "./classification.ts";
 * strictEqual(normalizeLabel("  Entailment\n"), "entailment");
 * ```
 */
export function normalizeLabel(label: string): string {
  return pyStrip(label).toLowerCase();
}

/** Gold labels (first reference of each item), checked against the predictions. */
function goldLabels(metric: string, predictions: string[], references: string[][]): string[] {
  if (predictions.length !== references.length) {
    throw new Error(
      `${metric}: ${predictions.length} predictions but ${references.length} reference lists; give one reference list per prediction`,
    );
  }
  return references.map((refs, i) => {
    if (refs.length === 0) {
      throw new Error(
        `${metric}: references[${i}] is empty; give the gold label as its first entry`,
      );
    }
    return normalizeLabel(refs[0]);
  });
}

function safeDivide(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : numerator / denominator;
}

/**
 * `acc`: 1 when the normalised prediction equals the normalised first reference, else 0.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { acc } from "./classification.ts";
 * strictEqual(acc.score(" YES", ["yes", "no"]), 1);
 * ```
 */
export const acc: ItemMetric = {
  kind: "item",
  name: "acc",
  description: "Label accuracy: prediction equals the first reference after trim + lowercase, 0–1",
  higherIsBetter: true,
  score(prediction: string, references: string[]): number {
    if (references.length === 0) {
      throw new Error("acc: references is empty; give the gold label as its first entry");
    }
    return normalizeLabel(prediction) === normalizeLabel(references[0]) ? 1 : 0;
  },
};

/**
 * `per_class_accuracy`: `{ acc_<label>: recall of that gold label }` for every gold label.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { perClassAccuracy } from "./classification.ts";
 * deepStrictEqual(perClassAccuracy.compute(["a", "b", "b"], [["a"], ["a"], ["b"]]), { acc_a: 0.5, acc_b: 1 });
 * deepStrictEqual(perClassAccuracy.support!(["a", "b", "b"], [["a"], ["a"], ["b"]]), { acc_a: 2, acc_b: 1 });
 * ```
 */
export const perClassAccuracy: CorpusMetric = {
  kind: "corpus",
  name: "per_class_accuracy",
  description:
    "Accuracy within each gold label (its recall), keys acc_<label>, labels trimmed + lowercased, 0–1",
  higherIsBetter: true,
  compute(predictions: string[], references: string[][]): Record<string, number> {
    const gold = goldLabels("per_class_accuracy", predictions, references);
    const totals = new Map<string, number>();
    const correct = new Map<string, number>();
    gold.forEach((label, i) => {
      totals.set(label, (totals.get(label) ?? 0) + 1);
      if (normalizeLabel(predictions[i]) === label) {
        correct.set(label, (correct.get(label) ?? 0) + 1);
      }
    });
    const out: Record<string, number> = {};
    for (const label of [...totals.keys()].sort()) {
      out[`acc_${label}`] = (correct.get(label) ?? 0) / totals.get(label)!;
    }
    return out;
  },
  support(predictions: string[], references: string[][]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const label of goldLabels("per_class_accuracy", predictions, references).sort()) {
      out[`acc_${label}`] = (out[`acc_${label}`] ?? 0) + 1;
    }
    return out;
  },
};

/**
 * `macro_f1`: `{ macro_f1 }`, scikit-learn's macro-averaged F1 over gold and predicted labels.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { macroF1 } from "./classification.ts";
 * deepStrictEqual(macroF1.compute(["a", "b"], [["a"], ["b"]]), { macro_f1: 1 });
 * ```
 */
export const macroF1: CorpusMetric = {
  kind: "corpus",
  name: "macro_f1",
  description:
    "Macro-averaged F1 over all gold and predicted labels (scikit-learn defaults), labels trimmed + lowercased, 0–1",
  higherIsBetter: true,
  compute(predictions: string[], references: string[][]): Record<string, number> {
    const gold = goldLabels("macro_f1", predictions, references);
    if (gold.length === 0) {
      throw new Error("macro_f1: no items; give at least one prediction");
    }
    const predicted = predictions.map(normalizeLabel);
    const labels = [...new Set([...gold, ...predicted])].sort();
    let sum = 0;
    for (const label of labels) {
      let truePositives = 0;
      let predictedCount = 0;
      let goldCount = 0;
      for (let i = 0; i < gold.length; i++) {
        const isGold = gold[i] === label;
        const isPredicted = predicted[i] === label;
        if (isGold) goldCount++;
        if (isPredicted) predictedCount++;
        if (isGold && isPredicted) truePositives++;
      }
      const precision = safeDivide(truePositives, predictedCount);
      const recall = safeDivide(truePositives, goldCount);
      sum += safeDivide(2 * precision * recall, precision + recall);
    }
    return { macro_f1: sum / labels.length };
  },
};

/**
 * lm-eval's `f1` for multiple-choice tasks: scikit-learn's `f1_score(golds, preds)` with its
 * defaults (`average="binary"`, `pos_label=1`: the F1 of the choice at index 1, as MC-TACO's
 * "yes"), over choice indices; 0 when there is no positive gold and no positive prediction
 * (scikit-learn's `zero_division`).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { binaryF1 } from "./classification.ts";
 * strictEqual(binaryF1([1, 0, 1, 1], [1, 1, 0, 1]), 2 / 3); // 2·TP / (2·TP + FP + FN)
 * strictEqual(binaryF1([0, 0], [0, 0]), 0);
 * ```
 */
export function binaryF1(golds: readonly number[], preds: readonly number[]): number {
  let tp = 0, fp = 0, fn = 0;
  golds.forEach((g, i) => {
    const p = preds[i];
    if (p === 1 && g === 1) tp++;
    else if (p === 1) fp++;
    else if (g === 1) fn++;
  });
  const denominator = 2 * tp + fp + fn;
  return denominator === 0 ? 0 : (2 * tp) / denominator;
}
