/**
 * The `arithmetic` family: 1–3 digit plus / minus / times in lm-evaluation-harness's arithmetic
 * format (`context` = "Question: What is 7 plus 5?\nAnswer:", `completion` = " 12"), and the
 * corpus's prose form of the same sums ("7 plus 5 is 12.").
 * @module
 */
import type { Rng } from "../../util/rng.ts";

/** An arithmetic item, in lm-evaluation-harness's arithmetic format. */
export interface ArithmeticItem {
  /** Unique id (`arithmetic-<n>`). */
  id: string;
  /** The prompt. */
  context: string;
  /** The answer, with its leading space. */
  completion: string;
  /** The operation. */
  op: "plus" | "minus" | "times";
  /** The left operand. */
  a: number;
  /** The right operand. */
  b: number;
}

/** Random operands and an operation (plus and minus twice as often as times). */
export function arithmeticOperands(rng: Rng): { op: ArithmeticItem["op"]; a: number; b: number } {
  const op = rng.pick(["plus", "plus", "minus", "minus", "times"] as const);
  const digits = () => rng.pick([1, 1, 2, 2, 3]);
  const num = (d: number) => (d === 1 ? rng.int(0, 9) : rng.int(10 ** (d - 1), 10 ** d - 1));
  if (op === "times") return { op, a: num(rng.pick([1, 2])), b: num(1) };
  return { op, a: num(digits()), b: num(digits()) };
}

/** The result of `a op b`. */
export function arithmeticValue(op: ArithmeticItem["op"], a: number, b: number): number {
  return op === "plus" ? a + b : op === "minus" ? a - b : a * b;
}

/** A prose sentence stating `a op b` and its result (pretraining text). */
export function arithmeticSentence(
  op: ArithmeticItem["op"],
  a: number,
  b: number,
  rng: Rng,
): string {
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

/** One arithmetic item (without its id). */
export function makeArithmetic(rng: Rng): Omit<ArithmeticItem, "id"> {
  const { op, a, b } = arithmeticOperands(rng);
  return {
    context: `Question: What is ${a} ${op} ${b}?\nAnswer:`,
    completion: ` ${arithmeticValue(op, a, b)}`,
    op,
    a,
    b,
  };
}
