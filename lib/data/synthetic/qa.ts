/**
 * The `qa` family: extractive QA over short generated contexts (SQuAD v1.1 shape: title, context,
 * question, answers) about where people live, their job, pet and favourite colour.
 * @module
 */
import type { Rng } from "../../util/rng.ts";
import { quiz } from "./style.ts";
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

/** What a context says about one person. */
export interface PersonFacts {
  /** The person. */
  person: string;
  /** Where they live. */
  city: string;
  /** Their job. */
  job: string;
  /** Their pet. */
  pet: string;
  /** Their favourite colour. */
  color: string;
}

/** The facts of `people` drawn at random, and the context that states them in shuffled order. */
function makeContext(
  world: World,
  rng: Rng,
  people: readonly string[],
): { facts: PersonFacts[]; context: string } {
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
  return { facts, context: rng.shuffle(sentences).join(" ") };
}

/** The four questions a context answers about one person, each with its prose restatement. */
function questionsAbout(
  f: PersonFacts,
): { question: string; answer: string; restatement: string }[] {
  const p = f.person;
  return [
    {
      question: `Where does ${p} live?`,
      answer: f.city,
      restatement: `So ${p} lives in ${f.city}.`,
    },
    {
      question: `What is the job of ${p}?`,
      answer: f.job,
      restatement: `So ${p} is ${article(f.job)} ${f.job}.`,
    },
    {
      question: `What pet does ${p} have?`,
      answer: f.pet,
      restatement: `So the pet of ${p} is a ${f.pet}.`,
    },
    {
      question: `What is the favorite color of ${p}?`,
      answer: f.color,
      restatement: `So ${p} likes ${f.color}.`,
    },
  ];
}

/** A random context about one or two people, and a question about one of them. */
export function makeProfile(world: World, rng: Rng): Profile {
  const { facts, context } = makeContext(world, rng, rng.sample(world.people, rng.pick([1, 2])));
  const target = rng.pick(facts);
  return { title: target.person, context, ...rng.pick(questionsAbout(target)) };
}

/**
 * A recall drill for pretraining: a context about two or three people, then `questions` facts
 * recalled from it (restated in prose, or asked and answered in a corpus quiz style), so a model
 * pretrained on it learns to find names and values in its context and copy them (the skill the
 * extractive QA, entailment and summary families need). Corpus text only: never the evaluation
 * format.
 */
export function recallDrill(
  world: World,
  rng: Rng,
  questions: number,
  verbatim = false,
): string {
  const { facts, context } = makeContext(world, rng, rng.sample(world.people, rng.int(2, 3)));
  const parts = [context];
  const sentences = context.split(/(?<=\.) /);
  for (let i = 0; i < questions; i++) {
    if (verbatim && rng.next() < 0.5) {
      // A context sentence repeated word for word: copying what followed the same words before
      // (induction) is the only way to predict its last word.
      const s = rng.pick(sentences);
      parts.push(`${rng.pick(["So", "Again,", "Yes,"])} ${s.replace(/^The /, "the ")}`);
      continue;
    }
    const q = rng.pick(questionsAbout(rng.pick(facts)));
    parts.push(rng.next() < 0.5 ? q.restatement : quiz(q.question, q.answer, rng));
  }
  return parts.join(" ");
}

/**
 * A list of names said twice, for pretraining induction: "Guests: A, B, C and D. In order: A, B,
 * C and D." — the second list can only be predicted by copying the first.
 */
export function copyList(world: World, rng: Rng): string {
  const names = rng.sample([...world.people, ...world.cities], rng.int(3, 6));
  const list = `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
  const [first, again] = rng.pick([
    ["Guests:", "In order:"],
    ["The list:", "Once more:"],
    ["Stops:", "Back again:"],
  ]);
  return `${first} ${list}. ${again} ${list}.`;
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

/**
 * The context's sentence that states `answer` about `person` (the context may mention two
 * people), or undefined when no sentence names both.
 */
export function answerSentence(
  context: string,
  person: string,
  answer: string,
): string | undefined {
  return context.split(/(?<=\.) /).find((s) => s.includes(person) && s.includes(answer));
}

function answerStart(context: string, person: string, answer: string): number {
  const sentence = answerSentence(context, person, answer);
  return sentence === undefined
    ? context.indexOf(answer)
    : context.indexOf(sentence) + sentence.lastIndexOf(answer);
}
