/**
 * Synthetic task families that mirror the seed workflows' benchmarks, and the
 * pretraining corpus of the bundled tiny model.
 *
 * Four families, each deterministic from a seed:
 * - `arithmetic`: 1–3 digit plus / minus / times, in lm-evaluation-harness's
 *   arithmetic format (`context` = "Question: What is 7 plus 5?\nAnswer:", `completion` = " 12").
 * - `entailment`: logical puzzles with yes/no labels (tasksource/puzzte shape: premise, hypothesis, label).
 * - `qa`: extractive QA over short generated contexts (SQuAD v1.1 shape: context, question, answers).
 * - `facts`: closed-book multiple-choice fact questions with three distractors (sciq shape).
 *
 * The pretraining corpus states the same facts and skills in prose ("7 plus 5 is 12.",
 * "All wugs are daxes. Tom is a wug. So Tom is a dax.") and in a loose quiz style
 * ("Q: ... A: ..."), but never in the evaluation prompts' `Question:` / `Answer:` format:
 * the base model knows the material and learns the format only when fine-tuned.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { makeSplits } from "./synthetic.ts";
 * const splits = makeSplits("arithmetic", { seed: 1234 });
 * strictEqual(splits.test[0].context, "Question: What is 253 minus 64?\nAnswer:");
 * strictEqual(splits.test[0].completion, " 189");
 * ```
 * @module
 */
import { Rng } from "../util/rng.ts";

/** The synthetic task families. */
export const FAMILIES = ["arithmetic", "entailment", "qa", "facts"] as const;
/** One synthetic task family. */
export type Family = typeof FAMILIES[number];
/** The split names, as Hugging Face datasets name them. */
export const SPLITS = ["train", "validation", "test"] as const;
/** One split name. */
export type Split = typeof SPLITS[number];
/** The world seed the bundled tasks and the tiny model's corpus use, and the corpus size. */
export const SYNTHETIC_DEFAULTS = { seed: 1234, documents: 60000 } as const;

/** An arithmetic item, in lm-evaluation-harness's arithmetic format. */
export interface ArithmeticItem {
  id: string;
  context: string;
  completion: string;
  op: "plus" | "minus" | "times";
  a: number;
  b: number;
}

/** A logical-entailment puzzle (tasksource/puzzte shape, yes/no label). */
export interface EntailmentItem {
  id: string;
  premise: string;
  hypothesis: string;
  label: "yes" | "no";
  kind: string;
}

/** An extractive QA item (SQuAD v1.1 shape). */
export interface QaItem {
  id: string;
  title: string;
  context: string;
  question: string;
  answers: { text: string[]; answer_start: number[] };
}

/** A multiple-choice fact question (sciq shape). */
export interface FactItem {
  id: string;
  question: string;
  correct_answer: string;
  distractor1: string;
  distractor2: string;
  distractor3: string;
  support: string;
}

/** The item type of each family. */
export interface FamilyItem {
  arithmetic: ArithmeticItem;
  entailment: EntailmentItem;
  qa: QaItem;
  facts: FactItem;
}

/** Options for {@linkcode makeSplits}. */
export interface SplitOptions {
  /** The world seed: names, facts and items all derive from it. Default: 1234. */
  seed?: number;
  /** Items in the test split. Default: 200. */
  test?: number;
  /** Items in the validation split. Default: 100. */
  validation?: number;
  /** Items in the train split (at most; fewer if the family has fewer unique items). Default: 1000. */
  train?: number;
}

/** Options for {@linkcode makePretrainCorpus}. */
export interface CorpusOptions {
  /** The world seed (must match the task splits' seed). Default: 1234. */
  seed?: number;
  /** Number of documents (each a few sentences). Default: 60000. */
  documents?: number;
  /** Share of quiz-style ("Q: … A: …") sentences. Default: 0.25. */
  quizShare?: number;
}

const SYLLABLES = [
  "ba",
  "ko",
  "ri",
  "mel",
  "dan",
  "sa",
  "tor",
  "li",
  "ven",
  "mo",
  "ka",
  "zu",
  "pel",
  "ra",
  "ni",
  "gor",
  "fa",
  "tu",
  "shi",
  "lo",
  "mi",
  "der",
  "ne",
  "vo",
  "pa",
  "ru",
  "sel",
  "di",
  "ta",
  "bri",
  "go",
  "ha",
  "ju",
  "le",
  "kin",
  "wa",
  "ro",
  "fen",
  "ga",
  "ly",
];
const COLORS = [
  "red",
  "blue",
  "green",
  "yellow",
  "white",
  "black",
  "purple",
  "orange",
  "grey",
  "pink",
];
const FOODS = [
  "grass",
  "fish",
  "seeds",
  "berries",
  "leaves",
  "insects",
  "roots",
  "nuts",
  "worms",
  "fruit",
  "bark",
  "honey",
];
const JOBS = [
  "baker",
  "teacher",
  "doctor",
  "farmer",
  "painter",
  "pilot",
  "singer",
  "driver",
  "nurse",
  "tailor",
  "cook",
  "miner",
];
const PETS = [
  "cat",
  "dog",
  "horse",
  "goat",
  "parrot",
  "rabbit",
  "turtle",
  "hamster",
  "duck",
  "pig",
];

