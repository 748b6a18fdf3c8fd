import { LockKeyTemplateError } from './errors/lock-key-template.error';
import { LockKeyError } from './errors/lock-key.error';

/** A key template: 'order:<userId>' text, an array of such texts (all locked), or a function of the method's arguments. */
export type KeyTemplate =
  string | readonly string[] | ((...args: never[]) => string | readonly string[]);

export interface KeyTemplateSite {
  className: string;
  methodName: string;
}

export interface CompiledKeyTemplate {
  /** Resolved keys, in template order, duplicates removed. Throws LockKeyError. */
  resolve(args: readonly unknown[]): string[];
}

interface Placeholder {
  /** The text between the angle brackets, for messages. */
  readonly text: string;
  /** The dotted segments of `text`. */
  readonly segments: readonly string[];
  /** Index of the argument the value starts from. */
  readonly index: number;
  /** The value starts from `args.slice(index)` (the rest parameter itself) instead of `args[index]`. */
  readonly restArray: boolean;
  /** How many of `segments` were used to find the argument; the others are a property path. */
  readonly consumed: number;
}

type Part = string | Placeholder;
type ParameterList = ReturnType<typeof parameterNames>;

const IDENTIFIER = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200C\u200D]*/u;
const INDEX = /^(?:0|[1-9]\d*)$/;
const SEGMENT = /^(?:[\p{ID_Start}$_][\p{ID_Continue}$\u200C\u200D]*|\d+)$/u;

export function compileKeyTemplate(
  template: KeyTemplate,
  method: Function,
  site: KeyTemplateSite,
): CompiledKeyTemplate {
  const where = `@WithLock on ${site.className}.${site.methodName}`;
  if (typeof method !== 'function') {
    throw new LockKeyTemplateError(`${where}: the decorated member is not a method`);
  }

  if (typeof template === 'function') {
    if (template.constructor?.name === 'AsyncFunction') {
      throw new LockKeyTemplateError(`${where}: the key function must be synchronous`);
    }
    const keyFn = template as (...args: readonly unknown[]) => unknown;
    return { resolve: (args) => keysFromFunction(keyFn(...args), where) };
  }

  let texts: readonly unknown[];
  if (typeof template === 'string') {
    texts = [template];
  } else if (Array.isArray(template as unknown)) {
    texts = template as readonly unknown[];
    if (texts.length === 0) {
      throw new LockKeyTemplateError(`${where}: the key template array is empty`);
    }
  } else {
    throw new LockKeyTemplateError(
      `${where}: the key template must be a string, an array of strings or a function ` +
        `(got ${describeType(template)})`,
    );
  }

  let params: ParameterList | undefined;
  const compiled = texts.map((text) => {
    if (typeof text !== 'string') {
      throw new LockKeyTemplateError(
        `${where}: every key template in the array must be a string (got ${describeType(text)})`,
      );
    }
    return parseTemplate(text, where, () => (params ??= parameterNames(method)));
  });

  if (compiled.length === 1) {
    const parts = compiled[0];
    // A fixed key: nothing to resolve.
    if (parts.length === 1 && typeof parts[0] === 'string') {
      const key = parts[0];
      return { resolve: () => [key] };
    }
    return { resolve: (args) => [buildKey(parts, args, where)] };
  }
  return {
    resolve(args) {
      const keys: string[] = [];
      for (const parts of compiled) {
        const key = buildKey(parts, args, where);
        if (!keys.includes(key)) keys.push(key);
      }
      return keys;
    },
  };
}

function parseTemplate(text: string, where: string, params: () => ParameterList): Part[] {
  if (text === '') throw new LockKeyTemplateError(`${where}: the key template is empty`);
  const parts: Part[] = [];
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('<', i);
    const literal = text.slice(i, open < 0 ? text.length : open);
    if (literal.includes('>')) {
      throw new LockKeyTemplateError(
        `${where}: key template "${text}" has a ">" without an opening "<"`,
      );
    }
    if (literal !== '') parts.push(literal);
    if (open < 0) break;
    const close = text.indexOf('>', open + 1);
    if (close < 0) {
      throw new LockKeyTemplateError(
        `${where}: key template "${text}" has a "<" without a closing ">"`,
      );
    }
    parts.push(parsePlaceholder(text.slice(open + 1, close), text, where, params));
    i = close + 1;
  }
  return parts;
}

