import { BadRequestException } from '@nestjs/common';
import { LockKeyTemplateError } from '../../lib/errors/lock-key-template.error';
import { LockKeyError } from '../../lib/errors/lock-key.error';
import { compileKeyTemplate, KeyTemplate, parameterNames } from '../../lib/key-template';

const site = { className: 'OrdersController', methodName: 'create' };

function Dummy(): MethodDecorator {
  return () => undefined;
}

function Tag(): ParameterDecorator {
  return () => undefined;
}

interface Dto {
  user?: { id?: unknown; tags?: unknown[] } | null;
  items?: { id: unknown }[];
}

class OrdersController {
  create(userId: unknown, dto: Dto) {
    return [userId, dto];
  }

  @Dummy()
  async withDefaults(
    @Tag() tenant = 'a,b)',
    limit = Math.max(1, 2),
    options: { x: number[] } = { x: [1, 2] },
    /* a comment, with ) */ flag = true, // trailing comment (
  ) {
    return [tenant, limit, options, flag];
  }

  destructured({ id }: { id: unknown }, [first]: unknown[]) {
    return [id, first];
  }

  batch(tenant: string, ...ids: unknown[]) {
    return [tenant, ids];
  }
}

const method = (name: keyof OrdersController) => OrdersController.prototype[name];

function compile(template: KeyTemplate, name: keyof OrdersController = 'create') {
  return compileKeyTemplate(template, method(name), { ...site, methodName: name });
}

function resolve(template: KeyTemplate, args: unknown[], name?: keyof OrdersController) {
  return compile(template, name).resolve(args);
}

function callError(template: KeyTemplate, args: unknown[]): LockKeyError {
  const compiled = compile(template);
  try {
    compiled.resolve(args);
  } catch (error) {
    expect(error).toBeInstanceOf(LockKeyError);
    return error as LockKeyError;
  }
  throw new Error('resolve() did not throw');
}

function fakeFunction(source: string): Function {
  return Object.assign(function () {}, { toString: () => source });
}