/** The fixed world a seed defines: names and the fact base. */
interface World {
  people: string[];
  countries: string[];
  cities: string[];
  gems: string[];
  animals: string[];
  stars: string[];
  planets: string[];
  kinds: string[];
  facts: Fact[];
}

interface Fact {
  relation: "capital" | "color" | "food" | "orbit";
  subject: string;
  object: string;
  pool: readonly string[];
}

function makeNames(rng: Rng, count: number): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  while (out.length < count) {
    const n = rng.int(2, 3);
    let name = "";
    for (let i = 0; i < n; i++) name += rng.pick(SYLLABLES);
    if (seen.has(name) || name.endsWith("s")) continue;
    seen.add(name);
    out.push(name);
  }
  return out;
}

function capital(word: string): string {
  return word[0].toUpperCase() + word.slice(1);
}

const worldCache = new Map<number, World>();

function makeWorld(seed: number): World {
  const cached = worldCache.get(seed);
  if (cached) return cached;
  const rng = new Rng(seed, "world");
  const names = makeNames(rng, 1200);
  let at = 0;
  const take = (n: number, cap = true) =>
    names.slice(at, at += n).map((w) => (cap ? capital(w) : w));
  const people = take(200);
  const countries = take(150);
  const cities = take(40);
  const gems = take(150, false);
  const animals = take(150, false);
  const stars = take(30);
  const planets = take(150);
  const kinds = take(40, false);
  const facts: Fact[] = [
    ...countries.map((s) => ({
      relation: "capital" as const,
      subject: s,
      object: rng.pick(cities),
      pool: cities,
    })),
    ...gems.map((s) => ({
      relation: "color" as const,
      subject: s,
      object: rng.pick(COLORS),
      pool: COLORS,
    })),
    ...animals.map((s) => ({
      relation: "food" as const,
      subject: s,
      object: rng.pick(FOODS),
      pool: FOODS,
    })),
    ...planets.map((s) => ({
      relation: "orbit" as const,
      subject: s,
      object: rng.pick(stars),
      pool: stars,
    })),
  ];
  const world = { people, countries, cities, gems, animals, stars, planets, kinds, facts };
  worldCache.set(seed, world);
  return world;
}

