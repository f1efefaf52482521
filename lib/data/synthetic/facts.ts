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

/**
 * The sentences that state a fact, the first with the object last (the order a question about
 * the subject is answered in).
 */
function factForms(f: Pick<Fact, "relation" | "subject" | "object">): string[] {
  switch (f.relation) {
    case "capital":
      return [
        `The capital of ${f.subject} is ${f.object}.`,
        `${f.object} is the capital of ${f.subject}.`,
      ];
    case "color":
      return [
        `${capital(f.subject)} stones are ${f.object}.`,
        `A ${f.subject} stone is ${f.object}.`,
      ];
    case "food":
      return [`The ${f.subject} eats ${f.object}.`, `${capital(f.subject)}s feed on ${f.object}.`];
    case "orbit":
      return [
        `${f.subject} orbits the star ${f.object}.`,
        `The star ${f.object} has the planet ${f.subject}.`,
      ];
  }
}

/** A sentence stating the fact (pretraining text and the items' support). */
export function factSentence(f: Fact, rng: Rng): string {
  return rng.pick(factForms(f));
}

/** The question asking for each relation's object, `{}` standing for the subject. */
const QUESTIONS: Record<Fact["relation"], string> = {
  capital: "What is the capital of {}?",
  color: "What color are {} stones?",
  food: "What does the {} eat?",
  orbit: "Which star does {} orbit?",
};

/** {@linkcode QUESTIONS} as patterns that capture the subject, to read a question back. */
const QUESTION_FORMS = Object.entries(QUESTIONS).map(([relation, question]) =>
  [
    relation as Fact["relation"],
    new RegExp(`^${question.replace(/[?.]/g, "\\$&").replace("{}", "(.+)")}$`),
  ] as const
);

/**
 * The answer to a fact item's question as a sentence that ends with the answer, in the question's
 * own order ("What is the capital of Nisel?" → "The capital of Nisel is Volesa."), whichever form
 * its support sentence has; the support itself for a question not in {@linkcode factQuestion}'s
 * forms.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { factAnswer } from "./facts.ts";
 * const item = { question: "Which star does Roderwa orbit?", correct_answer: "Peltuko",
 *   support: "The star Peltuko has the planet Roderwa." };
 * assert.equal(factAnswer(item), "Roderwa orbits the star Peltuko.");
 * ```
 */
export function factAnswer(x: Pick<FactItem, "question" | "correct_answer" | "support">): string {
  for (const [relation, form] of QUESTION_FORMS) {
    const m = form.exec(x.question);
    if (m) return factForms({ relation, subject: m[1], object: x.correct_answer })[0];
  }
  return x.support;
}

/** The question that asks for the fact's object. */
export function factQuestion(f: Fact): string {
  return QUESTIONS[f.relation].replace("{}", () => f.subject);
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