describe('compileKeyTemplate', () => {
  describe('resolving keys', () => {
    it('substitutes a parameter by name', () => {
      expect(resolve('order:<userId>', ['u1', {}])).toEqual(['order:u1']);
    });

    it('follows a property path inside a parameter', () => {
      expect(resolve('user:<dto.user.id>', ['u1', { user: { id: 42 } }])).toEqual(['user:42']);
    });

    it('follows array indexes in a path', () => {
      expect(
        resolve('item:<dto.items.1.id>', ['u1', { items: [{ id: 'a' }, { id: 'b' }] }]),
      ).toEqual(['item:b']);
    });

    it('substitutes positional arguments and positional paths', () => {
      expect(resolve('<0>/<1.user.id>', ['u1', { user: { id: 'x' } }])).toEqual(['u1/x']);
    });

    it('combines several placeholders and literal text', () => {
      expect(resolve('a:<userId>:b:<dto.user.id>:c', ['u', { user: { id: 7 } }])).toEqual([
        'a:u:b:7:c',
      ]);
    });

    it('accepts strings, finite numbers and bigints', () => {
      expect(resolve('<userId>', ['s', {}])).toEqual(['s']);
      expect(resolve('<userId>', [0, {}])).toEqual(['0']);
      expect(resolve('<userId>', [-1.5, {}])).toEqual(['-1.5']);
      expect(resolve('<userId>', [12345678901234567890n, {}])).toEqual(['12345678901234567890']);
    });

    it('returns a fixed key for a template without placeholders', () => {
      const compiled = compile('job:report');
      expect(compiled.resolve([])).toEqual(['job:report']);
      expect(compiled.resolve([undefined, null])).toEqual(['job:report']);
    });

    it('returns a fresh array from every call', () => {
      const compiled = compile('job:report');
      const first = compiled.resolve([]);
      first.push('mutated');
      expect(compiled.resolve([])).toEqual(['job:report']);
    });

    it('resolves every template of an array, in order, without duplicates', () => {
      const template = ['user:<userId>', 'job:fixed', 'user:<0>', 'user:<dto.user.id>'];
      expect(resolve(template, ['a', { user: { id: 'b' } }])).toEqual([
        'user:a',
        'job:fixed',
        'user:b',
      ]);
    });

    it('calls a key function with the arguments', () => {
      const keyFn = jest.fn((userId: string) => `order:${userId}`);
      expect(compileKeyTemplate(keyFn, method('create'), site).resolve(['u1', {}])).toEqual([
        'order:u1',
      ]);
      expect(keyFn).toHaveBeenCalledWith('u1', {});
    });

    it('accepts an array from a key function, in order, without duplicates', () => {
      const keyFn = (a: string, b: string) => [`k:${b}`, `k:${a}`, `k:${b}`];
      expect(compileKeyTemplate(keyFn, method('create'), site).resolve(['x', 'y'])).toEqual([
        'k:y',
        'k:x',
      ]);
    });

    it('lets an error thrown by a key function propagate unchanged', () => {
      const failure = new TypeError('boom');
      const compiled = compileKeyTemplate(
        () => {
          throw failure;
        },
        method('create'),
        site,
      );
      expect(() => compiled.resolve([])).toThrow(failure);
    });

    it('resolves parameters declared after default values', () => {
      const args = ['t1', 10, { x: [3] }, 'on'];
      expect(resolve('<tenant>:<limit>:<options.x.0>:<flag>', args, 'withDefaults')).toEqual([
        't1:10:3:on',
      ]);
    });

    it('reads destructured parameters by position', () => {
      expect(resolve('<0.id>/<1.0>', [{ id: 'i' }, ['f']], 'destructured')).toEqual(['i/f']);
    });

    it('reads rest parameters by name, by position and beyond the declared parameters', () => {
      const args = ['t', 'a', 'b', 'c'];
      expect(resolve('<tenant>:<ids.0>:<ids.2>', args, 'batch')).toEqual(['t:a:c']);
      expect(resolve('<1>:<3>', args, 'batch')).toEqual(['a:c']);
      expect(resolve('<ids.length>', args, 'batch')).toEqual(['3']);
    });
  });

  describe('definition errors', () => {
    function definitionError(template: KeyTemplate, name?: keyof OrdersController): Error {
      try {
        compile(template, name);
      } catch (error) {
        expect(error).toBeInstanceOf(LockKeyTemplateError);
        return error as Error;
      }
      throw new Error('compileKeyTemplate() did not throw');
    }

    it('names class, method, placeholder and parameters for an unknown name', () => {
      expect(definitionError('order:<userid>').message).toBe(
        '@WithLock on OrdersController.create: placeholder <userid> names no parameter of ' +
          'the method (parameters: userId, dto)',
      );
    });

    it('rejects a property of a destructured parameter used as a name', () => {
      expect(definitionError('<id>', 'destructured').message).toContain(
        'placeholder <id> names no parameter',
      );
    });

    it('rejects a positional index beyond the declared parameters without a rest parameter', () => {
      expect(definitionError('<2>').message).toBe(
        '@WithLock on OrdersController.create: placeholder <2> refers to argument 2 but the ' +
          'method declares 2 parameters',
      );
    });

    it.each([
      ['an empty string', ''],
      ['an empty array', []],
      ['a "<" without ">"', 'order:<userId'],
      ['an empty placeholder', 'order:<>'],
      ['a ">" without "<"', 'order:userId>'],
      ['a nested "<"', 'order:<<userId>>'],
      ['an empty path segment', '<dto..id>'],
      ['a trailing dot', '<dto.>'],
      ['a space', '<user Id>'],
      ['a negative index', '<-1>'],
      ['an index with a leading zero', '<01>'],
      ['a bracket path', '<dto[0]>'],
      ['a malformed element in an array', ['ok:<userId>', 'bad:<>']],
    ])('rejects %s', (_, template) => {
      expect(definitionError(template as KeyTemplate).message).toMatch(
        /^@WithLock on OrdersController\.create: /,
      );
    });

    it.each([
      ['a number', 42],
      ['null', null],
      ['an object', { key: 'x' }],
      ['an array with a non-string', ['ok', 1]],
    ])('rejects a template that is %s', (_, template) => {
      expect(definitionError(template as unknown as KeyTemplate).message).toContain(
        'must be a string',
      );
    });

    it('rejects an async key function', () => {
      expect(definitionError((async () => 'k') as unknown as KeyTemplate).message).toContain(
        'synchronous',
      );
    });

    it('rejects a non-function method', () => {
      expect(() => compileKeyTemplate('k', {} as Function, site)).toThrow(LockKeyTemplateError);
    });
  });

  describe('call errors', () => {
    it('throws a 400 LockKeyError instead of producing "order:undefined"', () => {
      const compiled = compile('order:<userId>');
      let keys: string[] | undefined;
      let caught: unknown;
      try {
        keys = compiled.resolve([undefined, {}]);
      } catch (error) {
        caught = error;
      }
      expect(keys).toBeUndefined();
      expect(caught).toBeInstanceOf(LockKeyError);
      expect(caught).toBeInstanceOf(BadRequestException);
      expect((caught as LockKeyError).getStatus()).toBe(400);
    });

    it('throws when an argument is missing entirely', () => {
      expect(callError('order:<userId>', []).message).toContain('<userId> is undefined');
    });

    it.each([
      ['undefined', undefined],
      ['null', null],
      ['an empty string', ''],
      ['NaN', NaN],
      ['Infinity', Infinity],
      ['-Infinity', -Infinity],
      ['a boolean', true],
      ['an object', { id: 1 }],
      ['an array', ['a']],
      ['a symbol', Symbol('s')],
      ['a function', () => 'k'],
    ])('rejects a value that is %s', (_, value) => {
      const error = callError('order:<userId>', [value, {}]);
      expect(error.message).toMatch(
        /^@WithLock on OrdersController\.create: placeholder <userId> /,
      );
      expect(error.message).not.toContain('order:');
    });

    it('rejects a path through undefined or null without a TypeError', () => {
      expect(callError('<dto.user.id>', ['u', {}]).message).toBe(
        '@WithLock on OrdersController.create: placeholder <dto.user.id> cannot be resolved: ' +
          'dto.user is undefined',
      );
      expect(callError('<dto.user.id>', ['u', { user: null }]).message).toContain(
        'dto.user is null',
      );
      expect(callError('<1.user.id>', ['u']).message).toContain('1 is undefined');
    });

    it('rejects a missing value at the end of a path', () => {
      expect(callError('<dto.user.id>', ['u', { user: {} }]).message).toContain(
        'placeholder <dto.user.id> is undefined',
      );
    });

    it('reads own properties only: <id.constructor.name> is a 400 naming the placeholder', () => {
      for (const id of ['u1', 7, { a: 1 }]) {
        const error = callError('<userId.constructor.name>', [id, {}]);
        expect(error.message).toBe(
          '@WithLock on OrdersController.create: placeholder <userId.constructor.name> cannot ' +
            'be resolved: userId.constructor is inherited, and key templates read own ' +
            'properties only',
        );
      }
      expect(callError('<dto.toString>', ['u', {}]).message).toContain('dto.toString is inherited');
      expect(callError('<dto.__proto__>', ['u', {}]).message).toContain('is inherited');
    });

    it('does not read a getter of a class instance through its prototype', () => {
      class User {
        constructor(private readonly secretId: string) {}
        get id() {
          return this.secretId;
        }
      }
      const error = callError('<dto.user.id>', ['u', { user: new User('sk_live_SECRET') }]);
      expect(error.message).toContain('dto.user.id is inherited');
      expect(error.message).not.toContain('sk_live_SECRET');
    });

    it('still reads array indexes and lengths, string lengths and own getters', () => {
      expect(resolve('<dto.items.length>', ['u', { items: [{ id: 1 }, { id: 2 }] }])).toEqual([
        '2',
      ]);
      expect(resolve('<userId.length>:<userId.0>', ['abc', {}])).toEqual(['3:a']);
      const user = Object.defineProperty({}, 'id', { get: () => 'g', enumerable: true });
      expect(resolve('<dto.user.id>', ['u', { user }])).toEqual(['g']);
      expect(
        resolve('<dto.user.id>', ['u', { user: Object.assign(Object.create(null), { id: 'n' }) }]),
      ).toEqual(['n']);
    });

    it('says why a Map is not read by key', () => {
      const user = new Map([['id', 'u1']]);
      expect(callError('<dto.user.size>', ['u', { user }]).message).toContain(
        "dto.user.size is inherited, and key templates read own properties only (a Map's " +
          'entries are not properties)',
      );
      expect(callError('<dto.user.id>', ['u', { user }]).message).toContain(
        'placeholder <dto.user.id> is undefined',
      );
    });

    it('never puts the argument value into the message', () => {
      const secret = 'sk_live_7f3a9c-SECRET';
      const values: unknown[] = [
        { password: secret },
        [secret],
        { toString: () => secret },
        Object.assign(() => secret, { secret }),
      ];
      for (const value of values) {
        expect(callError('<userId>', [value, {}]).message).not.toContain(secret);
        expect(callError('<dto.user>', ['u', { user: value }]).message).not.toContain(secret);
      }
    });

    it.each([
      ['an empty string', ''],
      ['an empty array', []],
      ['an array with an empty string', ['a', '']],
      ['an array with a non-string', ['a', 1]],
      ['undefined', undefined],
      ['a number', 1],
      ['a promise', Promise.resolve('k')],
    ])('rejects a key function result that is %s', (_, result) => {
      const compiled = compileKeyTemplate(() => result as string, method('create'), site);
      expect(() => compiled.resolve([])).toThrow(LockKeyError);
      expect(() => compiled.resolve([])).toThrow(/^@WithLock on OrdersController\.create: /);
    });

    it('never puts a key function result into the message', () => {
      const secret = 'sk_live_7f3a9c-SECRET';
      for (const result of [[secret, { secret }], { secret }, [secret, '']]) {
        const compiled = compileKeyTemplate(() => result as never, method('create'), site);
        let message = '';
        try {
          compiled.resolve([]);
        } catch (error) {
          expect(error).toBeInstanceOf(LockKeyError);
          message = (error as Error).message;
        }
        expect(message).toMatch(/^@WithLock on OrdersController\.create: the key function /);
        expect(message).not.toContain(secret);
      }
    });
  });
});

