// The part of autocannon's programmatic API the bench uses (the package ships no types).
declare module 'autocannon' {
  interface Options {
    url: string;
    connections?: number;
    /** Seconds. */
    duration?: number;
    pipelining?: number;
    /** Default 'GET'. */
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    /** Replace `[<id>]` in the request (URL, headers, body) with a new unique id on every request. */
    idReplacement?: boolean;
  }

  interface Histogram {
    average: number;
    p50: number;
    p99: number;
    total: number;
  }

  interface Result {
    /** Seconds, to 10 ms. */
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    '2xx': number;
    latency: Histogram;
    requests: Histogram;
  }

  function autocannon(options: Options): Promise<Result> & { stop(): void };
  export = autocannon;
}
