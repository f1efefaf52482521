/**
 * The fixed world a seed defines for the synthetic task families: made-up names (people,
 * countries, cities, …), the fact base the `facts` family asks about, and the word lists the
 * families share. Every family and the tiny model's pretraining corpus draw from the same world, so
 * what the corpus teaches is what the tasks ask.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { makeWorld } from "./world.ts";
 * const world = makeWorld(1234);
 * strictEqual(world.people.length, 200);
 * strictEqual(makeWorld(1234), world); // cached per seed
 * ```
 * @module
 */
import { Rng } from "../../util/rng.ts";

/** Syllables the made-up names are built from. */
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
/** Word list of the synthetic world (colors). */
export const COLORS = [
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
/** Word list of the synthetic world (foods). */
export const FOODS = [
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
/** Word list of the synthetic world (jobs). */
export const JOBS = [
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
/** Word list of the synthetic world (pets). */
export const PETS = [
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
export interface World {
  /** Person names, capitalised. */
  people: string[];
  /** Country names, capitalised. */
  countries: string[];
  /** City names (capitals; also where the summary family's events happen), capitalised. */
  cities: string[];
  /** Gem names, lower case. */
  gems: string[];
  /** Animal names, lower case (also the code family's identifier stems). */
  animals: string[];
  /** Star names, capitalised. */
  stars: string[];
  /** Planet names, capitalised. */
  planets: string[];
  /** Kind nouns of the entailment puzzles ("wug"), lower case. */
  kinds: string[];
  /** The fact base. */
  facts: Fact[];
}

/** One fact: `subject` has `object` under `relation`; `pool` holds the relation's objects. */
export interface Fact {
  /** The relation. */
  relation: "capital" | "color" | "food" | "orbit";
  /** The subject (a country, gem, animal or planet). */
  subject: string;
  /** The object (a city, color, food or star). */
  object: string;
  /** Every object the relation can have (distractors come from it). */
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

/** The word with its first letter in upper case. */
export function capital(word: string): string {
  return word[0].toUpperCase() + word.slice(1);
}

const worldCache = new Map<number, World>();

/** The world of a seed (cached: the same object for the same seed). */
export function makeWorld(seed: number): World {
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

/** "a" or "an" for a lower-case word. */
export function article(word: string): string {
  return "aeiou".includes(word[0]) ? "an" : "a";
}
