/**
 * The parser of tunebook's Jinja engine (private to the task module): tokens to a syntax tree,
 * following Python Jinja2's grammar and operator precedence:
 *
 * `x if c else y` < `or` < `and` < `not` < comparisons (chained, `in`, `not in`) < `+ -` < `~`
 * < `* / // %` < `**` (left-associative, as in Jinja2) < unary `- +` < postfix (`.a`, `[i]`,
 * `(…)`) and filters / tests (`| f(…)`, `is t …`).
 *
 * Statements: `if`/`elif`/`else`, `for … in … [if …]` with `else`, `set` (also `{% set x %}…{%
 * endset %}` and `ns.attr`), `macro`, `filter`, `with`, `block`. Tags that need a template
 * loader (`include`, `import`, `extends`) and extension tags (`do`, `break`) are errors, as in
 * lm-eval's environment.
 * @module
 */
import { lex, TemplateSyntaxError, type Token } from "./_jinja_lexer.ts";

/** An expression node. */
export type Expr =
  | { k: "const"; value: unknown; pos: number }
  | { k: "name"; name: string; pos: number }
  | { k: "list" | "tuple"; items: Expr[]; pos: number }
  | { k: "dict"; items: [Expr, Expr][]; pos: number }
  | { k: "getattr"; obj: Expr; attr: string; pos: number }
  | { k: "getitem"; obj: Expr; arg: Expr; pos: number }
  | { k: "slice"; start?: Expr; stop?: Expr; step?: Expr; pos: number }
  | ({ k: "call"; fn: Expr; pos: number } & CallArgs)
  | ({ k: "filter"; node: Expr | null; name: string; pos: number } & CallArgs)
  | ({ k: "test"; node: Expr; name: string; pos: number } & CallArgs)
  | { k: "not" | "neg" | "pos"; node: Expr; pos: number }
  | { k: "bin"; op: string; left: Expr; right: Expr; pos: number }
  | { k: "concat"; nodes: Expr[]; pos: number }
  | { k: "and" | "or"; left: Expr; right: Expr; pos: number }
  | { k: "compare"; first: Expr; ops: [string, Expr][]; pos: number }
  | { k: "cond"; test: Expr; then: Expr; otherwise?: Expr; pos: number };

/** Arguments of a call, filter or test. */
export interface CallArgs {
  args: Expr[];
  kwargs: [string, Expr][];
  starArgs?: Expr;
  starKwargs?: Expr;
}

/** What `for` and `set` assign to. */
export type Target =
  | { k: "name"; name: string; pos: number }
  | { k: "tuple"; items: Target[]; pos: number }
  | { k: "nsattr"; name: string; attr: string; pos: number };

/** A statement node. */
export type Stmt =
  | { k: "data"; text: string }
  | { k: "output"; expr: Expr }
  | {
    k: "for";
    target: Target;
    iter: Expr;
    test?: Expr;
    body: Stmt[];
    otherwise: Stmt[];
    recursive: boolean;
    pos: number;
  }
  | { k: "if"; test: Expr; body: Stmt[]; otherwise: Stmt[]; pos: number }
  | { k: "set"; target: Target; value: Expr; pos: number }
  | { k: "setblock"; target: Target; filters: Expr[]; body: Stmt[]; pos: number }
  | {
    k: "macro";
    name: string;
    params: string[];
    defaults: Expr[];
    body: Stmt[];
    pos: number;
  }
  | { k: "filterblock"; filters: Expr[]; body: Stmt[]; pos: number }
  | { k: "with"; targets: Target[]; values: Expr[]; body: Stmt[]; pos: number }
  | { k: "block"; name: string; body: Stmt[]; pos: number };

/** Parse a template into statements. Throws {@linkcode TemplateSyntaxError}. */
export function parseTemplate(source: string): Stmt[] {
  return new Parser(source).parseTemplate();
}

/** Names that are constants rather than variables. */
const CONSTANTS: Record<string, unknown> = {
  true: true,
  false: false,
  none: null,
  True: true,
  False: false,
  None: null,
};