describe('parameterNames', () => {
  it('reads real class methods compiled by the test transform', () => {
    expect(parameterNames(method('create'))).toEqual({ names: ['userId', 'dto'], rest: false });
    expect(parameterNames(method('batch'))).toEqual({ names: ['tenant', 'ids'], rest: true });
  });

  it('reads a decorated async method with decorated parameters, defaults and comments', () => {
    // The transform keeps the defaults and comments, so this exercises the parser on them.
    expect(method('withDefaults').toString()).toMatch(/tenant = 'a,b\)'.*\/\* a comment/s);
    expect(parameterNames(method('withDefaults'))).toEqual({
      names: ['tenant', 'limit', 'options', 'flag'],
      rest: false,
    });
  });

  it('marks destructured parameters as undefined', () => {
    expect(parameterNames(method('destructured'))).toEqual({
      names: [undefined, undefined],
      rest: false,
    });
  });

  it.each([
    ['a function declaration', 'function create(a, b) { return a; }', ['a', 'b']],
    ['an anonymous function', 'function (a,b){}', ['a', 'b']],
    ['a generator', 'function* gen(a, b) {}', ['a', 'b']],
    ['an async function', 'async function load(a, b) {}', ['a', 'b']],
    ['a method', 'create(a, b) {\n  return a;\n}', ['a', 'b']],
    ['an async method', 'async create(a, b) {}', ['a', 'b']],
    ['an async generator method', 'async *create(a, b) {}', ['a', 'b']],
    ['a method named async', 'async(a, b) {}', ['a', 'b']],
    ['a quoted method name', "'do(it)'(a, b) {}", ['a', 'b']],
    ['a computed method name', '[Symbol.for("x(y")](a, b) {}', ['a', 'b']],
    ['an arrow function', '(a, b) => a + b', ['a', 'b']],
    ['an async arrow function', 'async (a, b) => a', ['a', 'b']],
    ['a single-parameter arrow', 'a => a', ['a']],
    ['an async single-parameter arrow', 'async a => a', ['a']],
    ['an arrow whose parameter is named async', 'async => 1', ['async']],
    ['no parameters', 'function () {}', []],
    ['a trailing comma', 'function (a, b,) {}', ['a', 'b']],
    ['defaults with calls', 'function (a = foo(1, 2), b) {}', ['a', 'b']],
    ['defaults with objects and arrays', 'function (a, b = { x: [1, 2] }, c) {}', ['a', 'b', 'c']],
    [
      'defaults with strings',
      `function (c = 'x,y', d = "(", e = '\\'', f) {}`,
      ['c', 'd', 'e', 'f'],
    ],
    ['defaults with template literals', 'function (a = `${f(1, `)`)},`, b) {}', ['a', 'b']],
    [
      'defaults with regular expressions',
      'function (a = /[,)]\\//g, b = 4 / 2, c) {}',
      ['a', 'b', 'c'],
    ],
    ['a block comment', 'function (a /* , x) */, /* y */ b) {}', ['a', 'b']],
    ['a line comment', 'function (a, // b, )\n c) {}', ['a', 'c']],
    ['unicode names', 'function (ünïcode, $x, _y) {}', ['ünïcode', '$x', '_y']],
    ['destructuring', 'function ({ id, x: [y] }, [p, q] = [], c) {}', [undefined, undefined, 'c']],
    [
      'tsc ES2022 output',
      'async create(userId, dto = new Dto(), tags = []) {\n        return __awaiter(this, void 0, void 0, function* () {});\n    }',
      ['userId', 'dto', 'tags'],
    ],
  ])('reads %s', (_, source, names) => {
    expect(parameterNames(fakeFunction(source))).toEqual({ names, rest: false });
  });

  it.each([
    ['function (a, ...args) {}', ['a', 'args']],
    ['(...args) => args', ['args']],
    ['function (a, ...[b, c]) {}', ['a', undefined]],
    ['function (a, .../* c */ rest) {}', ['a', 'rest']],
  ])('marks a rest parameter in %s', (source, names) => {
    expect(parameterNames(fakeFunction(source))).toEqual({ names, rest: true });
  });

  it.each([
    '',
    'garbage',
    '(((',
    'function (a = "unterminated) {}',
    'function (a = `x${b) {}',
    'function (a = /re) {}',
    'function (a /* unterminated) {}',
    'function (a = [1, 2) {}',
    'class Foo { constructor(a) {} }',
    'function push() { [native code] }',
    '{ a: 1 }',
  ])('does not crash on %p', (source) => {
    expect(parameterNames(fakeFunction(source))).toEqual({
      names: expect.any(Array),
      rest: expect.any(Boolean),
    });
  });

  it('does not crash on native, bound, class and accessor functions', () => {
    const getter = Object.getOwnPropertyDescriptor(Map.prototype, 'size')?.get as Function;
    for (const fn of [Math.max, method('create').bind(null), OrdersController, getter]) {
      expect(() => parameterNames(fn)).not.toThrow();
    }
  });
});
