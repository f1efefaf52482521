/**
 * The Porter stemmer as NLTK's `PorterStemmer()` runs it by default (mode `NLTK_EXTENSIONS`), the
 * stemmer Google's `rouge-score` package applies when `use_stemmer=True`.
 *
 * Written from M. F. Porter, "An algorithm for suffix stripping", Program 14(3), 1980, plus the
 * documented departures of NLTK's default mode:
 * - a small table of irregular forms (`skies` → `sky`, `dying` → `die`, `news` → `news`, …);
 * - words of one or two letters are returned unchanged;
 * - step 1a: `-ies` on a four-letter word becomes `-ie` (`dies` → `die`);
 * - step 1b: `-ied` becomes `-ie` on a four-letter word and `-i` otherwise;
 * - condition *o also holds for a two-letter stem vowel + consonant;
 * - step 1c: `y` → `i` only after a consonant that is not the first letter (`happy` → `happi`,
 *   `enjoy` unchanged);
 * - step 2: `-alli` → `-al` is tried first and the result goes through step 2 again; `-bli` →
 *   `-ble` replaces `-abli` → `-able`; extra rules `-fulli` → `-ful` and `-logi` → `-log` (the
 *   latter measured with the `l` kept on the stem).
 *
 * As in the paper, in each step only the first rule whose suffix matches is considered: when its
 * condition fails the word is left as it is (except step 5a, which tries both of its conditions).
 * Input is lowercased first.
 *
 * @module
 */

/** Irregular forms NLTK's default mode maps directly (word → stem). */
const IRREGULAR_FORMS: ReadonlyMap<string, string> = new Map([
  ["sky", "sky"],
  ["skies", "sky"],
  ["dying", "die"],
  ["lying", "lie"],
  ["tying", "tie"],
  ["news", "news"],
  ["innings", "inning"],
  ["inning", "inning"],
  ["outings", "outing"],
  ["outing", "outing"],
  ["cannings", "canning"],
  ["canning", "canning"],
  ["howe", "howe"],
  ["proceed", "proceed"],
  ["exceed", "exceed"],
  ["succeed", "succeed"],
]);
/** Words up to this many letters are not stemmed (an NLTK extension). */
const MAX_UNSTEMMED_LENGTH = 2;
/** Length of the words whose `-ies` / `-ied` keep the `e` (`dies` → `die`, `tied` → `tie`). */
const SHORT_IE_WORD_LENGTH = 4;

/** A suffix rule: replace `suffix` by `replacement` when `condition(stem)` holds. */
interface Rule {
  suffix: string;
  replacement: string;
  condition: (stem: string) => boolean;
}

function isVowelLetter(ch: string): boolean {
  return ch === "a" || ch === "e" || ch === "i" || ch === "o" || ch === "u";
}

/** Porter's consonant: not a, e, i, o, u, and not a y that follows a consonant. */
function isConsonant(word: string, i: number): boolean {
  // Walk back over a run of y's: each y is a vowel iff the letter before it is a consonant.
  let consonant = true;
  let j = i;
  while (j >= 0) {
    const ch = word[j];
    if (isVowelLetter(ch)) {
      consonant = false;
      break;
    }
    if (ch !== "y" || j === 0) {
      consonant = true;
      break;
    }
    j--;
  }
  // Positions j+1..i are all y's, alternating vowel/consonant from the letter at j.
  return (i - j) % 2 === 0 ? consonant : !consonant;
}

/** m in [C](VC){m}[V]: the number of vowel-run → consonant-run transitions. */
function measure(stem: string): number {
  let m = 0;
  let previousIsVowel = false;
  for (let i = 0; i < stem.length; i++) {
    const consonant = isConsonant(stem, i);
    if (consonant && previousIsVowel) m++;
    previousIsVowel = !consonant;
  }
  return m;
}

function positiveMeasure(stem: string): boolean {
  return measure(stem) > 0;
}

function measureAboveOne(stem: string): boolean {
  return measure(stem) > 1;
}

