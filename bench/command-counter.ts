import { Redis } from 'ioredis';

let sent = 0;
let installed = false;

/**
 * Counts every command any ioredis client of this process sends (contenders' connections and
 * their subscribers alike; not the commands Lua scripts run inside Redis). Installed once, by
 * wrapping `Redis.prototype.sendCommand`, which every command goes through.
 */
export function installCommandCounter(): void {
  if (installed) return;
  installed = true;
  const proto = Redis.prototype as unknown as {
    sendCommand: (this: Redis, ...args: unknown[]) => unknown;
  };
  const original = proto.sendCommand;
  proto.sendCommand = function (this: Redis, ...args: unknown[]): unknown {
    sent++;
    return original.apply(this, args);
  };
}

/** Commands sent so far by this process's ioredis clients. */
export function sentCommands(): number {
  return sent;
}
