import type { ExecutionContext } from '@nestjs/common';
import { headerValues } from './idempotency-key';

/** What the Express and Fastify request objects have in common, as far as we use them. */
interface RequestLike {
  method?: string;
  rawHeaders?: string[];
  raw?: { rawHeaders?: string[] };
  route?: { path?: unknown };
  routeOptions?: { url?: unknown };
  routerPath?: unknown;
}

/** What the Express response and the Fastify reply have in common, as far as we use them. */
interface ResponseLike {
  statusCode: number;
  status(code: number): unknown;
  getHeader(name: string): unknown;
  setHeader?(name: string, value: string): unknown;
  header?(name: string, value: string): unknown;
}

/** The request and response of an HTTP handler call, on Express or Fastify alike. */
export class HttpExchange {
  private readonly req: RequestLike;
  private readonly res: ResponseLike;

  constructor(private readonly context: ExecutionContext) {
    const http = context.switchToHttp();
    this.req = http.getRequest<RequestLike>();
    this.res = http.getResponse<ResponseLike>();
  }

  headerValues(name: string): string[] {
    return headerValues(this.req.rawHeaders ?? this.req.raw?.rawHeaders, name);
  }

  get method(): string {
    return this.req.method ?? '';
  }

  /** The route's pattern (`/orders/:id`), so that every URL of one route shares its records. */
  get route(): string {
    const pattern = this.req.route?.path ?? this.req.routeOptions?.url ?? this.req.routerPath;
    if (typeof pattern === 'string') return pattern;
    return `${this.context.getClass().name}.${this.context.getHandler().name}`;
  }

  get status(): number {
    return this.res.statusCode;
  }

  set status(code: number) {
    this.res.status(code);
  }

  getHeader(name: string): string | undefined {
    const value = this.res.getHeader(name);
    if (value === undefined || value === null) return undefined;
    return Array.isArray(value) ? value.join(', ') : String(value);
  }

  setHeader(name: string, value: string): void {
    if (typeof this.res.setHeader === 'function') this.res.setHeader(name, value);
    else this.res.header?.(name, value);
  }
}