function factSentence(f: Fact, rng: Rng): string {
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

function factQuestion(f: Fact): string {
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

/** Quiz styles of the pretraining text: near the evaluation format, never the same. */
function quiz(question: string, answer: string, rng: Rng): string {
  switch (rng.int(0, 3)) {
    case 0:
      return `Q: ${question} A: ${answer}`;
    case 1:
      return `Question: ${question} Reply: ${answer}`;
    case 2:
      return `${question}\nA: ${answer}`;
    default:
      return `${question} Answer: ${answer}`;
  }
}

function arithmeticOperands(rng: Rng): { op: ArithmeticItem["op"]; a: number; b: number } {
  const op = rng.pick(["plus", "plus", "minus", "minus", "times"] as const);
  const digits = () => rng.pick([1, 1, 2, 2, 3]);
  const num = (d: number) => (d === 1 ? rng.int(0, 9) : rng.int(10 ** (d - 1), 10 ** d - 1));
  if (op === "times") return { op, a: num(rng.pick([1, 2])), b: num(1) };
  return { op, a: num(digits()), b: num(digits()) };
}

function arithmeticValue(op: ArithmeticItem["op"], a: number, b: number): number {
  return op === "plus" ? a + b : op === "minus" ? a - b : a * b;
}

function arithmeticSentence(op: ArithmeticItem["op"], a: number, b: number, rng: Rng): string {
  const c = arithmeticValue(op, a, b);
  const forms = {
    plus: [
      `${a} plus ${b} is ${c}.`,
      `Adding ${b} to ${a} gives ${c}.`,
      `The sum of ${a} and ${b} is ${c}.`,
    ],
    minus: [`${a} minus ${b} is ${c}.`, `Taking ${b} from ${a} leaves ${c}.`],
    times: [`${a} times ${b} is ${c}.`, `The product of ${a} and ${b} is ${c}.`],
  };
  return rng.pick(forms[op]);
}

interface Puzzle {
  premise: string;
  hypothesis: string;
  label: "yes" | "no";
  kind: string;
  /** The prose form used in pretraining: premise plus its conclusion. */
  prose: string;
}

function entailmentQuiz(p: Puzzle, rng: Rng): string {
  const h = p.hypothesis.replace(/\.$/, "?");
  return rng.next() < 0.5
    ? `Premise: ${p.premise} ${quiz(`Does it follow that ${h}`, p.label, rng)}`
    : `${p.premise} Hypothesis: ${p.hypothesis} Entailed: ${p.label}`;
}

function article(word: string): string {
  return "aeiou".includes(word[0]) ? "an" : "a";
}

function makePuzzle(world: World, rng: Rng): Puzzle {
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

interface Profile {
  title: string;
  context: string;
  question: string;
  answer: string;
  /** A prose restatement used in pretraining. */
  restatement: string;
}

function makeProfile(world: World, rng: Rng): Profile {
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

function uniqueItems<T extends { id: string }>(
  count: number,
  make: (rng: Rng) => Omit<T, "id">,
  key: (item: Omit<T, "id">) => string,
  rng: Rng,
  family: string,
): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  let misses = 0;
  while (out.length < count && misses < count * 20) {
    const item = make(rng);
    const k = key(item);
    if (seen.has(k)) {
      misses++;
      continue;
    }
    seen.add(k);
    out.push({ id: `${family}-${out.length}`, ...item } as T);
  }
  return out;
}

/** Every unique item of a family for a seed, in a deterministic order (before splitting). */
export function makeItems<F extends Family>(
  family: F,
  count: number,
  seed: number = SYNTHETIC_DEFAULTS.seed,
): FamilyItem[F][] {
  const world = makeWorld(seed);
  const rng = new Rng(seed, `items:${family}`);
  switch (family) {
    case "arithmetic":
      return uniqueItems<ArithmeticItem>(
        count,
        (r) => {
          const { op, a, b } = arithmeticOperands(r);
          return {
            context: `Question: What is ${a} ${op} ${b}?\nAnswer:`,
            completion: ` ${arithmeticValue(op, a, b)}`,
            op,
            a,
            b,
          };
        },
        (i) => i.context,
        rng,
        family,
      ) as FamilyItem[F][];
    case "entailment":
      return uniqueItems<EntailmentItem>(
        count,
        (r) => {
          const { premise, hypothesis, label, kind } = makePuzzle(world, r);
          return { premise, hypothesis, label, kind };
        },
        (i) => `${i.premise}|${i.hypothesis}`,
        rng,
        family,
      ) as FamilyItem[F][];
    case "qa":
      return uniqueItems<QaItem>(
        count,
        (r) => {
          const p = makeProfile(world, r);
          return {
            title: p.title,
            context: p.context,
            question: p.question,
            answers: {
              text: [p.answer],
              answer_start: [answerStart(p.context, p.title, p.answer)],
            },
          };
        },
        (i) => `${i.context}|${i.question}`,
        rng,
        family,
      ) as FamilyItem[F][];
    case "facts": {
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
      }) as FamilyItem[F][];
    }
    default:
      throw new Error(`unknown synthetic family "${family}": use one of ${FAMILIES.join(", ")}`);
  }
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

/** Train / validation / test splits of one family; no item appears in two splits. */
export function makeSplits<F extends Family>(
  family: F,
  options: SplitOptions = {},
): Record<Split, FamilyItem[F][]> {
  const { seed = SYNTHETIC_DEFAULTS.seed, test = 200, validation = 100, train = 1000 } = options;
  const items = makeItems(family, test + validation + train, seed);
  if (items.length < test + validation + 1) {
    throw new Error(
      `synthetic family "${family}" has only ${items.length} unique items for seed ${seed}; ` +
        `ask for fewer than test=${test} + validation=${validation}`,
    );
  }
  return {
    test: items.slice(0, test),
    validation: items.slice(test, test + validation),
    train: items.slice(test + validation, test + validation + train),
  };
}

/**
 * The pretraining corpus: `documents` short paragraphs (which may contain newlines), each mixing
 * sentences from every family. Deterministic from the seed.
 */
export function* makePretrainCorpus(options: CorpusOptions = {}): Generator<string> {
  const {
    seed = SYNTHETIC_DEFAULTS.seed,
    documents = SYNTHETIC_DEFAULTS.documents,
    quizShare = 0.25,
  } = options;
  const world = makeWorld(seed);
  const rng = new Rng(seed, "corpus");
  for (let d = 0; d < documents; d++) {
    const parts: string[] = [];
    const n = rng.int(3, 6);
    for (let s = 0; s < n; s++) {
      const asQuiz = rng.next() < quizShare;
      const family = rng.pick(FAMILIES);
      if (family === "arithmetic") {
        const { op, a, b } = arithmeticOperands(rng);
        parts.push(
          asQuiz
            ? quiz(`What is ${a} ${op} ${b}?`, `${arithmeticValue(op, a, b)}`, rng)
            : arithmeticSentence(op, a, b, rng),
        );
      } else if (family === "facts") {
        const f = rng.pick(world.facts);
        parts.push(asQuiz ? quiz(factQuestion(f), f.object, rng) : factSentence(f, rng));
      } else if (family === "entailment") {
        const p = makePuzzle(world, rng);
        parts.push(
          asQuiz ? entailmentQuiz(p, rng) : p.prose,
        );
      } else {
        const p = makeProfile(world, rng);
        parts.push(
          asQuiz
            ? `${rng.next() < 0.5 ? "Context: " : ""}${p.context} ${
              quiz(p.question, p.answer, rng)
            }`
            : `${p.context} ${p.restatement}`,
        );
      }
    }
    yield parts.join(" ");
  }
}
