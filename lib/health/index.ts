// A subpath of its own (`nestjs-distributed-lock/health`): only this entry point loads
// @nestjs/terminus, an optional peer dependency.
export { LockHealthIndicator } from './lock-health.indicator';
