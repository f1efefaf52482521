/**
 * The `facts` family: closed-book multiple-choice questions about the world's fact base (capitals,
 * gem colours, animal foods, planet orbits) with three distractors from the same relation (sciq
 * shape: question, correct_answer, distractor1–3, support).
 * @module
 */
import type { Rng } from "../../util/rng.ts";
import { capital, type Fact, type World } from "./world.ts";

/** A multiple-choice fact question (sciq shape). */
export interface FactItem {
  /** Unique id (`facts-<n>`). */
  id: string;
  /** The question. */
  question: string;
  /** The right answer. */
  correct_answer: string;
  /** A wrong answer of the same relation. */
  distractor1: string;
  /** A wrong answer of the same relation. */
  distractor2: string;
  /** A wrong answer of the same relation. */
  distractor3: string;
  /** A sentence stating the fact. */
  support: string;
}

/** A sentence stating the fact (pretraining text and the items' support). */
export function factSentence(f: Fact, rng: Rng): string {
  const forms: Record<Fact["relation"], string[]> = {
    capital: [
      `The capital of ${f.subject} is ${f.object}.`,
      `${f.object} is the capital of ${f.subject}.`,
    ],
    color: [
      `${capital(f.subject)} stones are ${f.object}.`,
      `A ${f.subject} stone is ${f.object}.`,
    ],
    food: [`The ${f.subject} eats ${f.object}.`, `${capital(f.subject)}s feed on ${f.object}.`],
    orbit: [
      `${f.subject} orbits the star ${f.object}.`,
      `The star ${f.object} has the planet ${f.subject}.`,
    ],
  };
  return rng.pick(forms[f.relation]);
}

/** The question that asks for the fact's object. */
export function factQuestion(f: Fact): string {
  switch (f.relation) {
    case "capital":
      return `What is the capital of ${f.subject}?`;
    case "color":
      return `What color are ${f.subject} stones?`;
    case "food":
      return `What does the ${f.subject} eat?`;
    case "orbit":
      return `Which star does ${f.subject} orbit?`;
  }
}

/** `count` fact items: distinct facts of the world, in a shuffled order. */
export function makeFacts(world: World, rng: Rng, count: number): FactItem[] {
  const facts = rng.shuffle(world.facts).slice(0, count);
  return facts.map((f, n) => {
    const [d1, d2, d3] = rng.sample(f.pool.filter((o) => o !== f.object), 3);
    return {
      id: `facts-${n}`,
      question: factQuestion(f),
      correct_answer: f.object,
      distractor1: d1,
      distractor2: d2,
      distractor3: d3,
      support: factSentence(f, rng),
    };
  });
}
