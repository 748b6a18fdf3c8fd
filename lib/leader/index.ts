export { LeaderElection, LeadershipResignedError } from './leader-election';
export { LeaderElectionService } from './leader-election.service';
export { LeaderOnly } from './leader-only.decorator';
export type { LeaderElectionOptions } from './leader-election-options.interface';
export type {
  LeadershipChange,
  LeadershipChangeReason,
  LeaderTerm,
} from './leadership-change.interface';
