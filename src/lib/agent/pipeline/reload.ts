// Stage 5: the reload. One ReloadGroup per reload command, shared by the files that use it: changes
// inside the `wait` window join one batch and give one reload (quiet for `wait` after the last change,
// never more than 4 x wait after the first), and a batch never starts while the previous one's reload
// (or its rollback) runs, so one reload command never runs twice at once.
import {formatErrorLine} from '../../errors.js'
import type {ManagedFile} from '../managed-file.js'
import type {Clock, Installed, PipelineContext} from './context.js'

export type Reloaded = {ok: true; ms: number} | {ok: false; error: string; ms: number}

/** Run `command` once for `entries`; the longest timeout of the files in the batch applies. */
export async function reload(command: string, entries: Installed[], context: PipelineContext): Promise<Reloaded> {
  const timeoutMs = Math.max(...entries.map((entry) => entry.file.spec.reloadTimeoutMs))
  const started = context.clock.now()
  try {
    const result = await context.run(command, {timeoutMs, signal: context.signal})
    return {ok: true, ms: result.durationMs}
  } catch (error) {
    return {ok: false, error: formatErrorLine(error), ms: context.clock.now() - started}
  }
}

export class ReloadGroup {
  private batch = new Map<ManagedFile, Installed>()
  private timer?: unknown
  /** when the open batch got its first change (undefined: no open batch) */
  private firstAt?: number
  private running?: Promise<void>
  private idleWaiters: Array<() => void> = []

  constructor(
    readonly command: string,
    private readonly clock: Clock,
    /** reload, settle and (on failure) roll back one batch */
    private readonly runBatch: (command: string, entries: Installed[]) => Promise<void>,
  ) {}

  get busy(): boolean {
    return this.batch.size > 0 || this.running !== undefined
  }

  async whenIdle(): Promise<void> {
    if (!this.busy) return
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve))
  }

  /** Wait until no reload runs, then let `change` touch the destination as part of the open batch. */
  async join(file: ManagedFile, change: (existing?: Installed) => Promise<Installed | undefined>): Promise<void> {
    while (this.running) await this.running
    const entry = await change(this.batch.get(file))
    if (!entry) return
    this.batch.set(file, entry)
    this.schedule(file.spec.waitMs)
  }

  pending(file: ManagedFile): Installed | undefined {
    return this.batch.get(file)
  }

  /** Resolves once no reload (or its rollback) of this group runs. */
  async notRunning(): Promise<void> {
    while (this.running) await this.running
  }

  /** Run the pending reload now (agent stopping, or --once). */
  flush(): void {
    if (this.batch.size > 0 && !this.running) this.fire()
  }

  private schedule(waitMs: number): void {
    const now = this.clock.now()
    if (this.timer) this.clock.clearTimeout(this.timer)
    // Not `batch.size === 1`: one file changing again and again keeps the size at 1, and its burst
    // would then never reach the 4 x wait cap.
    this.firstAt ??= now
    const due = Math.min(now + waitMs, this.firstAt + 4 * waitMs)
    const delay = Math.max(0, due - now)
    if (delay === 0) {
      this.timer = undefined
      this.fire()
      return
    }

    this.timer = this.clock.setTimeout(() => this.fire(), delay)
  }

  private fire(): void {
    if (this.timer) this.clock.clearTimeout(this.timer)
    this.timer = undefined
    if (this.running || this.batch.size === 0) return
    const entries = [...this.batch.values()]
    this.batch = new Map()
    this.firstAt = undefined
    this.running = this.runBatch(this.command, entries).finally(() => {
      this.running = undefined
      if (this.batch.size > 0) this.fire()
      else for (const wake of this.idleWaiters.splice(0)) wake()
    })
  }
}
