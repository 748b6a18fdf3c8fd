export * from './lock-key-template.error';
export * from './lock-key.error';
export * from './lock-lost.error';
export * from './lock-not-acquired.error';
export * from './lock-store-unavailable.error';
export * from './idempotency.errors';
export * from './lock-error-code';