function parsePlaceholder(
  inner: string,
  text: string,
  where: string,
  params: () => ParameterList,
): Placeholder {
  const segments = inner.split('.');
  const [head] = segments;
  if (!segments.every((segment) => SEGMENT.test(segment))) {
    throw new LockKeyTemplateError(
      `${where}: key template "${text}" has a malformed placeholder <${inner}>; use <name>, ` +
        '<name.path.to.value>, <0> or <0.path>',
    );
  }
  const { names, rest } = params();
  const restIndex = rest ? names.length - 1 : -1;

  const positional = /^\d/.test(head);
  let index: number;
  if (positional) {
    if (!INDEX.test(head)) {
      throw new LockKeyTemplateError(
        `${where}: key template "${text}" has a malformed placeholder <${inner}>`,
      );
    }
    index = Number(head);
    if (!rest && index >= names.length) {
      throw new LockKeyTemplateError(
        `${where}: placeholder <${inner}> refers to argument ${index} but the method declares ` +
          `${names.length} parameter${names.length === 1 ? '' : 's'}`,
      );
    }
  } else {
    index = names.lastIndexOf(head);
    if (index < 0) {
      throw new LockKeyTemplateError(
        `${where}: placeholder <${inner}> names no parameter of the method ` +
          `(${describeParameters(names, rest)})`,
      );
    }
  }

  const placeholder = { text: inner, segments, index, restArray: false, consumed: 1 };
  if (positional || index !== restIndex) return placeholder;
  // The rest parameter by name: `<args.2>` is read as argument restIndex + 2 directly; only
  // `<args>` or `<args.length>` need the array itself, sliced at call time.
  if (segments.length > 1 && INDEX.test(segments[1])) {
    return { ...placeholder, index: index + Number(segments[1]), consumed: 2 };
  }
  return { ...placeholder, restArray: true };
}

function buildKey(parts: readonly Part[], args: readonly unknown[], where: string): string {
  let key = '';
  for (const part of parts) {
    key += typeof part === 'string' ? part : placeholderValue(part, args, where);
  }
  return key;
}

function placeholderValue(
  placeholder: Placeholder,
  args: readonly unknown[],
  where: string,
): string {
  const { segments, consumed } = placeholder;
  let value: unknown = placeholder.restArray
    ? args.slice(placeholder.index)
    : args[placeholder.index];
  for (let i = consumed; i < segments.length; i++) {
    if (value === undefined || value === null) {
      throw new LockKeyError(
        `${where}: placeholder <${placeholder.text}> cannot be resolved: ` +
          `${segments.slice(0, i).join('.')} is ${value === null ? 'null' : 'undefined'}`,
      );
    }
    // Own properties only: `<id.constructor.name>` must not reach into prototypes.
    if (!Object.hasOwn(value as object, segments[i])) {
      if (segments[i] in Object(value)) {
        throw new LockKeyError(
          `${where}: placeholder <${placeholder.text}> cannot be resolved: ` +
            `${segments.slice(0, i + 1).join('.')} is inherited, and key templates read own ` +
            `properties only${value instanceof Map ? " (a Map's entries are not properties)" : ''}`,
        );
      }
      value = undefined;
      continue;
    }
    value = (value as Record<string, unknown>)[segments[i]];
  }
  switch (typeof value) {
    case 'string':
      if (value !== '') return value;
      break;
    case 'number':
      if (Number.isFinite(value)) return String(value);
      break;
    case 'bigint':
      return String(value);
  }
  // Never include the value itself: it comes from the request.
  throw new LockKeyError(
    `${where}: placeholder <${placeholder.text}> ${describeBadValue(value)}; ` +
      'a lock key value must be a non-empty string, a finite number or a bigint',
  );
}

function keysFromFunction(result: unknown, where: string): string[] {
  if (typeof result === 'string' && result !== '') return [result];
  if (Array.isArray(result) && result.length > 0) {
    const keys: string[] = [];
    for (const key of result as unknown[]) {
      if (typeof key !== 'string' || key === '') {
        throw new LockKeyError(
          `${where}: the key function returned an array with an element that ` +
            `${describeBadValue(key)}; each key must be a non-empty string`,
        );
      }
      if (!keys.includes(key)) keys.push(key);
    }
    return keys;
  }
  throw new LockKeyError(
    `${where}: the key function returned a value that ${
      Array.isArray(result) ? 'is an empty array' : describeBadValue(result)
    }; it must return a non-empty string or a non-empty array of non-empty strings`,
  );
}

