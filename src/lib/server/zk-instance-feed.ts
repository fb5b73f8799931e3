// Follows the agents' report nodes in ZooKeeper and tells the registry what appeared, changed or went
// away. Watches, not polls: one scan (src/lib/zk/recipes/children-scan.ts) leaves a children watch on
// <root>/instances (new envs) and on each instances/<env> (nodes created or removed), and a data watch
// on each report node (a new report); when one fires, just that part is read again. Every event means
// "re-read", and the read is compared with what the registry holds. After any reconnect everything is
// scanned again (events may have been missed; after a new session that also re-arms every watch).
// serve losing ZooKeeper is not an agent going away: nothing is marked offline while serve itself is
// disconnected.
import type {InstanceReport} from '../agent/types.js'
import {validateEnv, validateInstanceName} from '../model.js'
import {parseInstanceChild, ZkLayout, type StoppedMarker} from '../zk/layout.js'
import {ChildrenScan, type ScanScope, type WatchedReads} from '../zk/recipes/children-scan.js'
import type {ZkClient} from '../zk/zk-client.js'
import type {ZkSink} from './instance-registry.js'

export interface ZkFeedLog {
  warn(message: string): void
}

export class ZkInstanceFeed {
  private sink?: ZkSink
  private readonly layout: ZkLayout
  private readonly scan: ChildrenScan

  constructor(
    private readonly client: ZkClient,
    root: string,
    private readonly log: ZkFeedLog = {warn() {}},
  ) {
    this.layout = new ZkLayout(root)
    this.scan = new ChildrenScan(client, this.layout.instances(), (reads, scope) => this.rescan(reads, scope))
  }

  /** Resolves after the first full scan (or rejects if ZooKeeper cannot be read now). */
  async start(sink: ZkSink): Promise<void> {
    this.sink = sink
    this.scan.start()
    await this.scan.scanNow(5000)
  }

  close(): void {
    this.scan.close()
  }

  private get closed(): boolean {
    return this.scan.state === 'closed'
  }

  /** A full scan, or just the envs and report nodes whose watch fired. */
  private async rescan(reads: WatchedReads, scope: ScanScope): Promise<void> {
    if (scope === 'all' || scope.has(this.layout.instances())) return this.scanAll(reads)
    await Promise.all(
      [...scope].map(async (path) => {
        const where = this.layout.locate(path)
        if (!where?.env) return
        if (where.rest === undefined) await this.scanEnv(reads, where.env).catch(() => undefined)
        else if (!parseInstanceChild(where.rest).marker) await this.readReport(reads, where.env, where.rest)
      }),
    )
  }

  private async scanAll(reads: WatchedReads): Promise<void> {
    if (this.closed || !this.sink) return
    const envs = (await reads.children(this.layout.instances())) ?? []
    const valid = envs.filter((env) => isValid(() => validateEnv(env)))
    // Envs we remember but ZooKeeper no longer has (a wiped tree): scanned as empty.
    const all = new Set([...valid, ...this.sink.envs()])
    await Promise.all([...all].map((env) => this.scanEnv(reads, env, valid.includes(env)).catch(() => undefined)))
  }

  private async scanEnv(reads: WatchedReads, env: string, exists = true): Promise<void> {
    const sink = this.sink
    if (this.closed || !sink) return
    const children = exists ? ((await reads.children(this.layout.instances(env))) ?? []) : []
    const reports = new Set<string>()
    const markers = new Set<string>()
    for (const child of children) {
      const {instance, marker} = parseInstanceChild(child)
      if (!isValid(() => validateInstanceName(instance))) continue
      ;(marker ? markers : reports).add(instance)
    }

    await Promise.all([...reports].map((instance) => this.readReport(reads, env, instance)))
    // Gone: registry says online via ZooKeeper, ZooKeeper has no node. A marker says it was a clean stop.
    const gone = new Set([...sink.zkOnline(env).filter((instance) => !reports.has(instance)), ...[...markers].filter((instance) => !reports.has(instance))])
    for (const instance of gone) {
      const marker = markers.has(instance) ? await this.readMarker(env, instance) : null
      if (this.closed || !this.client.connected) return // serve lost ZooKeeper: that is not the agents' fault
      sink.zkGone(env, instance, marker)
    }

    // Markers are recorded now (persisted by the registry); a stale one beside a live node is obsolete.
    for (const instance of markers) await this.client.remove(this.layout.stoppedMarker(env, instance)).catch(() => undefined)
  }

  private async readReport(reads: WatchedReads, env: string, instance: string): Promise<void> {
    const path = this.layout.instances(env, instance)
    // Unreachable: the reconnect's full scan reads it again. Absent: the children watch tells the registry.
    const node = await reads.data(path).catch(() => null)
    if (!node || this.closed) return
    const report = parseReport(node.data, instance)
    if (report) this.sink?.zkSeen(env, report)
    else this.log.warn(`instance node ${path} does not hold a report; ignored`)
  }

  private async readMarker(env: string, instance: string): Promise<{stoppedAt: string; report: InstanceReport | null} | null> {
    const node = await this.client.getData(this.layout.stoppedMarker(env, instance)).catch(() => null)
    if (!node) return null
    try {
      const marker = JSON.parse(node.data.toString('utf8')) as StoppedMarker<unknown>
      const stoppedAt = typeof marker.stoppedAt === 'string' && !Number.isNaN(Date.parse(marker.stoppedAt)) ? marker.stoppedAt : new Date().toISOString()
      return {stoppedAt, report: marker.report ? parseReport(Buffer.from(JSON.stringify(marker.report)), instance) : null}
    } catch {
      return {stoppedAt: new Date().toISOString(), report: null}
    }
  }
}

function isValid(check: () => unknown): boolean {
  try {
    check()
    return true
  } catch {
    return false
  }
}

/** A report as agents write it; older agents did not write `instance` (the node name is the truth). */
function parseReport(data: Buffer, instance: string): InstanceReport | null {
  try {
    const report = JSON.parse(data.toString('utf8')) as InstanceReport
    if (!report || typeof report !== 'object' || !Array.isArray(report.files)) return null
    return {...report, instance}
  } catch {
    return null
  }
}
