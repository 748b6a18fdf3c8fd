import { wrapMethod } from '../decorators/copy-metadata';
import { assertLeadershipName } from './leader-election-options';
import { LeaderElectionService } from './leader-election.service';
import { LEADER_ELECTIONS_REF, LEADER_ONLY_NAMES } from './leader.constants';
import { LEADER_MESSAGES } from './leader.messages';

type AnyMethod = (this: unknown, ...args: unknown[]) => unknown;

/**
 * Runs the method only on the instance that leads `name`; elsewhere it resolves `undefined`
 * without running. The method then returns a promise. Every instance with such a method
 * campaigns for `name` from the application's start, so a leader exists before the first call
 * (for example of an `@Interval` or `@Cron` job). Give the leadership's options, if any, with
 * `LeaderElectionService.election(name, options)` in a constructor or `onModuleInit`.
 */
export function LeaderOnly(name: string): MethodDecorator {
  assertLeadershipName(name, '@LeaderOnly');
  return (target, propertyKey, descriptor) => {
    const where =
      typeof target === 'function'
        ? `${target.name}.${String(propertyKey)}`
        : `${target.constructor?.name ?? 'anonymous'}.${String(propertyKey)}`;
    if (typeof target === 'function') {
      throw new TypeError(`@LeaderOnly on ${where}: only instance methods can be leader-only.`);
    }
    const original = descriptor.value as unknown;
    if (typeof original !== 'function') {
      throw new TypeError(`@LeaderOnly on ${where}: only methods can be leader-only.`);
    }
    const method = original as AnyMethod;

    const leaderOnly = function (this: unknown, ...args: unknown[]): Promise<unknown> {
      try {
        if (!electionsFor(this, where).campaign(name).isLeader()) return Promise.resolve(undefined);
        return Promise.resolve(method.apply(this, args));
      } catch (err) {
        return Promise.reject(err);
      }
    };
    wrapMethod(method, leaderOnly);
    // Subclasses add to their parents' names: the explorer reads the whole chain at once.
    const inherited = (target as Record<symbol, readonly string[] | undefined>)[LEADER_ONLY_NAMES];
    Object.defineProperty(target, LEADER_ONLY_NAMES, {
      value: [...new Set([...(inherited ?? []), name])],
      configurable: true,
    });
    descriptor.value = leaderOnly as typeof descriptor.value;
    return descriptor;
  };
}

/** The leaderships `@LeaderOnly` methods of `instance` need (its class and its parents'). */
export function leaderOnlyNames(instance: object): readonly string[] {
  return (instance as Record<symbol, readonly string[] | undefined>)[LEADER_ONLY_NAMES] ?? [];
}

function electionsFor(instance: unknown, where: string): LeaderElectionService {
  const bound =
    typeof instance === 'object' && instance !== null
      ? (instance as Record<symbol, LeaderElectionService | undefined>)[LEADER_ELECTIONS_REF]
      : undefined;
  if (bound) return bound;
  const sole = LeaderElectionService.soleLiveService();
  if (sole) return sole;
  throw new Error(
    LeaderElectionService.liveServiceCount() > 1
      ? LEADER_MESSAGES.ambiguousService(where)
      : LEADER_MESSAGES.notRegistered(where),
  );
}