/** Condition *v*: the stem contains a vowel. */
function containsVowel(stem: string): boolean {
  for (let i = 0; i < stem.length; i++) if (!isConsonant(stem, i)) return true;
  return false;
}

/** Condition *d: the word ends with a double consonant. */
function endsDoubleConsonant(word: string): boolean {
  const n = word.length;
  return n >= 2 && word[n - 1] === word[n - 2] && isConsonant(word, n - 1);
}

/** Condition *o: consonant-vowel-consonant ending, last not w/x/y; or a two-letter vowel+consonant. */
function endsCvc(word: string): boolean {
  const n = word.length;
  if (n >= 3) {
    const last = word[n - 1];
    if (
      isConsonant(word, n - 3) && !isConsonant(word, n - 2) && isConsonant(word, n - 1) &&
      last !== "w" && last !== "x" && last !== "y"
    ) return true;
  }
  return n === 2 && !isConsonant(word, 0) && isConsonant(word, 1);
}

/** Applies the first rule whose suffix matches; the word is unchanged if its condition fails. */
function applyFirstMatching(word: string, rules: readonly Rule[]): string {
  for (const { suffix, replacement, condition } of rules) {
    if (!word.endsWith(suffix)) continue;
    const stem = withoutSuffix(word, suffix);
    return condition(stem) ? stem + replacement : word;
  }
  return word;
}

function rule(suffix: string, replacement: string, condition: (stem: string) => boolean): Rule {
  return { suffix, replacement, condition };
}

function always(): boolean {
  return true;
}

const STEP_1A: readonly Rule[] = [
  rule("sses", "ss", always),
  rule("ies", "i", always),
  rule("ss", "ss", always),
  rule("s", "", always),
];

const STEP_2: readonly Rule[] = [
  rule("ational", "ate", positiveMeasure),
  rule("tional", "tion", positiveMeasure),
  rule("enci", "ence", positiveMeasure),
  rule("anci", "ance", positiveMeasure),
  rule("izer", "ize", positiveMeasure),
  rule("bli", "ble", positiveMeasure),
  rule("alli", "al", positiveMeasure),
  rule("entli", "ent", positiveMeasure),
  rule("eli", "e", positiveMeasure),
  rule("ousli", "ous", positiveMeasure),
  rule("ization", "ize", positiveMeasure),
  rule("ation", "ate", positiveMeasure),
  rule("ator", "ate", positiveMeasure),
  rule("alism", "al", positiveMeasure),
  rule("iveness", "ive", positiveMeasure),
  rule("fulness", "ful", positiveMeasure),
  rule("ousness", "ous", positiveMeasure),
  rule("aliti", "al", positiveMeasure),
  rule("iviti", "ive", positiveMeasure),
  rule("biliti", "ble", positiveMeasure),
  rule("fulli", "ful", positiveMeasure),
  rule("logi", "log", (stem) => positiveMeasure(stem + "l")),
];

const STEP_3: readonly Rule[] = [
  rule("icate", "ic", positiveMeasure),
  rule("ative", "", positiveMeasure),
  rule("alize", "al", positiveMeasure),
  rule("iciti", "ic", positiveMeasure),
  rule("ical", "ic", positiveMeasure),
  rule("ful", "", positiveMeasure),
  rule("ness", "", positiveMeasure),
];

const STEP_4: readonly Rule[] = [
  rule("al", "", measureAboveOne),
  rule("ance", "", measureAboveOne),
  rule("ence", "", measureAboveOne),
  rule("er", "", measureAboveOne),
  rule("ic", "", measureAboveOne),
  rule("able", "", measureAboveOne),
  rule("ible", "", measureAboveOne),
  rule("ant", "", measureAboveOne),
  rule("ement", "", measureAboveOne),
  rule("ment", "", measureAboveOne),
  rule("ent", "", measureAboveOne),
  rule("ion", "", (stem) => measureAboveOne(stem) && (stem.endsWith("s") || stem.endsWith("t"))),
  rule("ou", "", measureAboveOne),
  rule("ism", "", measureAboveOne),
  rule("ate", "", measureAboveOne),
  rule("iti", "", measureAboveOne),
  rule("ous", "", measureAboveOne),
  rule("ive", "", measureAboveOne),
  rule("ize", "", measureAboveOne),
];

