export { TestingLockService } from './testing-lock.service';
export type { TestingLockOptions } from './testing-lock.service';
