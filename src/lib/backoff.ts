// The one back-off for retry loops (agent long-poll, the TUI's event stream), and the one bounded
// retry (a read that raced a write, a commit that lost a race); both wait with ./sleep.ts.
import {sleep} from './sleep.js'

/** The next wait after a failure: doubles from `minMs` up to `maxMs`. 0 means "the last try worked". */
export function nextBackoff(previousMs: number, minMs = 250, maxMs = 5000): number {
  return Math.min(Math.max(previousMs * 2, minMs), maxMs)
}

/** What a try of retry() returns when it should be tried again. */
export const TRY_AGAIN = Symbol('try again')

export interface RetryOptions {
  /** at most this many tries in all */
  tries: number
  /** the wait after the first try; doubled after each further one (nextBackoff), up to maxDelayMs */
  firstDelayMs: number
  maxDelayMs?: number
  /** ends a wait early (the tries go on: an aborted caller stops by throwing from its attempt) */
  signal?: AbortSignal
  /** the error thrown when every try said TRY_AGAIN */
  exhausted: () => Error
}

/**
 * Runs `attempt` until it returns anything but TRY_AGAIN, at most `tries` times, waiting between
 * tries. An error thrown by `attempt` is not retried: it ends the loop at once.
 */
export async function retry<T>(options: RetryOptions, attempt: (n: number) => Promise<T | typeof TRY_AGAIN>): Promise<T> {
  let delay = 0
  for (let n = 1; ; n++) {
    const result = await attempt(n)
    if (result !== TRY_AGAIN) return result
    if (n >= options.tries) throw options.exhausted()
    delay = nextBackoff(delay, options.firstDelayMs, options.maxDelayMs ?? 5000)
    await sleep(delay, options.signal)
  }
}
