import type { ExecutionContext } from '@nestjs/common';
import {
  DEFAULT_IDEMPOTENCY_HEADER,
  DEFAULT_IDEMPOTENCY_LEASE_MS,
  DEFAULT_IDEMPOTENCY_RETENTION_MS,
} from '../distributed-lock.constants';
import type {
  IdempotencyOptions,
  IdempotencyRunOptions,
} from '../interfaces/idempotency-options.interface';
import { describeValue } from '../validation/describe-value';
import { assertKnownOptions } from '../validation/known-options';
import { assertTimerMs, assertWaitTimeout } from '../validation/number-options';
import { assertBoolean, assertOneOf } from '../validation/option-types';

export interface ResolvedIdempotencyOptions {
  header: string;
  required: boolean;
  retention: number;
  lease: number;
  onInFlight: 'conflict' | 'wait';
  waitTimeout: number;
  storeIf: (status: number) => boolean;
  onUnavailable: 'throw' | 'run';
  scope: (context: ExecutionContext) => string | undefined;
  fingerprint: (context: ExecutionContext) => unknown;
}

/** RFC 9110 token characters: what a header name may be made of. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const FUNCTIONS = ['storeIf', 'scope', 'fingerprint'] as const;

/** Checks every idempotency option that is set; names first, so a typo is reported as one. */
export function validateIdempotencyOptions(
  options: unknown,
  names: readonly string[],
  label: string,
): asserts options is IdempotencyOptions {
  assertKnownOptions(options, names, label);
  const { header, required, retention, lease, onInFlight, waitTimeout, onUnavailable } =
    options as IdempotencyOptions;
  if (header !== undefined && (typeof header !== 'string' || !HEADER_NAME.test(header))) {
    throw new TypeError(
      `${label} \`header\` must be a header name (letters, digits and - . _ and the like), ` +
        `got ${describeValue(header)}.`,
    );
  }
  if (required !== undefined) assertBoolean(required, 'required', label);
  if (retention !== undefined) assertTimerMs(retention, 'retention', label);
  if (lease !== undefined) assertTimerMs(lease, 'lease', label);
  if (onInFlight !== undefined) assertOneOf(onInFlight, ['conflict', 'wait'], 'onInFlight', label);
  if (waitTimeout !== undefined) assertWaitTimeout(waitTimeout, label);
  if (onUnavailable !== undefined) {
    assertOneOf(onUnavailable, ['throw', 'run'], 'onUnavailable', label);
  }
  for (const name of FUNCTIONS) {
    const value = (options as Record<string, unknown>)[name];
    if (value !== undefined && typeof value !== 'function') {
      throw new TypeError(`${label} \`${name}\` must be a function, got ${describeValue(value)}.`);
    }
  }
}

/** The option set in force: the call's own, then the module's `idempotency`, then defaults. */
export function resolveIdempotencyOptions(
  waitTimeout: number,
  ...layers: (IdempotencyOptions | IdempotencyRunOptions | undefined)[]
): ResolvedIdempotencyOptions {
  const pick = <K extends keyof IdempotencyOptions>(name: K): IdempotencyOptions[K] => {
    for (const layer of layers) {
      const value = (layer as IdempotencyOptions | undefined)?.[name];
      if (value !== undefined) return value;
    }
    return undefined;
  };
  return {
    header: pick('header') ?? DEFAULT_IDEMPOTENCY_HEADER,
    required: pick('required') ?? true,
    retention: pick('retention') ?? DEFAULT_IDEMPOTENCY_RETENTION_MS,
    lease: pick('lease') ?? DEFAULT_IDEMPOTENCY_LEASE_MS,
    onInFlight: pick('onInFlight') ?? 'conflict',
    waitTimeout: pick('waitTimeout') ?? waitTimeout,
    storeIf: pick('storeIf') ?? storeBelow500,
    onUnavailable: pick('onUnavailable') ?? 'throw',
    scope: pick('scope') ?? userScope,
    fingerprint: pick('fingerprint') ?? requestBody,
  };
}

function storeBelow500(status: number): boolean {
  return status < 500;
}

/** The authenticated principal, as Passport and most guards leave it on the request. */
function userScope(context: ExecutionContext): string | undefined {
  const user = context.switchToHttp().getRequest<{ user?: unknown }>()?.user;
  if (typeof user !== 'object' || user === null) return undefined;
  const { id, sub } = user as { id?: unknown; sub?: unknown };
  const principal = id ?? sub;
  return typeof principal === 'string' || typeof principal === 'number'
    ? String(principal)
    : undefined;
}

function requestBody(context: ExecutionContext): unknown {
  return context.switchToHttp().getRequest<{ body?: unknown }>()?.body;
}
