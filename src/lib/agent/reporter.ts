// When the agent's report is sent: shortly after a change (20 ms, so a burst of transitions is one
// report), never two at once (a change meanwhile sends once more right after), and a report that
// failed (center down) is sent again by the next poll rather than by a tight retry loop.
import type {RefusalLog} from './refusals.js'

const DEBOUNCE_MS = 20

export class Reporter {
  private timer?: NodeJS.Timeout
  private sending?: Promise<void>
  /** a change came while a report was in flight: send once more right after it */
  private again = false
  /** the last report failed: the poll sends it again */
  private failed = false
  private stopped = false

  constructor(
    private readonly send: () => Promise<void>,
    private readonly refusals: RefusalLog,
  ) {}

  /** A file's report changed: send the report soon. */
  schedule(): void {
    if (this.stopped || this.timer) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      if (this.sending) {
        this.again = true
        return
      }

      this.sending = this.send()
        .then(
          () => {
            this.failed = false
            this.refusals.accepted('report')
          },
          (error: unknown) => {
            this.failed = true
            this.refusals.note('report', error)
          },
        )
        .finally(() => {
          this.sending = undefined
          if (this.again) {
            this.again = false
            this.schedule()
          }
        })
    }, DEBOUNCE_MS)
  }

  /** The poll reached the center: a report that failed meanwhile is sent again. */
  retryIfFailed(): void {
    if (this.failed && !this.sending) this.schedule()
  }

  /** No more reports from here; resolves once the one in flight (if any) ended. */
  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.sending?.catch(() => undefined)
  }
}
