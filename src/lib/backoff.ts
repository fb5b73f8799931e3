// The one sleep and back-off for every retry loop (agent long-poll, the TUI's event stream).

/** Resolves after `ms`, or at once when `signal` aborts (never rejects: loops check the signal). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }

    signal?.addEventListener('abort', done, {once: true})
  })
}

/** The next wait after a failure: doubles from `minMs` up to `maxMs`. 0 means "the last try worked". */
export function nextBackoff(previousMs: number, minMs = 250, maxMs = 5000): number {
  return Math.min(Math.max(previousMs * 2, minMs), maxMs)
}
