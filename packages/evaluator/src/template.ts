import type { Doc } from "./datasets.js";
import { pythonStrip } from "./encode-pair.js";
import { TaskDataError, TaskSpecError } from "./errors.js";

/**
 * The template language of task specs: the part of lm-eval's Jinja that the medical tasks use,
 * and nothing more. Literal text with `{{ expr }}` holes, where `expr` is
 *
 * - a document field: `question`
 * - a member or an item: `options.A`, `choices[0]`
 * - Python's `.strip()`: `question.strip()`
 * - integer `+` / `-`: `cop - 1`
 * - a list: `[opa, opb, opc, opd]`
 * - a string or integer literal: `"\n"`, `1`
 * - the `join` filter: `CONTEXTS | join("\n")`
 *
 * No statements and no loops: every prompt spells its options out, as lm-eval's YAML files do.
 */
export interface Template {
  readonly source: string;
  /** The text, every hole rendered (a string as is, an integer in decimal). */
  render(doc: Doc): string;
  /** A template that is one hole and nothing else gives the hole's value (a list, a number); others render. */
  value(doc: Doc): unknown;
}

type Expr =
  | { kind: "field"; name: string }
  | { kind: "literal"; value: string | number }
  | { kind: "list"; items: Expr[] }
  | { kind: "member"; object: Expr; name: string }
  | { kind: "item"; object: Expr; index: Expr }
  | { kind: "strip"; object: Expr }
  | { kind: "arith"; op: "+" | "-"; left: Expr; right: Expr }
  | { kind: "join"; input: Expr; separator: Expr };

type Token = { kind: "name" | "int" | "string" | "punct"; text: string; value?: string | number };

const ESCAPES: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", '"': '"', "'": "'" };

/** Tokens of one `{{ … }}` from `start` (just past the braces) to its `}}`; returns them and the end. */
function lex(src: string, start: number): { tokens: Token[]; end: number } {
  const tokens: Token[] = [];
  let i = start;
  const fail = (why: string): never => {
    throw new TaskSpecError(`template ${JSON.stringify(src)}: ${why} at offset ${i}`);
  };
  while (i < src.length) {
    const c = src[i];
    if (src.startsWith("}}", i)) return { tokens, end: i + 2 };
    if (c === " " || c === "\t") {
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i)) as RegExpExecArray;
      tokens.push({ kind: "name", text: m[0] });
      i += m[0].length;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+/.exec(src.slice(i)) as RegExpExecArray;
      tokens.push({ kind: "int", text: m[0], value: Number(m[0]) });
      i += m[0].length;
    } else if (c === '"' || c === "'") {
      let s = "";
      let j = i + 1;
      while (j < src.length && src[j] !== c) {
        if (src[j] === "\\") {
          const e = ESCAPES[src[j + 1]];
          if (e === undefined) fail(`unknown escape \\${src[j + 1]}`);
          s += e;
          j += 2;
        } else s += src[j++];
      }
      if (j >= src.length) fail("unterminated string");
      tokens.push({ kind: "string", text: src.slice(i, j + 1), value: s });
      i = j + 1;
    } else if (".[](),|+-".includes(c)) {
      tokens.push({ kind: "punct", text: c });
      i++;
    } else fail(`unexpected ${JSON.stringify(c)}`);
  }
  return fail("missing }}");
}

/** Recursive descent over one hole's tokens: filters bind loosest, then + / -, then . [] (). */
function parse(src: string, tokens: Token[]): Expr {
  let pos = 0;
  const fail = (why: string): never => {
    throw new TaskSpecError(`template ${JSON.stringify(src)}: ${why}`);
  };
  const peek = (text: string) => tokens[pos]?.kind === "punct" && tokens[pos].text === text;
  const expect = (text: string) => {
    if (!peek(text)) fail(`expected "${text}", got ${tokens[pos] ? `"${tokens[pos].text}"` : "the end"}`);
    pos++;
  };
  const name = (): string => {
    const t = tokens[pos++];
    if (t?.kind !== "name") fail(`expected a name, got ${t ? `"${t.text}"` : "the end"}`);
    return t.text;
  };

  function primary(): Expr {
    const t = tokens[pos];
    if (!t) return fail("expected an expression");
    if (t.kind === "name") return { kind: "field", name: name() };
    if (t.kind === "int" || t.kind === "string") {
      pos++;
      return { kind: "literal", value: t.value as string | number };
    }
    if (peek("[")) {
      pos++;
      const items: Expr[] = [];
      while (!peek("]")) {
        items.push(filtered());
        if (!peek("]")) expect(",");
      }
      pos++;
      return { kind: "list", items };
    }
    if (peek("(")) {
      pos++;
      const e = filtered();
      expect(")");
      return e;
    }
    return fail(`unexpected "${t.text}"`);
  }

  function postfix(): Expr {
    let e = primary();
    for (;;) {
      if (peek(".")) {
        pos++;
        const member = name();
        if (peek("(")) {
          if (member !== "strip") fail(`unknown method .${member}() (only .strip())`);
          pos++;
          expect(")");
          e = { kind: "strip", object: e };
        } else e = { kind: "member", object: e, name: member };
      } else if (peek("[")) {
        pos++;
        e = { kind: "item", object: e, index: filtered() };
        expect("]");
      } else return e;
    }
  }

  function arith(): Expr {
    let e = postfix();
    while (peek("+") || peek("-")) {
      const op = tokens[pos++].text as "+" | "-";
      e = { kind: "arith", op, left: e, right: postfix() };
    }
    return e;
  }

  function filtered(): Expr {
    let e = arith();
    while (peek("|")) {
      pos++;
      const filter = name();
      if (filter !== "join") fail(`unknown filter "${filter}" (only join)`);
      expect("(");
      const separator = filtered();
      expect(")");
      e = { kind: "join", input: e, separator };
    }
    return e;
  }

  const e = filtered();
  if (pos < tokens.length) fail(`unexpected "${tokens[pos].text}"`);
  return e;
}

