/** On a wrapper made by our decorators: the method it wraps. */
const WRAPPED = Symbol.for('nestjs-distributed-lock:wrapped');

/**
 * Makes `wrapper` stand in for `method`: route, pipe, guard and Swagger metadata set on the
 * method before the wrap survive it, and so do its name and (for key templates read by a
 * decorator applied later) its parameter list.
 */
export function wrapMethod<F extends object>(method: object, wrapper: F): F {
  for (const key of Reflect.getOwnMetadataKeys(method)) {
    Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, method), wrapper);
  }
  Object.defineProperty(wrapper, 'name', { value: (method as { name?: string }).name });
  Object.defineProperty(wrapper, WRAPPED, { value: unwrap(method) });
  return wrapper;
}

/** The method as written, under any wrappers of ours. */
export function unwrap<F extends object>(fn: F): F {
  return ((fn as Record<symbol, F | undefined>)[WRAPPED] ?? fn) as F;
}
