export { TestingLockService } from './testing-lock.service';
export type { TestingLockOptions } from './testing-lock.service';
export { runLockStoreContract } from './store-contract';
export type { LockStoreContractOptions, LockStoreFixture } from './store-contract';
