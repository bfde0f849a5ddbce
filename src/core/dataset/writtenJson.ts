/**
 * What JSON.parse does not tell: the keys a line writes more than once in one object (JSON.parse keeps
 * the last; other tools keep the first or refuse the line), and a number exactly as written (JSON.parse
 * rounds integers beyond 2^53). Read from the line's text, which JSON.parse has already accepted.
 */

/** A key written more than once in one object of a row. */
export interface RepeatedKey {
  /** The path of the object holding it (keys and list indexes), empty at the top level. */
  readonly at: readonly string[];
  readonly key: string;
  /** How many times the object writes it. */
  readonly times: number;
  /** The value read (the last written), as written. */
  readonly last: string;
}

export interface WrittenJson {
  readonly repeated: RepeatedKey[];
  /**
   * The number at `numberPath` as written, from the value JSON.parse keeps there (the last one written);
   * undefined when that value is not a number.
   */
  readonly numberAtPath: string | undefined;
}

/** Repeated keys reported per row, at most (a row with more says so by its first ones). */
const MAX_REPEATED = 20;

interface Frame {
  readonly array: boolean;
  /** Keys seen so far (objects), decoded: a list while the object is small, then a set. */
  keys: string[] | Set<string> | undefined;
  /** Next index (lists). */
  index: number;
  /** The container holding this one, and this one's key or index in it (its path, built when needed). */
  readonly parent: Frame | undefined;
  readonly step: string | number | undefined;
  path: string[] | undefined;
  /** This container's path is a prefix of the number path. */
  readonly onNumberPath: boolean;
  /** The repeated key whose value this container is, and where it starts. */
  readonly lastOf: { repeated: RepeatedKey; start: number } | undefined;
}

/** End of the string whose opening quote is at `start` (the index of its closing quote). */
function stringEnd(text: string, start: number): number {
  let end = text.indexOf('"', start + 1);
  for (;;) {
    let slashes = 0;
    while (text.charCodeAt(end - 1 - slashes) === 0x5c) slashes++;
    if (slashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
}

/** A character inside a JSON number after its first: digits, `.`, `e`, `E`, `+`, `-`. */
function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
}

/** Objects up to this many keys keep them in a list (cheaper than a set for the usual handful). */
const LIST_KEYS = 16;

/** Records `key` in an object's frame; true when the object wrote it before. */
function seenBefore(frame: Frame, key: string): boolean {
  const keys = frame.keys;
  if (keys === undefined) {
    frame.keys = [key];
    return false;
  }
  if (Array.isArray(keys)) {
    if (keys.includes(key)) return true;
    keys.push(key);
    if (keys.length > LIST_KEYS) frame.keys = new Set(keys);
    return false;
  }
  if (keys.has(key)) return true;
  keys.add(key);
  return false;
}

/** A container's path from the top-level object (keys and list indexes). */
function pathOf(frame: Frame): string[] {
  if (frame.path === undefined) frame.path = frame.parent === undefined ? [] : [...pathOf(frame.parent), String(frame.step)];
  return frame.path;
}

/**
 * Scans one valid JSON text for repeated keys (at any depth), and for the number JSON.parse keeps at
 * `numberPath` (a list of keys and list indexes from the top-level object).
 */
export function readWrittenJson(text: string, numberPath: readonly string[] | undefined): WrittenJson {
  const repeated: RepeatedKey[] = [];
  let numberAtPath: string | undefined;
  const stack: Frame[] = [];
  /** The key (or list index) of the value about to start, within the top frame. */
  let step: string | undefined;
  /** The repeated key whose value starts next. */
  let repeatedValue: RepeatedKey | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x2c || c === 0x3a) continue;
    const top = stack[stack.length - 1];
    if (c === 0x22 && top && !top.array && step === undefined) {
      // a key: the value that follows belongs to it
      const end = stringEnd(text, i);
      const raw = text.slice(i + 1, end);
      const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
      if (seenBefore(top, key)) {
        const at = pathOf(top);
        repeatedValue = repeated.find((r) => r.at === at && r.key === key);
        if (repeatedValue) (repeatedValue as { times: number }).times++;
        else if (repeated.length < MAX_REPEATED) {
          repeatedValue = { at, key, times: 2, last: '' };
          repeated.push(repeatedValue);
        }
      }
      step = key;
      i = end;
      continue;
    }
    if (c === 0x7d || c === 0x5d) {
      const lastOf = stack.pop()?.lastOf;
      if (lastOf) (lastOf.repeated as { last: string }).last = text.slice(lastOf.start, i + 1);
      step = undefined;
      continue;
    }
    // a value starts here
    const depth = stack.length;
    const item = top?.array ? top.index++ : -1;
    const onNumberPath = numberPath !== undefined && (depth === 0 || (top.onNumberPath && depth <= numberPath.length && numberPath[depth - 1] === (item >= 0 ? String(item) : step)));
    const isTarget = onNumberPath && numberPath !== undefined && depth === numberPath.length;
    // a later value on the path replaces all an earlier one held (JSON.parse keeps the last)
    if (onNumberPath && depth > 0) numberAtPath = undefined;
    if (c === 0x7b || c === 0x5b) {
      stack.push({ array: c === 0x5b, keys: undefined, index: 0, parent: top, step: item >= 0 ? item : step, path: undefined, onNumberPath, lastOf: repeatedValue && { repeated: repeatedValue, start: i } });
      step = undefined;
      repeatedValue = undefined;
      continue;
    }
    step = undefined;
    const start = i;
    if (c === 0x22) {
      i = stringEnd(text, i);
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let end = i + 1;
      while (end < text.length && isNumberChar(text.charCodeAt(end))) end++;
      if (isTarget) numberAtPath = text.slice(i, end);
      i = end - 1;
    } else {
      // true, false, null
      i += c === 0x66 ? 4 : 3;
    }
    if (repeatedValue) {
      (repeatedValue as { last: string }).last = text.slice(start, i + 1);
      repeatedValue = undefined;
    }
  }
  return { repeated, numberAtPath };
}

/**
 * A JSON number as the exact decimal it stands for, without rounding: `1e2` and `100.0` are `100`,
 * `-0` is `0`, `12345678901234567891` keeps every digit. Two numbers any JSON reader holds equal read
 * the same; two it holds apart never do. Numbers written with huge exponents are kept as written.
 */
export function exactDecimal(written: string): string {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(written);
  if (!match) return written;
  const [, sign, whole, fraction = '', exponentText = '0'] = match;
  const exponent = Number(exponentText);
  let digits = (whole + fraction).replace(/^0+/, '');
  if (digits === '') return '0';
  // the value is 0.digits x 10^point
  const point = whole.length - (whole + fraction).length + digits.length + exponent;
  const trailing = digits.length - digits.replace(/0+$/, '').length;
  digits = digits.slice(0, digits.length - trailing);
  if (Math.abs(point) > 400) return written;
  let text: string;
  if (point <= 0) text = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) text = digits + '0'.repeat(point - digits.length);
  else text = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return sign + text;
}
