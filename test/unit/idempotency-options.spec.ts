import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  DistributedLockModule,
  DistributedLockModuleOptions,
  Idempotent,
  IdempotencyOptions,
  IdempotencyService,
  LockService,
} from '../../lib';

/** The TypeError `fn` throws; fails the test if it throws nothing or something else. */
function typeError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TypeError);
    return (err as TypeError).message;
  }
  throw new Error('nothing was thrown');
}

const idempotent = (options: unknown) => () => Idempotent(options as IdempotencyOptions);

describe('@Idempotent() options, checked when the decorator is written', () => {
  it('names an unknown option and the one it most likely meant', () => {
    expect(typeError(idempotent({ heder: 'X-Key' }))).toBe(
      'Unknown @Idempotent option `heder`: did you mean `header`? Valid options: retention, ' +
        'lease, onInFlight, waitTimeout, storeIf, onUnavailable, header, required, scope, ' +
        'fingerprint.',
    );
    expect(typeError(idempotent({ onInflight: 'wait' }))).toMatch(/did you mean `onInFlight`\?/);
  });

  it.each([
    ['lease', 0, /^@Idempotent option `lease` must be an integer number of ms from 1 .*, got 0\.$/],
    ['lease', 1.5, /`lease` .*, got 1\.5\.$/],
    ['retention', 'x', /^@Idempotent option `retention` must be .*, got "x" \(a string\)\.$/],
    ['retention', -1, /`retention` .*, got -1\.$/],
    [
      'onInFlight',
      'later',
      /^@Idempotent option `onInFlight` must be 'conflict' or 'wait', got "later"/,
    ],
    ['onUnavailable', 'ignore', /`onUnavailable` must be 'throw' or 'run', got "ignore"/],
    ['waitTimeout', -5, /`waitTimeout` must be a number of ms from 0 .*, got -5\.$/],
    ['required', 'yes', /`required` must be true or false, got "yes" \(a string\)\.$/],
    [
      'header',
      'Bad Header',
      /^@Idempotent option `header` must be a header name .*, got "Bad Header"/,
    ],
    ['header', '', /`header` must be a header name/],
    ['header', 5, /`header` must be a header name .*, got 5\.$/],
    ['storeIf', 200, /^@Idempotent option `storeIf` must be a function, got 200\.$/],
    ['scope', 'user', /`scope` must be a function, got "user" \(a string\)\.$/],
    ['fingerprint', {}, /`fingerprint` must be a function, got an object\.$/],
  ])('rejects %s %p with a TypeError naming it', (name, value, message) => {
    expect(typeError(idempotent({ [name]: value }))).toMatch(message);
  });

  it('accepts every option at a valid value', () => {
    expect(
      idempotent({
        header: 'X-Idempotency-Key',
        required: false,
        retention: 60_000,
        lease: 2000,
        onInFlight: 'wait',
        waitTimeout: Infinity,
        storeIf: (status: number) => status < 400,
        onUnavailable: 'run',
        scope: () => 'tenant',
        fingerprint: () => ({}),
      }),
    ).not.toThrow();
    expect(() => Idempotent()).not.toThrow();
  });

  it('rejects options that are not an object', () => {
    expect(typeError(idempotent('X-Key'))).toMatch(/^@Idempotent options must be an object/);
    expect(typeError(idempotent(null))).toMatch(/must be an object, got null\.$/);
  });

  it('rejects a decorated member that is not a method', () => {
    const decorate = Idempotent();
    const message = typeError(() =>
      decorate(class Orders {}.prototype, 'total', { value: 5, writable: true }),
    );
    expect(message).toBe('@Idempotent on Orders.total: only methods can be idempotent.');
  });
});

describe('the module `idempotency` option, checked when LockService starts', () => {
  const services: LockService[] = [];
  afterEach(async () => {
    await Promise.all(services.splice(0).map((service) => service.close()));
  });

  const start = (options: unknown) => () => {
    services.push(new LockService(options as DistributedLockModuleOptions));
  };

  it('names an unknown idempotency option and the one it most likely meant', () => {
    expect(typeError(start({ idempotency: { leas: 1 } }))).toMatch(
      /^Unknown DistributedLockModule `idempotency` option `leas`: did you mean `lease`\?/,
    );
  });

  it.each([
    ['lease', 0],
    ['retention', 'x'],
    ['onInFlight', 'later'],
    ['header', 'Bad Header'],
    ['storeIf', true],
  ])('rejects idempotency.%s %p, naming `idempotency` and the option', (name, value) => {
    const message = typeError(start({ idempotency: { [name]: value } }));
    expect(message).toMatch(
      new RegExp(`^DistributedLockModule \`idempotency\` option \`${name}\``),
    );
  });

  it('rejects an idempotency option that is not an object', () => {
    expect(typeError(start({ idempotency: 30_000 }))).toBe(
      'DistributedLockModule `idempotency` options must be an object, got 30000.',
    );
  });

  it('accepts valid idempotency defaults', () => {
    expect(start({ idempotency: { lease: 5000, onInFlight: 'wait' } })).not.toThrow();
  });

  it('fails the application at boot when forRoot was given a misspelt idempotency option', async () => {
    @Module({
      imports: [
        DistributedLockModule.forRoot({
          idempotency: { leas: 1 } as unknown as IdempotencyOptions,
        }),
      ],
    })
    class AppModule {}
    const error = await Test.createTestingModule({ imports: [AppModule] })
      .compile()
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError).message).toMatch(
      /^Unknown DistributedLockModule `idempotency` option `leas`: did you mean `lease`\?/,
    );
  });
});

describe('IdempotencyService.run arguments', () => {
  let locks: LockService;
  let idempotency: IdempotencyService;
  let ran: number;
  const work = () => ++ran;

  beforeEach(() => {
    locks = new LockService();
    idempotency = new IdempotencyService(locks);
    ran = 0;
  });
  afterEach(async () => {
    expect(locks.heldCount).toBe(0);
    expect(ran).toBe(0);
    await locks.close();
  });

  it('rejects an empty key, and runs nothing', async () => {
    await expect(idempotency.run('', {}, work)).rejects.toThrow(
      new TypeError(
        'IdempotencyService.run: the key must be a non-empty string, got an empty string.',
      ),
    );
  });

  it('rejects a key that is no string, without showing its value', async () => {
    const error = await idempotency.run(42 as unknown as string, {}, work).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError).message).toBe(
      'IdempotencyService.run: the key must be a non-empty string, got a number.',
    );
  });

  it('rejects work that is not a function', async () => {
    const notWork = 'charge' as unknown as () => number;
    await expect(idempotency.run('k', {}, notWork)).rejects.toThrow(
      new TypeError('IdempotencyService.run: the third argument must be a function.'),
    );
  });

  it('rejects a bad run option, naming it', async () => {
    await expect(idempotency.run('k', {}, work, { lease: 0 })).rejects.toThrow(
      /^IdempotencyService\.run option `lease` must be an integer number of ms/,
    );
  });

  it('rejects an HTTP-only option among run options', async () => {
    const options = { header: 'X-Key' } as unknown as { lease: number };
    const error = await idempotency.run('k', {}, work, options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError).message).toMatch(
      /^Unknown IdempotencyService\.run option `header`/,
    );
  });
});
