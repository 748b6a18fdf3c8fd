import { CallHandler, ExecutionContext, Injectable, Logger, NestInterceptor } from '@nestjs/common';
import { SSE_METADATA } from '@nestjs/common/constants';
import { ModuleRef } from '@nestjs/core';
import { catchError, finalize, from, mergeMap, Observable, of, takeLast, throwError } from 'rxjs';
import { IDEMPOTENT_OPTIONS, LOGGER_CONTEXT } from '../distributed-lock.constants';
import { MESSAGES } from '../distributed-lock.messages';
import { IdempotencyKeyError } from '../errors/idempotency.errors';
import type { IdempotencyOptions } from '../interfaces/idempotency-options.interface';
import type { ActiveClaim } from './claim-engine';
import { fingerprintOf } from './fingerprint';
import { HttpExchange } from './http-exchange';
import { parseIdempotencyKey } from './idempotency-key';
import type { ResolvedIdempotencyOptions } from './idempotency-options';
import { idempotencyScope, IdempotencyScopeState } from './idempotency-scope';
import { IdempotencyService, replayedError, storeKey } from './idempotency.service';
import {
  bodyValue,
  REPLAYED_HEADERS,
  REPLAYED_MARK_HEADER,
  serializeOutcome,
  StoredResponse,
} from './stored-response';

/**
 * The HTTP side of `@Idempotent()`: reads the key header, claims it before the handler (and
 * its pipes) run, stores the handler's response before it is sent, and replays stored ones.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly logger = new Logger(LOGGER_CONTEXT);
  private service: IdempotencyService | undefined;
  private readonly warned = new WeakSet<object>();
  /** The options in force per handler: the decorator's and the module's never change. */
  private readonly resolved = new WeakMap<object, ResolvedIdempotencyOptions>();

  constructor(private readonly moduleRef: ModuleRef) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const handler = context.getHandler();
    const where = `${context.getClass().name}.${handler.name}`;
    if (context.getType() !== 'http' || Reflect.getMetadata(SSE_METADATA, handler)) {
      this.warnOnce(handler, MESSAGES.idempotencyHttpOnly(where));
      return next.handle();
    }
    const service = this.serviceFor(where);
    let opts = this.resolved.get(handler);
    if (!opts) {
      const own = Reflect.getMetadata(IDEMPOTENT_OPTIONS, handler) as
        IdempotencyOptions | undefined;
      opts = service.resolve(own);
      this.resolved.set(handler, opts);
    }
    const http = new HttpExchange(context);
    const parsed = parseIdempotencyKey(http.headerValues(opts.header));
    if ('problem' in parsed) {
      if (parsed.problem === 'missing' && !opts.required) return next.handle();
      this.logger.debug(
        MESSAGES.idempotencyRejected(`the ${opts.header} header is ${parsed.problem}`),
      );
      return throwError(() => new IdempotencyKeyError(opts.header, parsed.problem));
    }
    const key = storeKey([opts.scope(context), http.method, http.route, parsed.key]);
    const fingerprint = fingerprintOf(opts.fingerprint(context));
    return from(service.begin(key, fingerprint, opts)).pipe(
      mergeMap((begun) => {
        if (begun.kind === 'unguarded') return next.handle();
        if (begun.kind === 'replay') return this.replay(http, begun.response);
        return this.runClaimed(begun.claim, service, opts, http, next, handler);
      }),
    );
  }

  private runClaimed(
    claim: ActiveClaim,
    service: IdempotencyService,
    opts: ResolvedIdempotencyOptions,
    http: HttpExchange,
    next: CallHandler,
    handler: object,
  ): Observable<unknown> {
    const state: IdempotencyScopeState = { claim, started: false };
    let ended = false;
    const end = (response: string | null): Promise<void> => {
      ended = true;
      return service.finish(claim, response);
    };
    // handle() is called inside the scope: Nest runs the handler in the context it was called in.
    const handled = idempotencyScope.run(state, () => next.handle());
    return handled.pipe(
      // Nest sends the last value an Observable handler emits; that is the response.
      takeLast(1),
      mergeMap(async (value) => {
        const status = http.status;
        if (!opts.storeIf(status)) {
          await end(null);
          return value;
        }
        const outcome = serializeOutcome(status, replayedHeaders(http), value, false);
        if (outcome === undefined) this.warnOnce(handler, MESSAGES.notReplayable('the response'));
        await end(outcome ?? null);
        return value;
      }),
      catchError((err: unknown) => {
        ended = true;
        // Rejected before the handler ran (a guard-like pipe, validation): no outcome to keep.
        const ending = state.started
          ? service.finishAfterError(claim, err, opts)
          : service.finish(claim, null);
        return from(ending).pipe(mergeMap(() => throwError(() => err)));
      }),
      // Unsubscribed (the client went away) or empty before an outcome: the claim is given back.
      finalize(() => {
        if (!ended) void end(null);
      }),
    );
  }

  private replay(http: HttpExchange, response: StoredResponse): Observable<unknown> {
    for (const [name, value] of Object.entries(response.headers)) http.setHeader(name, value);
    http.setHeader(REPLAYED_MARK_HEADER, 'true');
    if (response.thrown) return throwError(() => replayedError(response));
    http.status = response.status;
    const body = bodyValue(response.body);
    return of(body);
  }

  private serviceFor(where: string): IdempotencyService {
    if (this.service) return this.service;
    let found: IdempotencyService | undefined;
    try {
      found = this.moduleRef.get(IdempotencyService, { strict: false });
    } catch {
      found = undefined;
    }
    if (!found) throw new Error(MESSAGES.idempotencyNotRegistered(where));
    this.service = found;
    return found;
  }

  private warnOnce(handler: object, message: string): void {
    if (this.warned.has(handler)) return;
    this.warned.add(handler);
    this.logger.warn(message);
  }
}

/** The allow-listed headers the handler's response carries now. */
function replayedHeaders(http: HttpExchange): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of REPLAYED_HEADERS) {
    const value = http.getHeader(name);
    if (value !== undefined) headers[name] = value;
  }
  return headers;
}
