import type { Session } from './session';

/** Polls `read` until `done` holds for its value (the machine may be busy: no fixed sleeps), and returns the last value. */
export async function until<T>(session: Session, what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(value)}`);
    await session.page.waitForTimeout(150);
    value = await read();
  }
  return value;
}
