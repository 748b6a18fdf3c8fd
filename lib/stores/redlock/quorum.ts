/** One master's answer in a round: its reply, or why there was none (an error or no reply in time). */
export type Answer<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/** N/2 + 1: any two majorities of the same masters share at least one. */
export function majorityOf(masters: number): number {
  return Math.floor(masters / 2) + 1;
}

/**
 * Asks every master at once and resolves the answers, index for index, as soon as `decided`
 * says the answers so far settle the round (a majority is reached, or can no longer be), or
 * when every master has answered. An answer still missing then is `undefined`; its call goes
 * on, bounded by its own deadline. Never rejects: a failed call is an answer with `ok: false`.
 */
export function gather<M, T>(
  masters: readonly M[],
  ask: (master: M, index: number) => Promise<T>,
  decided: (answers: readonly (Answer<T> | undefined)[]) => boolean,
): Promise<(Answer<T> | undefined)[]> {
  const answers: (Answer<T> | undefined)[] = masters.map(() => undefined);
  if (masters.length === 0) return Promise.resolve(answers);
  return new Promise((resolve) => {
    let pending = masters.length;
    let done = false;
    const settle = (i: number, answer: Answer<T>): void => {
      if (done) return;
      answers[i] = answer;
      pending--;
      if (pending === 0 || decided(answers)) {
        done = true;
        resolve([...answers]);
      }
    };
    masters.forEach((master, i) => {
      let call: Promise<T>;
      try {
        call = ask(master, i);
      } catch (error) {
        call = Promise.reject(error);
      }
      call.then(
        (value) => settle(i, { ok: true, value }),
        (error: unknown) => settle(i, { ok: false, error }),
      );
    });
  });
}

/** How many answers pass `test`. */
export function countAnswers<T>(
  answers: readonly (Answer<T> | undefined)[],
  test: (value: T) => boolean,
): number {
  return answers.filter((a) => a?.ok === true && test(a.value)).length;
}
