/**
 * The `qa` family: extractive QA over short generated contexts (SQuAD v1.1 shape: title, context,
 * question, answers) about where people live, their job, pet and favourite colour.
 * @module
 */
import type { Rng } from "../../util/rng.ts";
import { article, COLORS, JOBS, PETS, type World } from "./world.ts";

/** An extractive QA item (SQuAD v1.1 shape). */
export interface QaItem {
  /** Unique id (`qa-<n>`). */
  id: string;
  /** The person the question is about. */
  title: string;
  /** The context. */
  context: string;
  /** The question. */
  question: string;
  /** The answer spans and their character offsets in `context`. */
  answers: { text: string[]; answer_start: number[] };
}

/** A generated context with one question about it. */
export interface Profile {
  /** The person asked about. */
  title: string;
  /** The context sentences. */
  context: string;
  /** The question. */
  question: string;
  /** The answer (a span of the context). */
  answer: string;
  /** A prose restatement used in pretraining. */
  restatement: string;
}

/** A random context about one or two people, and a question about one of them. */
export function makeProfile(world: World, rng: Rng): Profile {
  const people = rng.sample(world.people, rng.pick([1, 2]));
  const facts = people.map((p) => ({
    person: p,
    city: rng.pick(world.cities),
    job: rng.pick(JOBS),
    pet: rng.pick(PETS),
    color: rng.pick(COLORS),
  }));
  const sentences = facts.flatMap((f) => [
    `${f.person} lives in ${f.city}.`,
    `${f.person} works as ${article(f.job)} ${f.job}.`,
    `${f.person} has a pet ${f.pet}.`,
    `The favorite color of ${f.person} is ${f.color}.`,
  ]);
  const context = rng.shuffle(sentences).join(" ");
  const target = rng.pick(facts);
  const p = target.person;
  const q = rng.pick([
    {
      question: `Where does ${p} live?`,
      answer: target.city,
      restatement: `So ${p} lives in ${target.city}.`,
    },
    {
      question: `What is the job of ${p}?`,
      answer: target.job,
      restatement: `So ${p} is ${article(target.job)} ${target.job}.`,
    },
    {
      question: `What pet does ${p} have?`,
      answer: target.pet,
      restatement: `So the pet of ${p} is a ${target.pet}.`,
    },
    {
      question: `What is the favorite color of ${p}?`,
      answer: target.color,
      restatement: `So ${p} likes ${target.color}.`,
    },
  ]);
  return { title: p, context, ...q };
}

/** One QA item (without its id). */
export function makeQa(world: World, rng: Rng): Omit<QaItem, "id"> {
  const p = makeProfile(world, rng);
  return {
    title: p.title,
    context: p.context,
    question: p.question,
    answers: {
      text: [p.answer],
      answer_start: [answerStart(p.context, p.title, p.answer)],
    },
  };
}

function answerStart(context: string, person: string, answer: string): number {
  // The answer as stated in a sentence about this person (the context may mention two people).
  for (const sentence of context.split(/(?<=\.) /)) {
    if (sentence.includes(person) && sentence.includes(answer)) {
      return context.indexOf(sentence) + sentence.lastIndexOf(answer);
    }
  }
  return context.indexOf(answer);
}
