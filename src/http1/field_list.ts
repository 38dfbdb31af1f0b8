/**
 * A `Headers` for the hot path: two plain arrays instead of the web class, whose WebIDL
 * conversions and byte-string checks were the largest share of orygate's own JavaScript time
 * per request (docs/performance.md).
 *
 * It behaves as `Headers` does for everything orygate uses — case-insensitive names, `get`
 * joining repeated fields with ", ", `getSetCookie`, and values with CR, LF or NUL refused
 * with a `TypeError` — with one deliberate difference: iteration (`forEach`, `entries`, …)
 * yields each field line as it is, in order, instead of sorted and joined. For a proxy that is
 * the more faithful view, and it costs nothing.
 *
 * @example
 * ```ts
 * import { FieldList } from "./field_list.ts";
 * const h = new FieldList();
 * h.append("X-A", "1");
 * h.append("x-a", "2");
 * console.log(h.get("x-a")); // "1, 2"
 * h.set("X-A", "3");
 * console.log([...h]); // [["x-a", "3"]]
 * ```
 *
 * @module
 */

/** CR, LF, NUL, or a character that is not a byte: never allowed in a field value. */
const FORBIDDEN = /[\r\n\0\u0100-\uffff]/;
/** Field names are tokens (RFC 9110 §5.1). */
const NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Header fields as ordered, lower-cased name/value lines. */
export class FieldList implements Headers {
  readonly #names: string[] = [];
  readonly #values: string[] = [];

  /** Adds a line without checks: for a parser that already validated name and value. */
  appendTrusted(lowerName: string, value: string): void {
    this.#names.push(lowerName);
    this.#values.push(value);
  }

  append(name: string, value: string): void {
    this.#names.push(checkName(name));
    this.#values.push(checkValue(value));
  }

  delete(name: string): void {
    const key = name.toLowerCase();
    const names = this.#names;
    let i = names.indexOf(key);
    while (i !== -1) {
      names.splice(i, 1);
      this.#values.splice(i, 1);
      i = names.indexOf(key, i);
    }
  }

  get(name: string): string | null {
    const key = name.toLowerCase();
    const names = this.#names;
    let i = names.indexOf(key);
    if (i === -1) return null;
    let value = this.#values[i];
    for (i = names.indexOf(key, i + 1); i !== -1; i = names.indexOf(key, i + 1)) {
      value += ", " + this.#values[i];
    }
    return value;
  }

  getSetCookie(): string[] {
    const out: string[] = [];
    const names = this.#names;
    for (let i = names.indexOf("set-cookie"); i !== -1; i = names.indexOf("set-cookie", i + 1)) {
      out.push(this.#values[i]);
    }
    return out;
  }

  has(name: string): boolean {
    return this.#names.includes(name.toLowerCase());
  }

  set(name: string, value: string): void {
    const key = checkName(name);
    const checked = checkValue(value);
    const names = this.#names;
    const i = names.indexOf(key);
    if (i === -1) {
      names.push(key);
      this.#values.push(checked);
      return;
    }
    this.#values[i] = checked;
    for (let j = names.indexOf(key, i + 1); j !== -1; j = names.indexOf(key, j)) {
      names.splice(j, 1);
      this.#values.splice(j, 1);
    }
  }

  forEach(
    callbackfn: (value: string, key: string, parent: this) => void,
    thisArg?: unknown,
  ): void {
    const names = this.#names;
    const values = this.#values;
    for (let i = 0; i < names.length; i++) callbackfn.call(thisArg, values[i], names[i], this);
  }

  *entries(): Generator<[string, string]> {
    for (let i = 0; i < this.#names.length; i++) yield [this.#names[i], this.#values[i]];
  }

  *keys(): Generator<string> {
    yield* this.#names;
  }

  *values(): Generator<string> {
    yield* this.#values;
  }

  [Symbol.iterator](): Generator<[string, string]> {
    return this.entries();
  }
}

/** Names already checked, lower-cased (orygate sets a few dozen distinct ones). */
const checkedNames = new Map<string, string>();

function checkName(name: string): string {
  const known = checkedNames.get(name);
  if (known !== undefined) return known;
  if (!NAME.test(name)) throw new TypeError(`Invalid header name: "${name}"`);
  const lower = name.toLowerCase();
  if (checkedNames.size < 256) checkedNames.set(name, lower);
  return lower;
}

/** Leading and trailing HTTP whitespace (what `Headers` strips; `trim()` strips more). */
const OUTER_WHITESPACE = /^[ \t\r\n]+|[ \t\r\n]+$/g;

/** The last value that passed {@linkcode checkValue}: one set on every request is checked once. */
let lastChecked = "";

function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0d || code === 0x0a;
}

function checkValue(value: string): string {
  if (value === lastChecked) return value;
  const trimmed = value.length > 0 &&
      (isWhitespace(value.charCodeAt(0)) || isWhitespace(value.charCodeAt(value.length - 1)))
    ? value.replace(OUTER_WHITESPACE, "")
    : value;
  if (FORBIDDEN.test(trimmed)) {
    throw new TypeError("Invalid header value: CR, LF, NUL or a non-byte character");
  }
  lastChecked = trimmed;
  return trimmed;
}
