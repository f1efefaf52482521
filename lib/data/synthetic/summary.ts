/**
 * The `summary` family: short news passages (a lead sentence, the key sentences and a shuffled
 * mix of details, distractors about other people and places, and filler) about a race, a shop
 * opening, a storm, a discovery, an election or a match in one of the world's cities, with a
 * one-sentence reference summary (XSum shape: document, summary). The summary is a template of
 * its event kind filled with spans copied out of the passage (who, where, what, how many), so it
 * can be derived from the passage alone: every word of it that is not a function word
 * ({@linkcode SUMMARY_FUNCTION_WORDS}) occurs in the passage, and the details and distractors
 * are what it leaves out. Lead and key sentences have several wordings per kind.
 *
 * The corpus form ({@linkcode summaryText}) puts the summary before the passage as a headline or
 * after it ("In short: …"), never after `Short summary:` on a line of its own as the task's prompt
 * does.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { Rng } from "../../util/rng.ts";
 * import { makeWorld } from "./world.ts";
 * import { makeSummary } from "./summary.ts";
 * const item = makeSummary(makeWorld(1234), new Rng(1));
 * ok(item.document.split(". ").length >= 3);
 * ok(item.summary.endsWith("."));
 * ```
 * @module
 */
import type { Rng } from "../../util/rng.ts";
import { article, JOBS, type World } from "./world.ts";

/** A summarization item (XSum shape). */
export interface SummaryItem {
  /** Unique id (`summary-<n>`). */
  id: string;
  /** The passage. */
  document: string;
  /** Its one-sentence reference summary. */
  summary: string;
  /** The event kind. */
  kind: string;
}

/** The event kinds. */
export const SUMMARY_KINDS = [
  "race",
  "opening",
  "storm",
  "discovery",
  "election",
  "match",
] as const;

/** The only words a summary may use that its passage need not contain. */
export const SUMMARY_FUNCTION_WORDS: ReadonlySet<string> = new Set([
  "a",
  "an",
  "the",
  "and",
  "of",
  "in",
  "on",
  "to",
  "by",
  "with",
]);

const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const RACES = ["boat", "horse", "bike", "foot", "sled"];
const PRIZES = ["a gold cup", "a silver medal", "a new saddle", "a big cake", "a red ribbon"];
const SHOPS = ["bakery", "book shop", "tea house", "toy shop", "flower shop", "bike shop"];
const GOODS = ["bread and cakes", "old books", "green tea", "wooden toys", "roses", "bike parts"];
const CREATURES = ["fish", "frog", "beetle", "snail", "bird", "moth"];
const PLACES = ["bridge", "school", "library", "market", "park", "harbor"];
const WEATHER = ["sunny", "cold", "windy", "rainy", "warm", "grey"];
const FILLERS = [
  "Many people talked about it for weeks.",
  "The local paper wrote about it.",
  "Some children watched from a hill.",
  "Tea and bread were served.",
  "It was the talk of the market.",
  "Photos of it were shared all over town.",
  "A small band played music.",
];

interface Story {
  /** The opening sentence (always first). */
  lead: string;
  /** Sentences the summary draws on: always in the passage. */
  key: string[];
  /** Details and distractors the summary leaves out: some of them are in the passage. */
  details: string[];
  summary: string;
}

