/**
 * The valid name a typo most likely meant, or undefined when none is close: the smallest edit
 * distance (case-insensitive) within a third of the name's length (at least 2), or a name that
 * contains the typo or is contained in it (`prefix` for `keyPrefix`).
 */
export function closestName(typo: string, names: readonly string[]): string | undefined {
  const wanted = typo.toLowerCase();
  const limit = Math.max(2, Math.floor(wanted.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of names) {
    const candidate = name.toLowerCase();
    let distance = editDistance(wanted, candidate);
    const contains =
      wanted.length >= 3 && (candidate.includes(wanted) || wanted.includes(candidate));
    if (distance > limit && !contains) continue;
    // A containing name ranks after every name within the distance limit.
    if (distance > limit) distance = limit + distance;
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance: insertions, deletions and substitutions of one character. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}
