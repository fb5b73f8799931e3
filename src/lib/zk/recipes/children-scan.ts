// A scan over part of the tree that leaves a watch on what it reads and runs again when one fires,
// as Curator's PathChildrenCache / TreeCache do, but leaving what to do with the nodes to its user.
// It runs again:
//   - for the paths whose watch fired (the scan gets them as its scope, to re-read just those), at
//     once or, with `settleMs`, once a burst of events has settled;
//   - for everything after each (re)connect, since events may have been missed (and after a new
//     session the full scan is what re-arms every watch), and every `intervalMs` as a safety net;
// and never two scans at once: triggers during a scan are merged into one more run after it.
// While the client is disconnected nothing runs: the reconnect triggers a full scan.
import type {ZkClient, ZkStateChange} from '../zk-client.js'
import type {ZkNode} from './node-watch.js'
import {ArmedWatches, Recipe} from './recipe.js'

/** What a run is for: everything, or the paths whose watch fired. */
export type ScanScope = 'all' | ReadonlySet<string>

/** Reads that leave a watch behind (at most one per path and session); its event re-runs the scan for that path. */
export interface WatchedReads {
  /** The children of `path` (null: absent), with a children watch. */
  children(path: string): Promise<string[] | null>
  /** The data of `path` (null: absent, and then no watch: its parent's children watch sees it come). */
  data(path: string): Promise<ZkNode | null>
}

export type ScanRun = (reads: WatchedReads, scope: ScanScope) => Promise<void>

export interface ChildrenScanOptions {
  /** also run a full scan this often (a safety net for anything a watch could not catch) */
  intervalMs?: number
  /** a run for fired watches starts this long after the first of them, so a burst of events gives one run */
  settleMs?: number
  /** failures of runs nobody awaits (a watch's, the interval's); default: ignored, the next run retries */
  onError?: (error: unknown) => void
}

interface Waiter {
  resolve: () => void
  reject: (error: unknown) => void
}

export class ChildrenScan extends Recipe {
  private readonly watches: ArmedWatches
  private readonly reads: WatchedReads
  private timer?: NodeJS.Timeout
  private pending?: Set<string> | 'all'
  /** callers of the next run, and of the one running */
  private waiting: Waiter[] = []
  private current: Waiter[] = []
  private running = false
  private runningAll = false
  /** paths whose watch fired, waiting out settleMs */
  private readonly settling = new Set<string>()
  private settleTimer?: NodeJS.Timeout

  constructor(
    client: ZkClient,
    what: string,
    private readonly run: ScanRun,
    private readonly options: ChildrenScanOptions = {},
  ) {
    super(client, `scan of ${what}`)
    this.watches = new ArmedWatches(client)
    this.reads = {
      children: (path) => this.armedRead(`children:${path}`, path, (watcher) => this.client.getChildren(path, watcher)),
      data: (path) => this.armedRead(`data:${path}`, path, (watcher) => this.client.getData(path, watcher)),
    }
  }

  /**
   * A full scan: resolves when one is done (the one running, if it is a full scan and nothing else is
   * asked for; else the next), or rejects with its error. Waits up to `connectMs` for a connection.
   */
  async scanNow(connectMs?: number): Promise<void> {
    this.assertStarted()
    await this.client.waitConnected(connectMs)
    if (this.runningAll && !this.pending) return new Promise<void>((resolve, reject) => this.current.push({resolve, reject}))
    return this.trigger('all')
  }

  protected override started(): void {
    if (this.options.intervalMs) {
      this.timer = setInterval(() => this.triggerQuietly('all'), this.options.intervalMs)
      this.timer.unref()
    }

    if (this.client.connected) this.triggerQuietly('all')
  }

  protected override closed(): void {
    clearInterval(this.timer)
    clearTimeout(this.settleTimer)
    for (const {resolve} of [...this.waiting.splice(0), ...this.current.splice(0)]) resolve()
  }

  protected stateChanged(change: ZkStateChange): void {
    if (change.state === 'connected' || change.state === 'reconnected') this.triggerQuietly('all')
  }

  private triggerQuietly(scope: string | string[] | 'all'): void {
    this.trigger(scope).catch((error: unknown) => this.options.onError?.(error))
  }

  /** A watch on `path` fired: a run for it, now or once the burst settles. */
  private fired(path: string): void {
    if (this.isClosed) return
    if (!this.options.settleMs) return this.triggerQuietly(path)
    this.settling.add(path)
    this.settleTimer ??= setTimeout(() => {
      this.settleTimer = undefined
      const paths = [...this.settling]
      this.settling.clear()
      this.triggerQuietly(paths)
    }, this.options.settleMs)
    this.settleTimer.unref()
  }

  private trigger(scope: string | string[] | 'all'): Promise<void> {
    if (this.isClosed) return Promise.resolve()
    if (scope === 'all' || this.pending === 'all') this.pending = 'all'
    else {
      this.pending ??= new Set()
      for (const path of typeof scope === 'string' ? [scope] : scope) this.pending.add(path)
    }
    const done = new Promise<void>((resolve, reject) => this.waiting.push({resolve, reject}))
    if (!this.running) void this.drain()
    return done
  }

  private async drain(): Promise<void> {
    this.running = true
    try {
      while (this.pending && !this.isClosed) {
        const scope = this.pending
        this.pending = undefined
        this.current = this.waiting.splice(0)
        this.runningAll = scope === 'all'
        try {
          if (this.client.connected) await this.run(this.reads, scope)
          for (const {resolve} of this.current.splice(0)) resolve()
        } catch (error) {
          for (const {reject} of this.current.splice(0)) reject(error)
        }
      }
    } finally {
      this.running = false
      this.runningAll = false
    }
  }

  private async armedRead<T>(id: string, path: string, read: (watcher?: () => void) => Promise<T | null>): Promise<T | null> {
    const watcher = this.watches.arm(id, () => this.fired(path))
    try {
      const value = await read(watcher)
      if (value === null) this.watches.disarm(id) // ZooKeeper leaves no watch on an absent node
      return value
    } catch (error) {
      this.watches.disarm(id)
      throw error
    }
  }
}