function story(kind: typeof SUMMARY_KINDS[number], world: World, rng: Rng): Story {
  const [city, city2, city3] = rng.sample(world.cities, 3);
  const [p, q, r] = rng.sample(world.people, 3);
  const day = rng.pick(DAYS);
  const job = rng.pick(JOBS);
  const n = rng.int(12, 90);
  switch (kind) {
    case "race": {
      const race = rng.pick(RACES);
      return {
        lead: rng.pick([
          `The yearly ${race} race was held in ${city} on ${day}.`,
          `On ${day}, ${city} held its yearly ${race} race.`,
        ]),
        key: [
          rng.pick([
            `${p}, ${article(job)} ${job}, won the race.`,
            `The race was won by ${p}, ${article(job)} ${job}.`,
          ]),
        ],
        details: [
          `${q} came second, just behind ${p}.`,
          `${n} people took part.`,
          `The winner got ${rng.pick(PRIZES)}.`,
          `${r} from ${city2} won the same race last year.`,
        ],
        summary: `${p} won the ${race} race in ${city}.`,
      };
    }
    case "opening": {
      const i = rng.int(0, SHOPS.length - 1);
      return {
        lead: rng.pick([
          `A new ${SHOPS[i]} opened in ${city} on ${day}.`,
          `On ${day} a new ${SHOPS[i]} opened its doors in ${city}.`,
        ]),
        key: [
          rng.pick([
            `It is run by ${p}, who used to work as ${article(job)} ${job}.`,
            `${p}, ${article(job)} ${job} until last year, opened it.`,
          ]),
        ],
        details: [
          `The ${SHOPS[i]} sells ${GOODS[i]}.`,
          `${n} people came on the first day.`,
          `${q} said the town needed it.`,
          `${r} runs a shop like it in ${city2}.`,
        ],
        summary: `${p} opened a new ${SHOPS[i]} in ${city}.`,
      };
    }
    case "storm": {
      const homes = rng.int(100, 900);
      return {
        lead: rng.pick([
          `A strong storm hit ${city} on ${day} night.`,
          `On ${day} night a storm hit ${city}.`,
        ]),
        key: [
          rng.pick([`About ${homes} homes lost power.`, `In ${homes} homes the power was lost.`]),
        ],
        details: [
          `The wind broke ${n} trees.`,
          `${p}, the mayor, closed the schools for a day.`,
          `No one was hurt.`,
          `The storm missed ${city2}.`,
        ],
        summary: `A storm hit ${city} and ${homes} homes lost power.`,
      };
    }
    case "discovery": {
      const creature = rng.pick(CREATURES);
      const name = rng.pick(world.animals);
      return {
        lead: rng.pick([
          `Scientists in ${city} found a new kind of ${creature}.`,
          `A new kind of ${creature} was found near ${city}.`,
        ]),
        key: [
          rng.pick([`The team was led by ${p}.`, `${p} led the team.`]),
          rng.pick([`They named it the ${name}.`, `The new ${creature} was named the ${name}.`]),
        ],
        details: [
          `The ${creature} eats ${rng.pick(["seeds", "leaves", "insects", "roots"])}.`,
          `It is about ${rng.int(2, 30)} inches long.`,
          `${q} from ${city2} helped with the work.`,
        ],
        summary: `A team led by ${p} found a new ${creature} in ${city}, the ${name}.`,
      };
    }
    case "election": {
      const [win, lose] = [rng.int(300, 900), rng.int(50, 299)];
      return {
        lead: rng.pick([
          `${city} chose a new mayor on ${day}.`,
          `On ${day} the people of ${city} voted for a new mayor.`,
        ]),
        key: [
          rng.pick([
            `${p} won with ${win} votes and became the new mayor.`,
            `With ${win} votes, ${p} became the new mayor.`,
          ]),
        ],
        details: [
          `${q} got ${lose} votes.`,
          `${p} used to work as ${article(job)} ${job}.`,
          `${p} wants to build a new ${rng.pick(PLACES)}.`,
          `${r} is still the mayor of ${city2}.`,
        ],
        summary: `${p} became the new mayor of ${city} with ${win} votes.`,
      };
    }
    default: {
      const [x, y] = [rng.int(2, 6), rng.int(0, 1)];
      return {
        lead: rng.pick([
          `The team of ${city} played the team of ${city2} on ${day}.`,
          `On ${day}, ${city} played ${city2}.`,
        ]),
        key: [
          rng.pick([
            `In the end ${city} beat ${city2} ${x} to ${y}.`,
            `${city} beat ${city2}, ${x} to ${y}.`,
          ]),
        ],
        details: [
          `${p} scored ${x === 2 ? "both" : "two of the"} goals.`,
          `${n} fans watched the game.`,
          `It was ${rng.pick(WEATHER)} all day.`,
          `Next week ${city} plays ${city3}.`,
        ],
        summary: `${city} beat ${city2} ${x} to ${y} on ${day}.`,
      };
    }
  }
}

function makeStory(world: World, rng: Rng): Omit<SummaryItem, "id"> {
  const kind = rng.pick(SUMMARY_KINDS);
  const s = story(kind, world, rng);
  const details = rng.sample(s.details, rng.int(1, s.details.length));
  const fillers = rng.sample(FILLERS, rng.int(0, 2));
  const document = [s.lead, ...rng.shuffle([...s.key, ...details, ...fillers])].join(" ");
  return { document, summary: s.summary, kind };
}

/** One summarization item (without its id). */
export function makeSummary(world: World, rng: Rng): Omit<SummaryItem, "id"> {
  return makeStory(world, rng);
}

/** A corpus passage with its summary as a headline before it or a short version after it. */
export function summaryText(world: World, rng: Rng): string {
  const { document, summary } = makeStory(world, rng);
  switch (rng.int(0, 3)) {
    case 0:
      return `News: ${summary} ${document}`;
    case 1:
      return `${document} In short: ${summary}`;
    case 2:
      return `${document} The main point: ${summary}`;
    default:
      return `${summary} The full story: ${document}`;
  }
}
