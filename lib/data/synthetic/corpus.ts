/**
 * The pretraining corpus of the bundled tiny model: short paragraphs that state the families'
 * facts and skills in prose and in quiz styles near, but never equal to, the evaluation prompts
 * (style.ts). By default it covers the four families the bundled model was pretrained on
 * ({@linkcode PRETRAIN_FAMILIES}), byte for byte as it was built; `families` adds the summary and
 * code families' corpus forms for a model pretrained on them.
 * @module
 */
import { Rng } from "../../util/rng.ts";
import { arithmeticOperands, arithmeticSentence, arithmeticValue } from "./arithmetic.ts";
import { codeText } from "./code.ts";
import { entailmentQuiz, makePuzzle } from "./entailment.ts";
import { factQuestion, factSentence } from "./facts.ts";
import { FAMILIES, type Family, SYNTHETIC_DEFAULTS } from "./items.ts";
import { copyList, makeProfile, recallDrill } from "./qa.ts";
import { quiz } from "./style.ts";
import { summaryText } from "./summary.ts";
import { makeWorld } from "./world.ts";

/** The families of the bundled tiny model's pretraining corpus (the corpus's default). */
export const PRETRAIN_FAMILIES: readonly Family[] = ["arithmetic", "entailment", "qa", "facts"];

/** Options for {@linkcode makePretrainCorpus}. */
export interface CorpusOptions {
  /** The world seed (must match the task splits' seed). Default: 1234. */
  seed?: number;
  /** Number of documents (each a few sentences). Default: 60000. */
  documents?: number;
  /** Share of quiz-style ("Q: … A: …") sentences. Default: 0.25. */
  quizShare?: number;
  /**
   * The families whose sentences the documents mix (each equally likely per sentence).
   * Default: {@linkcode PRETRAIN_FAMILIES} (arithmetic, entailment, qa, facts).
   */
  families?: readonly Family[];
  /**
   * Facts recalled after each qa context (a {@linkcode recallDrill}): 0 keeps the bundled tiny
   * model's corpus (one context, one restatement or quiz), byte for byte; 3 is the corpus of the
   * 256-wide model ({@linkcode CORPUS_TINY_256}), which must learn to copy from its context.
   * Default: 0.
   */
  recall?: number;
  /**
   * Induction practice (tiny-256's second pretraining phase, {@linkcode CORPUS_TINY_256_COPY}):
   * recall drills also repeat context sentences word for word, and every document ends with a
   * list of names said twice ({@linkcode copyList}). Default: false.
   */
  copy?: boolean;
  /** The random stream's name (the world is the seed's either way). Default: "corpus". */
  stream?: string;
}

/**
 * The corpus options of the 256-wide bundled model (`data/models/tiny-256`): every family, and
 * recall drills in place of single qa restatements.
 */
export const CORPUS_TINY_256: Readonly<CorpusOptions> = {
  families: ["arithmetic", "entailment", "qa", "facts", "summary", "code"],
  recall: 3,
  documents: 80000,
};

/**
 * The second pretraining phase of the 256-wide model: the same families with denser recall
 * drills that repeat context sentences verbatim and a list copied in every document, so the model
 * learns to copy from its context (induction), which the first phase did not teach it.
 */
export const CORPUS_TINY_256_COPY: Readonly<CorpusOptions> = {
  ...CORPUS_TINY_256,
  stream: "corpus-copy",
  recall: 4,
  copy: true,
  documents: 40000,
};

/**
 * The pretraining corpus: `documents` short paragraphs (which may contain newlines), each mixing
 * sentences from the chosen families. Deterministic from the seed.
 */
export function* makePretrainCorpus(options: CorpusOptions = {}): Generator<string> {
  const {
    seed = SYNTHETIC_DEFAULTS.seed,
    documents = SYNTHETIC_DEFAULTS.documents,
    quizShare = 0.25,
    families = PRETRAIN_FAMILIES,
    recall = 0,
    copy = false,
    stream = "corpus",
  } = options;
  if (!Number.isInteger(recall) || recall < 0) {
    throw new Error(`corpus recall ${recall}: expected a whole number of facts per context, ≥ 0`);
  }
  const unknown = families.filter((f) => !(FAMILIES as readonly string[]).includes(f));
  if (families.length === 0 || unknown.length > 0) {
    throw new Error(
      `corpus families ${JSON.stringify(families)}: ` +
        `${unknown.length ? `unknown ${unknown.join(", ")}` : "none given"}; ` +
        `use some of ${FAMILIES.join(", ")}`,
    );
  }
  const world = makeWorld(seed);
  const rng = new Rng(seed, stream);
  for (let d = 0; d < documents; d++) {
    const parts: string[] = [];
    const n = rng.int(3, 6);
    for (let s = 0; s < n; s++) {
      const asQuiz = rng.next() < quizShare;
      const family = rng.pick(families);
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
        parts.push(asQuiz ? entailmentQuiz(p, rng) : p.prose);
      } else if (family === "summary") {
        parts.push(summaryText(world, rng));
      } else if (family === "code") {
        parts.push(codeText(world, rng));
      } else if (recall > 0) {
        parts.push(recallDrill(world, rng, recall, copy));
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
    if (copy) parts.push(copyList(world, rng));
    yield parts.join(" ");
  }
}

/** The pretraining corpus of each bundled model's phase, by name (`deno task synth --model`). */
export const CORPUS_PRESETS: Readonly<
  Record<"tiny" | "tiny-256" | "tiny-256-copy", Readonly<CorpusOptions>>
> = {
  tiny: {},
  "tiny-256": CORPUS_TINY_256,
  "tiny-256-copy": CORPUS_TINY_256_COPY,
};