function describeBadValue(value: unknown): string {
  if (value === undefined) return 'is undefined';
  if (value === null) return 'is null';
  if (value === '') return 'is an empty string';
  if (typeof value === 'number') return 'is not a finite number';
  return `is ${describeType(value)}`;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function describeParameters(names: readonly (string | undefined)[], rest: boolean): string {
  if (names.length === 0) return 'the method declares no parameters';
  const list = names.map((name, i) => {
    const shown = name ?? `<${i}> (destructured)`;
    return rest && i === names.length - 1 ? `...${shown}` : shown;
  });
  return `parameters: ${list.join(', ')}`;
}

/** Declared parameter names of a function, in order; undefined for a destructured parameter; rest marks a trailing ...rest. */
export function parameterNames(fn: Function): { names: (string | undefined)[]; rest: boolean } {
  const source: unknown = fn.toString();
  const list = typeof source === 'string' ? parameterSources(source) : undefined;
  if (!list) return { names: [], rest: false };
  const params = list.map(parseParameter);
  if (params.length > 0 && params[params.length - 1].empty) params.pop(); // `()` or `(a, b,)`
  return {
    names: params.map((param) => param.name),
    rest: params.length > 0 && params[params.length - 1].rest,
  };
}

/** The raw text of each parameter, or undefined when the source has no recognisable list. */
function parameterSources(source: string): string[] | undefined {
  const arrow = /^\s*(?:async\s+)?([\p{ID_Start}$_][\p{ID_Continue}$\u200C\u200D]*)\s*=>/u.exec(
    source,
  );
  if (arrow) return [arrow[1]];
  if (/^\s*class\b/.test(source)) return undefined;

  // Skip `async`, `function*`, a method name (maybe quoted or computed) up to the list's `(`.
  let i = 0;
  while (i >= 0 && i < source.length) {
    const c = source[i];
    if (c === '(') {
      const commas: number[] = [];
      const end = skipBalanced(source, i + 1, ')', commas);
      if (end < 0) return undefined;
      const bounds = [i, ...commas, end - 1];
      return bounds.slice(1).map((to, k) => source.slice(bounds[k] + 1, to));
    }
    if (c === '{' || c === '=') return undefined;
    if (c === '[') i = skipBalanced(source, i + 1, ']');
    else if (c === '"' || c === "'") i = skipQuoted(source, i);
    else if (c === '/' && (source[i + 1] === '/' || source[i + 1] === '*'))
      i = skipComment(source, i);
    else i++;
  }
  return undefined;
}

function parseParameter(text: string): { name: string | undefined; rest: boolean; empty: boolean } {
  let s = skipSpaceAndComments(text);
  const rest = s.startsWith('...');
  if (rest) s = skipSpaceAndComments(s.slice(3));
  return { name: IDENTIFIER.exec(s)?.[0], rest, empty: s === '' };
}

function skipSpaceAndComments(text: string): string {
  let s = text.trimStart();
  while (s.startsWith('//') || s.startsWith('/*')) {
    const end = skipComment(s, 0);
    s = end < 0 ? '' : s.slice(end).trimStart();
  }
  return s;
}

const CLOSERS: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
/** After these characters a `/` starts a regular expression rather than a division. */
const BEFORE_REGEX = '(,=:[!&|?{};+-*%<>~^';

/**
 * Index just past the `closer` that ends the code starting at `i`, or -1. Skips nested
 * brackets, strings, template literals, comments and regular expressions; records the
 * positions of top-level commas in `commas`.
 */
function skipBalanced(source: string, i: number, closer: string, commas?: number[]): number {
  let previous = '(';
  while (i >= 0 && i < source.length) {
    const c = source[i];
    if (c === closer) return i + 1;
    if (c === ')' || c === ']' || c === '}') return -1;
    if (c === '/' && (source[i + 1] === '/' || source[i + 1] === '*')) {
      i = skipComment(source, i);
      continue;
    }
    if (c in CLOSERS) i = skipBalanced(source, i + 1, CLOSERS[c]);
    else if (c === '"' || c === "'") i = skipQuoted(source, i);
    else if (c === '`') i = skipTemplateLiteral(source, i);
    else if (c === '/' && BEFORE_REGEX.includes(previous)) i = skipRegex(source, i);
    else {
      if (c === ',') commas?.push(i);
      i++;
    }
    if (!/\s/.test(c)) previous = CLOSERS[c] ?? c;
  }
  return -1;
}

function skipComment(source: string, i: number): number {
  if (source[i + 1] === '/') {
    const end = source.indexOf('\n', i);
    return end < 0 ? -1 : end;
  }
  const end = source.indexOf('*/', i + 2);
  return end < 0 ? -1 : end + 2;
}

function skipQuoted(source: string, i: number): number {
  const quote = source[i];
  for (let j = i + 1; j < source.length; j++) {
    if (source[j] === '\\') j++;
    else if (source[j] === quote) return j + 1;
  }
  return -1;
}

function skipTemplateLiteral(source: string, i: number): number {
  for (let j = i + 1; j >= 0 && j < source.length; j++) {
    const c = source[j];
    if (c === '\\') j++;
    else if (c === '`') return j + 1;
    else if (c === '$' && source[j + 1] === '{') j = skipBalanced(source, j + 2, '}') - 1;
  }
  return -1;
}

function skipRegex(source: string, i: number): number {
  let inClass = false;
  for (let j = i + 1; j < source.length; j++) {
    const c = source[j];
    if (c === '\\') j++;
    else if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    else if (c === '/' && !inClass) return j + 1;
    else if (c === '\n') return -1;
  }
  return -1;
}
