/**
 * The `entailment` family: logical puzzles with yes/no labels (tasksource/puzzte shape: premise,
 * hypothesis, label) — syllogisms ("All wugs are daxes. Tom is a wug.") and taller-than chains —
 * and the corpus's prose form ("… So Tom is a dax.").
 * @module
 */
import type { Rng } from "../../util/rng.ts";
import { quiz } from "./style.ts";
import { article, type World } from "./world.ts";

/** A logical-entailment puzzle (tasksource/puzzte shape, yes/no label). */
export interface EntailmentItem {
  /** Unique id (`entailment-<n>`). */
  id: string;
  /** The premise sentences. */
  premise: string;
  /** The hypothesis sentence. */
  hypothesis: string;
  /** Whether the hypothesis follows from the premise. */
  label: "yes" | "no";
  /** The puzzle kind (all, no, converse, taller-yes, taller-no). */
  kind: string;
}

/** A puzzle with its prose form. */
export interface Puzzle {
  /** The premise sentences. */
  premise: string;
  /** The hypothesis sentence. */
  hypothesis: string;
  /** Whether the hypothesis follows. */
  label: "yes" | "no";
  /** The puzzle kind. */
  kind: string;
  /** The prose form used in pretraining: premise plus its conclusion. */
  prose: string;
}

/** The puzzle in one of the corpus's quiz styles (pretraining text). */
export function entailmentQuiz(p: Puzzle, rng: Rng): string {
  const h = p.hypothesis.replace(/\.$/, "?");
  return rng.next() < 0.5
    ? `Premise: ${p.premise} ${quiz(`Does it follow that ${h}`, p.label, rng)}`
    : `${p.premise} Hypothesis: ${p.hypothesis} Entailed: ${p.label}`;
}

/** A random puzzle over the world's people and kinds. */
export function makePuzzle(world: World, rng: Rng): Puzzle {
  const [n, m, k] = rng.sample(world.people, 3);
  const [x, y] = rng.sample(world.kinds, 2);
  const kind = rng.pick(["all", "no", "converse", "taller-yes", "taller-no"]);
  switch (kind) {
    case "all": {
      const premise = `All ${x}s are ${y}s. ${n} is ${article(x)} ${x}.`;
      const hypothesis = `${n} is ${article(y)} ${y}.`;
      return { premise, hypothesis, label: "yes", kind, prose: `${premise} So ${hypothesis}` };
    }
    case "no": {
      const premise = `No ${x}s are ${y}s. ${n} is ${article(x)} ${x}.`;
      const hypothesis = `${n} is ${article(y)} ${y}.`;
      return {
        premise,
        hypothesis,
        label: "no",
        kind,
        prose: `${premise} So ${n} is not ${article(y)} ${y}.`,
      };
    }
    case "converse": {
      const premise = `All ${x}s are ${y}s. ${n} is ${article(y)} ${y}.`;
      const hypothesis = `${n} is ${article(x)} ${x}.`;
      return {
        premise,
        hypothesis,
        label: "no",
        kind,
        prose: `${premise} We cannot tell if ${n} is ${article(x)} ${x}.`,
      };
    }
    case "taller-yes": {
      const premise = `${n} is taller than ${m}. ${m} is taller than ${k}.`;
      const hypothesis = `${n} is taller than ${k}.`;
      return { premise, hypothesis, label: "yes", kind, prose: `${premise} So ${hypothesis}` };
    }
    default: {
      const premise = `${n} is taller than ${m}. ${m} is taller than ${k}.`;
      const hypothesis = `${k} is taller than ${n}.`;
      return {
        premise,
        hypothesis,
        label: "no",
        kind,
        prose: `${premise} So ${k} is not taller than ${n}.`,
      };
    }
  }
}

/** One entailment item (without its id). */
export function makeEntailment(world: World, rng: Rng): Omit<EntailmentItem, "id"> {
  const { premise, hypothesis, label, kind } = makePuzzle(world, rng);
  return { premise, hypothesis, label, kind };
}
