/** How long one store call may take: it settles by `deadline` (monotonic ms) or when `signal` aborts. */
export interface CallBound {
  readonly deadline: number;
  readonly signal?: AbortSignal;
}
