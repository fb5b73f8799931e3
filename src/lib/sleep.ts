// The one sleep. It resolves early when `signal` aborts, and always removes its abort listener when
// the timer fires: loops that sleep on one long-lived signal (the agent's poll) would otherwise add a
// listener per round and never drop it (MaxListenersExceededWarning, memory growing with uptime).
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve()
    const onAbort = () => {
      clearTimeout(timer)
      resolve()
    }

    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, {once: true})
  })
}
