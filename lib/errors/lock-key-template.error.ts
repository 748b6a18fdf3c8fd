/**
 * A `@WithLock` key template is wrong in itself (for example a placeholder that names no
 * parameter of the method). Thrown when the class is defined, never at call time.
 */
export class LockKeyTemplateError extends Error {
  /** `message` says which template and what is wrong with it. */
  constructor(message: string) {
    super(message);
    this.name = 'LockKeyTemplateError';
  }
}