function show(e: Expr): string {
  switch (e.kind) {
    case "field":
      return e.name;
    case "literal":
      return JSON.stringify(e.value);
    case "list":
      return `[${e.items.map(show).join(", ")}]`;
    case "member":
      return `${show(e.object)}.${e.name}`;
    case "item":
      return `${show(e.object)}[${show(e.index)}]`;
    case "strip":
      return `${show(e.object)}.strip()`;
    case "arith":
      return `${show(e.left)} ${e.op} ${show(e.right)}`;
    case "join":
      return `${show(e.input)} | join(${show(e.separator)})`;
  }
}

function evaluate(e: Expr, doc: Doc): unknown {
  const bad = (why: string): never => {
    throw new TaskDataError(`${show(e)}: ${why}`);
  };
  const lookup = (obj: unknown, key: string | number, what: string): unknown => {
    const v =
      obj !== null && typeof obj === "object" && Object.hasOwn(obj, key)
        ? (obj as Record<string | number, unknown>)[key]
        : undefined;
    return v === undefined ? bad(`${what} is missing`) : v;
  };
  switch (e.kind) {
    case "field":
      return lookup(doc, e.name, `field "${e.name}"`);
    case "literal":
      return e.value;
    case "list":
      return e.items.map((x) => evaluate(x, doc));
    case "member":
      return lookup(evaluate(e.object, doc), e.name, `field "${show(e)}"`);
    case "item": {
      const index = evaluate(e.index, doc);
      if (typeof index !== "number" && typeof index !== "string")
        return bad("the index is not a number or name");
      return lookup(evaluate(e.object, doc), index, `item ${show(e)}`);
    }
    case "strip": {
      const s = evaluate(e.object, doc);
      return typeof s === "string" ? pythonStrip(s) : bad("not a string");
    }
    case "arith": {
      const a = evaluate(e.left, doc);
      const b = evaluate(e.right, doc);
      if (typeof a !== "number" || typeof b !== "number") return bad("both sides must be numbers");
      return e.op === "+" ? a + b : a - b;
    }
    case "join": {
      const xs = evaluate(e.input, doc);
      const sep = evaluate(e.separator, doc);
      if (!Array.isArray(xs) || typeof sep !== "string") return bad("join needs a list and a string");
      return xs.map((x) => text(x, e)).join(sep);
    }
  }
}

function text(v: unknown, e: Expr): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" && Number.isInteger(v)) return String(v);
  throw new TaskDataError(
    `${show(e)}: renders ${Array.isArray(v) ? "a list (join it)" : typeof v}, not text`,
  );
}

/** Parse a template once; syntax errors throw a TaskSpecError naming the template. */
export function compileTemplate(source: string): Template {
  const parts: Array<string | Expr> = [];
  let i = 0;
  while (i < source.length) {
    const open = source.indexOf("{{", i);
    if (open < 0) {
      parts.push(source.slice(i));
      break;
    }
    if (open > i) parts.push(source.slice(i, open));
    const { tokens, end } = lex(source, open + 2);
    parts.push(parse(source, tokens));
    i = end;
  }
  const render = (doc: Doc) =>
    parts.map((p) => (typeof p === "string" ? p : text(evaluate(p, doc), p))).join("");
  const only = parts.length === 1 && typeof parts[0] !== "string" ? parts[0] : undefined;
  return {
    source,
    render,
    value: (doc) => (only ? evaluate(only, doc) : render(doc)),
  };
}
