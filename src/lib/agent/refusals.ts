// A center that refuses an agent (ZooKeeper NoAuth, HTTP 401/403) is not an outage: retrying will not
// help until someone changes a setting, and `stconf status` cannot show the host. So a refusal is one
// error line that says what was refused and what to set, repeated at most every 5 minutes while it
// lasts, per kind (reads, reports); the agent keeps applying whatever it can still read.
import {formatErrorLine, isStconfError, StconfError} from '../errors.js'
import type {Logger} from './types.js'

export type Refused = 'read' | 'report'

export const REFUSAL_REPEAT_MS = 5 * 60_000

export function isRefusal(error: unknown): error is StconfError {
  return isStconfError(error) && (error.code === 'forbidden' || error.code === 'unauthorized')
}

export class RefusalLog {
  private readonly lastLogged = new Map<Refused, number>()
  /** the first refusal of each kind in this agent's life (`agent --once` exits 5 on any) */
  readonly seen = new Map<Refused, StconfError>()

  constructor(
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
    private readonly repeatMs = REFUSAL_REPEAT_MS,
  ) {}

  /** Log `error` if it is a refusal (throttled); returns whether it was one. */
  note(what: Refused, error: unknown): boolean {
    if (!isRefusal(error)) return false
    if (!this.seen.has(what)) this.seen.set(what, error)
    const last = this.lastLogged.get(what)
    const now = this.now()
    if (last === undefined || now - last >= this.repeatMs) {
      this.lastLogged.set(what, now)
      this.logger.error(formatErrorLine(error), {refused: what})
    }

    return true
  }

  /** The center accepted a `what` again: say so once, and log the next refusal at once. */
  accepted(what: Refused): void {
    if (!this.lastLogged.delete(what)) return
    this.logger.info(what === 'report' ? 'the center accepts this agent\'s report again' : 'the center lets this agent read again')
  }
}

/** The agent-side wording of a refusal: what was refused, and what to set. */
export function refusal(message: string, hint: string): StconfError {
  return new StconfError('forbidden', message, hint)
}