/** Tags that need something lm-eval's environment does not have, and why. */
const UNSUPPORTED_TAGS: Record<string, string> = {
  include: "it needs a template loader, and lm-eval's environment has none",
  import: "it needs a template loader, and lm-eval's environment has none",
  from: "it needs a template loader, and lm-eval's environment has none",
  extends: "it needs a template loader, and lm-eval's environment has none",
  call: "{% call %} blocks are not supported by tunebook's Jinja engine",
  do: "it is a Jinja2 extension that lm-eval does not enable",
  break: "it is a Jinja2 extension (loopcontrols) that lm-eval does not enable",
  continue: "it is a Jinja2 extension (loopcontrols) that lm-eval does not enable",
  autoescape: "it is not supported by tunebook's Jinja engine",
};

class Parser {
  #tokens: Token[];
  #i = 0;
  #source: string;

  constructor(source: string) {
    this.#source = source;
    this.#tokens = lex(source);
  }

  parseTemplate(): Stmt[] {
    const body = this.#subparse([]);
    return body.stmts;
  }

  // ---- token helpers -------------------------------------------------------------------------

  get #tok(): Token {
    return this.#tokens[this.#i];
  }

  #peek(offset = 1): Token {
    return this.#tokens[Math.min(this.#i + offset, this.#tokens.length - 1)];
  }

  #next(): Token {
    const t = this.#tokens[this.#i];
    if (this.#i < this.#tokens.length - 1) this.#i++;
    return t;
  }

  #fail(message: string, pos = this.#tok.pos): never {
    throw new TemplateSyntaxError(message, this.#source, pos);
  }

  #isOp(value: string, t = this.#tok): boolean {
    return t.type === "op" && t.value === value;
  }

  #isName(value: string, t = this.#tok): boolean {
    return t.type === "name" && t.value === value;
  }

  #skipOp(value: string): boolean {
    if (!this.#isOp(value)) return false;
    this.#next();
    return true;
  }

  #skipName(value: string): boolean {
    if (!this.#isName(value)) return false;
    this.#next();
    return true;
  }

  #expectOp(value: string): Token {
    if (!this.#isOp(value)) this.#fail(`expected "${value}", got ${describeToken(this.#tok)}`);
    return this.#next();
  }

  #expectName(value?: string): Token {
    const t = this.#tok;
    if (t.type !== "name" || (value !== undefined && t.value !== value)) {
      this.#fail(`expected ${value ? `"${value}"` : "a name"}, got ${describeToken(t)}`);
    }
    return this.#next();
  }

  #expect(type: Token["type"]): Token {
    if (this.#tok.type !== type) this.#fail(`expected ${type}, got ${describeToken(this.#tok)}`);
    return this.#next();
  }

  // ---- statements ----------------------------------------------------------------------------

  /** Statements until one of `endTags` opens a block tag; returns them and that tag's name. */
  #subparse(endTags: string[]): { stmts: Stmt[]; end?: string } {
    const stmts: Stmt[] = [];
    for (;;) {
      const t = this.#tok;
      if (t.type === "eof") {
        if (endTags.length) {
          this.#fail(`unexpected end of template; expected {% ${endTags.join(" or ")} %}`);
        }
        return { stmts };
      }
      if (t.type === "data") {
        stmts.push({ k: "data", text: t.value });
        this.#next();
      } else if (t.type === "var_begin") {
        this.#next();
        stmts.push({ k: "output", expr: this.#parseTuple(true, true) });
        this.#expect("var_end");
      } else if (t.type === "block_begin") {
        this.#next();
        const tag = this.#tok;
        if (tag.type === "name" && endTags.includes(tag.value)) {
          return { stmts, end: tag.value };
        }
        stmts.push(this.#parseStatement());
      } else {
        this.#fail(`unexpected ${describeToken(t)}`);
      }
    }
  }

  /** The body of a block up to `{% end… %}`; consumes the end tag. */
  #block(endTags: string[]): { stmts: Stmt[]; end: string } {
    this.#expect("block_end");
    const r = this.#subparse(endTags);
    const end = this.#next().value; // the end tag's name
    return { stmts: r.stmts, end: r.end ?? end };
  }

  #parseStatement(): Stmt {
    const tag = this.#tok;
    if (tag.type !== "name") this.#fail(`expected a tag name, got ${describeToken(tag)}`);
    if (Object.hasOwn(UNSUPPORTED_TAGS, tag.value)) {
      this.#fail(`{% ${tag.value} %} is not supported: ${UNSUPPORTED_TAGS[tag.value]}`);
    }
    this.#next();
    switch (tag.value) {
      case "for":
        return this.#parseFor(tag.pos);
      case "if":
        return this.#parseIf(tag.pos);
      case "set":
        return this.#parseSet(tag.pos);
      case "macro":
        return this.#parseMacro(tag.pos);
      case "filter":
        return this.#parseFilterBlock(tag.pos);
      case "with":
        return this.#parseWith(tag.pos);
      case "block":
        return this.#parseBlock(tag.pos);
      default:
        this.#fail(`unknown tag "${tag.value}"`, tag.pos);
    }
  }

  #parseFor(pos: number): Stmt {
    const target = this.#parseAssignTarget(true);
    this.#expectName("in");
    const iter = this.#parseTuple(false, false, ["recursive"]);
    let test: Expr | undefined;
    if (this.#skipName("if")) test = this.#parseExpression();
    const recursive = this.#skipName("recursive");
    const body = this.#block(["endfor", "else"]);
    let otherwise: Stmt[] = [];
    if (body.end === "else") {
      otherwise = this.#block(["endfor"]).stmts;
    }
    this.#expect("block_end");
    return { k: "for", target, iter, test, body: body.stmts, otherwise, recursive, pos };
  }

  #parseIf(pos: number): Stmt {
    const test = this.#parseTuple(false, true);
    const body = this.#block(["elif", "else", "endif"]);
    let otherwise: Stmt[] = [];
    if (body.end === "elif") {
      otherwise = [this.#parseIf(this.#tok.pos)];
      return { k: "if", test, body: body.stmts, otherwise, pos };
    }
    if (body.end === "else") otherwise = this.#block(["endif"]).stmts;
    this.#expect("block_end");
    return { k: "if", test, body: body.stmts, otherwise, pos };
  }

  #parseSet(pos: number): Stmt {
    const target = this.#parseAssignTarget(true, true);
    if (this.#skipOp("=")) {
      const value = this.#parseTuple(false, true);
      this.#expect("block_end");
      return { k: "set", target, value, pos };
    }
    const filters = this.#parseFilterChain();
    const body = this.#block(["endset"]);
    this.#expect("block_end");
    return { k: "setblock", target, filters, body: body.stmts, pos };
  }

  #parseMacro(pos: number): Stmt {
    const name = this.#expectName().value;
    const params: string[] = [];
    const defaults: Expr[] = [];
    this.#expectOp("(");
    while (!this.#isOp(")")) {
      if (params.length) this.#expectOp(",");
      if (this.#isOp(")")) break;
      params.push(this.#expectName().value);
      if (this.#skipOp("=")) defaults.push(this.#parseExpression());
      else if (defaults.length) this.#fail("non-default argument follows default argument");
    }
    this.#expectOp(")");
    const body = this.#block(["endmacro"]);
    this.#expect("block_end");
    return { k: "macro", name, params, defaults, body: body.stmts, pos };
  }

  #parseFilterBlock(pos: number): Stmt {
    const filters = this.#parseFilterChain(true);
    const body = this.#block(["endfilter"]);
    this.#expect("block_end");
    return { k: "filterblock", filters, body: body.stmts, pos };
  }

  #parseWith(pos: number): Stmt {
    const targets: Target[] = [];
    const values: Expr[] = [];
    while (this.#tok.type !== "block_end") {
      if (targets.length) this.#expectOp(",");
      targets.push(this.#parseAssignTarget(false));
      this.#expectOp("=");
      values.push(this.#parseExpression());
    }
    const body = this.#block(["endwith"]);
    this.#expect("block_end");
    return { k: "with", targets, values, body: body.stmts, pos };
  }

  #parseBlock(pos: number): Stmt {
    const name = this.#expectName().value;
    this.#skipName("scoped");
    this.#skipName("required");
    const body = this.#block(["endblock"]);
    if (this.#tok.type === "name") this.#next();
    this.#expect("block_end");
    return { k: "block", name, body: body.stmts, pos };
  }

  /** `| f | g(x)` after `{% filter` or `{% set x`: a chain applied to the block's text. */
  #parseFilterChain(first = false): Expr[] {
    const out: Expr[] = [];
    if (first) out.push(this.#parseFilterCall(null));
    while (this.#skipOp("|")) out.push(this.#parseFilterCall(null));
    return out;
  }

  #parseAssignTarget(tuple: boolean, allowNamespace = false): Target {
    const one = (): Target => {
      const t = this.#expectName();
      if (allowNamespace && this.#isOp(".") && this.#peek().type === "name") {
        this.#next();
        const attr = this.#next().value;
        return { k: "nsattr", name: t.value, attr, pos: t.pos };
      }
      if (Object.hasOwn(CONSTANTS, t.value)) this.#fail(`cannot assign to "${t.value}"`, t.pos);
      return { k: "name", name: t.value, pos: t.pos };
    };
    if (!tuple) return one();
    const pos = this.#tok.pos;
    if (this.#skipOp("(")) {
      const inner = this.#parseAssignTarget(true, allowNamespace);
      this.#expectOp(")");
      return inner;
    }
    const items = [one()];
    let comma = false;
    while (this.#skipOp(",")) {
      comma = true;
      if (this.#isName("in") || this.#isOp("=")) break;
      items.push(one());
    }
    return comma ? { k: "tuple", items, pos } : items[0];
  }

  // ---- expressions ---------------------------------------------------------------------------

  /**
   * A comma-separated expression list, a tuple when there is a comma (`{{ 1, 2 }}`). `extraEnd`
   * names that end it too (`recursive` in a for loop).
   */
  #parseTuple(explicit: boolean, withCondexpr: boolean, extraEnd: string[] = []): Expr {
    const pos = this.#tok.pos;
    const items: Expr[] = [];
    let comma = false;
    const ends = () =>
      this.#tok.type === "var_end" || this.#tok.type === "block_end" ||
      (this.#tok.type === "name" && ["in", "if", ...extraEnd].includes(this.#tok.value) &&
        !explicit) ||
      (explicit && this.#isOp(")"));
    for (;;) {
      if (items.length) {
        if (!this.#skipOp(",")) break;
        comma = true;
      }
      if (ends()) break;
      items.push(withCondexpr ? this.#parseExpression() : this.#parseOr());
    }
    if (!comma) {
      if (items.length) return items[0];
      if (!explicit) this.#fail(`expected an expression, got ${describeToken(this.#tok)}`);
    }
    return { k: "tuple", items, pos };
  }

  #parseExpression(): Expr {
    let expr = this.#parseOr();
    while (this.#isName("if")) {
      const pos = this.#next().pos;
      const test = this.#parseOr();
      const otherwise = this.#skipName("else") ? this.#parseExpression() : undefined;
      expr = { k: "cond", test, then: expr, otherwise, pos };
    }
    return expr;
  }

  #parseOr(): Expr {
    let left = this.#parseAnd();
    while (this.#isName("or")) {
      const pos = this.#next().pos;
      left = { k: "or", left, right: this.#parseAnd(), pos };
    }
    return left;
  }

  #parseAnd(): Expr {
    let left = this.#parseNot();
    while (this.#isName("and")) {
      const pos = this.#next().pos;
      left = { k: "and", left, right: this.#parseNot(), pos };
    }
    return left;
  }

  #parseNot(): Expr {
    if (this.#isName("not")) {
      const pos = this.#next().pos;
      return { k: "not", node: this.#parseNot(), pos };
    }
    return this.#parseCompare();
  }

  #parseCompare(): Expr {
    const pos = this.#tok.pos;
    const first = this.#parseMath1();
    const ops: [string, Expr][] = [];
    for (;;) {
      const t = this.#tok;
      if (t.type === "op" && ["==", "!=", "<", "<=", ">", ">="].includes(t.value)) {
        this.#next();
        ops.push([t.value, this.#parseMath1()]);
      } else if (this.#isName("in")) {
        this.#next();
        ops.push(["in", this.#parseMath1()]);
      } else if (this.#isName("not") && this.#isName("in", this.#peek())) {
        this.#next();
        this.#next();
        ops.push(["notin", this.#parseMath1()]);
      } else break;
    }
    return ops.length ? { k: "compare", first, ops, pos } : first;
  }

  #parseMath1(): Expr {
    let left = this.#parseConcat();
    while (this.#isOp("+") || this.#isOp("-")) {
      const t = this.#next();
      left = { k: "bin", op: t.value, left, right: this.#parseConcat(), pos: t.pos };
    }
    return left;
  }

  #parseConcat(): Expr {
    const pos = this.#tok.pos;
    const nodes = [this.#parseMath2()];
    while (this.#skipOp("~")) nodes.push(this.#parseMath2());
    return nodes.length === 1 ? nodes[0] : { k: "concat", nodes, pos };
  }

  #parseMath2(): Expr {
    let left = this.#parsePow();
    while (["*", "/", "//", "%"].some((op) => this.#isOp(op))) {
      const t = this.#next();
      left = { k: "bin", op: t.value, left, right: this.#parsePow(), pos: t.pos };
    }
    return left;
  }

  #parsePow(): Expr {
    let left = this.#parseUnary();
    while (this.#isOp("**")) {
      const t = this.#next();
      left = { k: "bin", op: "**", left, right: this.#parseUnary(), pos: t.pos };
    }
    return left;
  }

  #parseUnary(withFilter = true): Expr {
    const t = this.#tok;
    let node: Expr;
    if (this.#isOp("-") || this.#isOp("+")) {
      this.#next();
      node = { k: t.value === "-" ? "neg" : "pos", node: this.#parseUnary(false), pos: t.pos };
    } else {
      node = this.#parsePrimary();
    }
    node = this.#parsePostfix(node);
    if (withFilter) node = this.#parseFilterExpr(node);
    return node;
  }

  #parsePrimary(): Expr {
    const t = this.#tok;
    if (t.type === "name") {
      this.#next();
      if (Object.hasOwn(CONSTANTS, t.value)) {
        return { k: "const", value: CONSTANTS[t.value], pos: t.pos };
      }
      return { k: "name", name: t.value, pos: t.pos };
    }
    if (t.type === "string") {
      let value = "";
      while (this.#tok.type === "string") value += this.#next().value;
      return { k: "const", value, pos: t.pos };
    }
    if (t.type === "integer") {
      this.#next();
      return { k: "const", value: parseIntLiteral(t.value), pos: t.pos };
    }
    if (t.type === "float") {
      this.#next();
      return { k: "const", value: { pyFloat: Number(t.value) }, pos: t.pos };
    }
    if (this.#isOp("(")) {
      this.#next();
      const inner = this.#parseTuple(true, true);
      this.#expectOp(")");
      return inner;
    }
    if (this.#isOp("[")) {
      this.#next();
      const items: Expr[] = [];
      while (!this.#isOp("]")) {
        if (items.length) this.#expectOp(",");
        if (this.#isOp("]")) break;
        items.push(this.#parseExpression());
      }
      this.#expectOp("]");
      return { k: "list", items, pos: t.pos };
    }
    if (this.#isOp("{")) {
      this.#next();
      const items: [Expr, Expr][] = [];
      while (!this.#isOp("}")) {
        if (items.length) this.#expectOp(",");
        if (this.#isOp("}")) break;
        const key = this.#parseExpression();
        this.#expectOp(":");
        items.push([key, this.#parseExpression()]);
      }
      this.#expectOp("}");
      return { k: "dict", items, pos: t.pos };
    }
    this.#fail(`unexpected ${describeToken(t)}`);
  }

  #parsePostfix(node: Expr): Expr {
    for (;;) {
      if (this.#isOp(".") || this.#isOp("[")) node = this.#parseSubscript(node);
      else if (this.#isOp("(")) node = this.#parseCall(node);
      else return node;
    }
  }

  #parseFilterExpr(node: Expr): Expr {
    for (;;) {
      if (this.#isOp("|")) {
        this.#next();
        node = this.#parseFilterCall(node);
      } else if (this.#isName("is")) node = this.#parseTest(node);
      else if (this.#isOp("(")) node = this.#parseCall(node);
      else return node;
    }
  }

  #parseSubscript(node: Expr): Expr {
    const t = this.#next();
    if (t.value === ".") {
      const attr = this.#tok;
      if (attr.type === "name") {
        this.#next();
        return { k: "getattr", obj: node, attr: attr.value, pos: attr.pos };
      }
      if (attr.type === "integer") {
        this.#next();
        return {
          k: "getitem",
          obj: node,
          arg: { k: "const", value: parseIntLiteral(attr.value), pos: attr.pos },
          pos: attr.pos,
        };
      }
      this.#fail(`expected a name after ".", got ${describeToken(attr)}`);
    }
    const args: Expr[] = [];
    while (!this.#isOp("]")) {
      if (args.length) {
        this.#expectOp(",");
        if (this.#isOp("]")) break;
      }
      args.push(this.#parseSubscribed());
    }
    this.#expectOp("]");
    const arg: Expr = args.length === 1 ? args[0] : { k: "tuple", items: args, pos: t.pos };
    return { k: "getitem", obj: node, arg, pos: t.pos };
  }

  #parseSubscribed(): Expr {
    const pos = this.#tok.pos;
    const parts: (Expr | undefined)[] = [];
    if (this.#isOp(":")) {
      this.#next();
      parts.push(undefined);
    } else {
      const e = this.#parseExpression();
      if (!this.#isOp(":")) return e;
      this.#next();
      parts.push(e);
    }
    parts.push(
      this.#isOp(":") || this.#isOp("]") || this.#isOp(",") ? undefined : this.#parseExpression(),
    );
    if (this.#skipOp(":")) {
      parts.push(this.#isOp("]") || this.#isOp(",") ? undefined : this.#parseExpression());
    }
    return { k: "slice", start: parts[0], stop: parts[1], step: parts[2], pos };
  }

  #parseCallArgs(): CallArgs {
    this.#expectOp("(");
    const out: CallArgs = { args: [], kwargs: [] };
    let first = true;
    while (!this.#isOp(")")) {
      if (!first) {
        this.#expectOp(",");
        if (this.#isOp(")")) break;
      }
      first = false;
      if (this.#isOp("*")) {
        this.#next();
        out.starArgs = this.#parseExpression();
      } else if (this.#isOp("**")) {
        this.#next();
        out.starKwargs = this.#parseExpression();
      } else if (this.#tok.type === "name" && this.#isOp("=", this.#peek())) {
        const key = this.#next().value;
        this.#next();
        out.kwargs.push([key, this.#parseExpression()]);
      } else {
        if (out.kwargs.length) this.#fail("positional argument follows keyword argument");
        out.args.push(this.#parseExpression());
      }
    }
    this.#expectOp(")");
    return out;
  }

  #parseCall(node: Expr): Expr {
    const pos = this.#tok.pos;
    return { k: "call", fn: node, pos, ...this.#parseCallArgs() };
  }

  #dottedName(): { name: string; pos: number } {
    const t = this.#expectName();
    let name = t.value;
    while (this.#isOp(".") && this.#peek().type === "name") {
      this.#next();
      name += "." + this.#next().value;
    }
    return { name, pos: t.pos };
  }

  #parseFilterCall(node: Expr | null): Expr {
    const { name, pos } = this.#dottedName();
    const args: CallArgs = this.#isOp("(") ? this.#parseCallArgs() : { args: [], kwargs: [] };
    return { k: "filter", node, name, pos, ...args };
  }

  #parseTest(node: Expr): Expr {
    const pos = this.#next().pos; // "is"
    const negated = this.#skipName("not");
    const { name } = this.#dottedName();
    let args: CallArgs = { args: [], kwargs: [] };
    const t = this.#tok;
    if (this.#isOp("(")) args = this.#parseCallArgs();
    else if (
      (["name", "string", "integer", "float"].includes(t.type) ||
        this.#isOp("[") || this.#isOp("{") || this.#isOp("-")) &&
      !(t.type === "name" && ["else", "or", "and", "if", "in", "is", "not"].includes(t.value))
    ) {
      // `x is divisibleby 3`: one argument without parentheses
      let arg = this.#parsePrimary();
      arg = this.#parsePostfix(arg);
      args = { args: [arg], kwargs: [] };
    }
    const test: Expr = { k: "test", node, name, pos, ...args };
    return negated ? { k: "not", node: test, pos } : test;
  }
}

function parseIntLiteral(text: string): number {
  const t = text.toLowerCase();
  if (t.startsWith("0b")) return parseInt(t.slice(2), 2);
  if (t.startsWith("0o")) return parseInt(t.slice(2), 8);
  if (t.startsWith("0x")) return parseInt(t.slice(2), 16);
  return Number(t);
}

function describeToken(t: Token): string {
  switch (t.type) {
    case "eof":
      return "the end of the template";
    case "var_end":
      return '"}}"';
    case "block_end":
      return '"%}"';
    case "data":
      return "template text";
    case "string":
      return `string ${JSON.stringify(t.value)}`;
    default:
      return `"${t.value}"`;
  }
}
