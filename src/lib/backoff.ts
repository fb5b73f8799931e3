// The one back-off for retry loops (agent long-poll, the TUI's event stream); they wait with ./sleep.ts.

/** The next wait after a failure: doubles from `minMs` up to `maxMs`. 0 means "the last try worked". */
export function nextBackoff(previousMs: number, minMs = 250, maxMs = 5000): number {
  return Math.min(Math.max(previousMs * 2, minMs), maxMs)
}