/** `word` without its (known) ending `suffix`. */
function withoutSuffix(word: string, suffix: string): string {
  return word.slice(0, word.length - suffix.length);
}

/** `word` without its last letter (undoubling, or `-ies` → `-ie`). */
function withoutLastLetter(word: string): string {
  return word.slice(0, -1);
}

function step1a(word: string): string {
  if (word.endsWith("ies") && word.length === SHORT_IE_WORD_LENGTH) return withoutLastLetter(word);
  return applyFirstMatching(word, STEP_1A);
}

function step1b(word: string): string {
  if (word.endsWith("ied")) {
    return withoutSuffix(word, "ied") + (word.length === SHORT_IE_WORD_LENGTH ? "ie" : "i");
  }
  if (word.endsWith("eed")) {
    const stem = withoutSuffix(word, "eed");
    return positiveMeasure(stem) ? stem + "ee" : word;
  }
  let stem: string | undefined;
  for (const suffix of ["ed", "ing"]) {
    if (!word.endsWith(suffix)) continue;
    const candidate = withoutSuffix(word, suffix);
    if (containsVowel(candidate)) {
      stem = candidate;
      break;
    }
  }
  if (stem === undefined) return word;
  // Tidy-up after removing -ed / -ing: restore the e of -ate, -ble, -ize; undouble; add e.
  if (stem.endsWith("at") || stem.endsWith("bl") || stem.endsWith("iz")) return stem + "e";
  if (endsDoubleConsonant(stem)) {
    const last = stem[stem.length - 1];
    return last === "l" || last === "s" || last === "z" ? stem : withoutLastLetter(stem);
  }
  return measure(stem) === 1 && endsCvc(stem) ? stem + "e" : stem;
}

function step1c(word: string): string {
  if (!word.endsWith("y")) return word;
  const stem = withoutSuffix(word, "y");
  return stem.length > 1 && isConsonant(stem, stem.length - 1) ? stem + "i" : word;
}

function step2(word: string): string {
  if (word.endsWith("alli") && positiveMeasure(withoutSuffix(word, "alli"))) {
    return step2(withoutSuffix(word, "alli") + "al");
  }
  return applyFirstMatching(word, STEP_2);
}

function step5a(word: string): string {
  if (!word.endsWith("e")) return word;
  const stem = withoutSuffix(word, "e");
  const m = measure(stem);
  return m > 1 || (m === 1 && !endsCvc(stem)) ? stem : word;
}

function step5b(word: string): string {
  if (!word.endsWith("ll")) return word;
  const undoubled = withoutLastLetter(word);
  return measureAboveOne(undoubled) ? undoubled : word;
}

/**
 * Stems one word as NLTK's `PorterStemmer().stem(word)` does (default `NLTK_EXTENSIONS` mode,
 * lowercasing on). Meant for lowercase ASCII words, which is what ROUGE's tokenizer produces.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { porterStem } from "./_porter.ts";
 * deepStrictEqual(
 *   ["caresses", "ponies", "relational", "running", "skies"].map(porterStem),
 *   ["caress", "poni", "relat", "run", "sky"],
 * );
 * ```
 */
export function porterStem(word: string): string {
  const lower = word.toLowerCase();
  const irregular = IRREGULAR_FORMS.get(word);
  if (irregular !== undefined) return irregular;
  if (word.length <= MAX_UNSTEMMED_LENGTH) return lower;
  let stem = step1a(lower);
  stem = step1b(stem);
  stem = step1c(stem);
  stem = step2(stem);
  stem = applyFirstMatching(stem, STEP_3);
  stem = applyFirstMatching(stem, STEP_4);
  stem = step5a(stem);
  return step5b(stem);
}
