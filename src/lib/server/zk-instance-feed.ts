// Follows the agents' report nodes in ZooKeeper and tells the registry what appeared, changed or went
// away. Watches, not polls: a children watch on <root>/instances (new envs) and on each
// instances/<env> (nodes created or removed), a data watch on each report node (a new report).
// Watches fire once and changes between the event and the re-arm are not reported, so every event
// means "re-read and re-arm" and the read is compared with what the registry holds. After a new
// session every watch is gone: all are re-armed by a full scan; after any reconnect, the same (events
// may have been missed). serve losing ZooKeeper is not an agent going away: nothing is marked offline
// while serve itself is disconnected.
import type {InstanceReport} from '../agent/types.js'
import {validateEnv, validateInstanceName} from '../model.js'
import {instancePath, instancesDir, instancesRoot, parseInstanceChild, stoppedMarkerPath, type StoppedMarker} from '../zk/layout.js'
import type {ZkClient} from '../zk/zk-client.js'
import type {ZkSink} from './instance-registry.js'

export interface ZkFeedLog {
  warn(message: string): void
}

export class ZkInstanceFeed {
  private sink?: ZkSink
  /** paths whose watch is armed in the current session */
  private readonly armed = new Set<string>()
  private session = ''
  private closed = false
  private readonly listeners: Array<[string, () => void]> = []

  constructor(
    private readonly client: ZkClient,
    private readonly root: string,
    private readonly log: ZkFeedLog = {warn() {}},
  ) {}

  /** Resolves after the first full scan (or rejects if ZooKeeper cannot be read now). */
  async start(sink: ZkSink): Promise<void> {
    this.sink = sink
    const on = (event: string, listener: () => void) => {
      this.client.on(event, listener)
      this.listeners.push([event, listener])
    }

    on('connected', () => void this.scanAll().catch(() => undefined))
    await this.client.waitConnected(5000)
    await this.scanAll()
  }

  close(): void {
    this.closed = true
    for (const [event, listener] of this.listeners) this.client.off(event, listener)
  }

  /** Arm `path`'s watch at most once per session; `fire` re-reads it. */
  private watcher(path: string, fire: () => void): (() => void) | undefined {
    if (this.client.session !== this.session) {
      this.session = this.client.session
      this.armed.clear()
    }

    if (this.armed.has(path)) return undefined
    this.armed.add(path)
    const session = this.session
    return () => {
      if (this.closed) return
      if (this.client.session === session) this.armed.delete(path)
      fire()
    }
  }

  private async scanAll(): Promise<void> {
    if (this.closed || !this.sink) return
    const root = instancesRoot(this.root)
    let envs: string[]
    try {
      envs = (await this.client.getChildren(root, this.watcher(root, () => void this.scanAll().catch(() => undefined)))) ?? []
    } catch (error) {
      this.armed.delete(root)
      throw error
    }

    const valid = envs.filter((env) => isValid(() => validateEnv(env)))
    // Envs we remember but ZooKeeper no longer has (a wiped tree): scanned as empty.
    const all = new Set([...valid, ...this.sink.envs()])
    await Promise.all([...all].map((env) => this.scanEnv(env, valid.includes(env)).catch(() => undefined)))
  }

  private async scanEnv(env: string, exists = true): Promise<void> {
    const sink = this.sink
    if (this.closed || !sink) return
    const dir = instancesDir(this.root, env)
    let children: string[] = []
    if (exists) {
      try {
        children = (await this.client.getChildren(dir, this.watcher(dir, () => void this.scanEnv(env).catch(() => undefined)))) ?? []
      } catch (error) {
        this.armed.delete(dir)
        throw error
      }
    }

    const reports = new Set<string>()
    const markers = new Set<string>()
    for (const child of children) {
      const {instance, marker} = parseInstanceChild(child)
      if (!isValid(() => validateInstanceName(instance))) continue
      ;(marker ? markers : reports).add(instance)
    }

    await Promise.all([...reports].map((instance) => this.readReport(env, instance)))
    // Gone: registry says online via ZooKeeper, ZooKeeper has no node. A marker says it was a clean stop.
    const gone = new Set([...sink.zkOnline(env).filter((instance) => !reports.has(instance)), ...[...markers].filter((instance) => !reports.has(instance))])
    for (const instance of gone) {
      const marker = markers.has(instance) ? await this.readMarker(env, instance) : null
      if (this.closed || !this.client.connected) return // serve lost ZooKeeper: that is not the agents' fault
      sink.zkGone(env, instance, marker)
    }

    // Markers are recorded now (persisted by the registry); a stale one beside a live node is obsolete.
    for (const instance of markers) await this.client.remove(stoppedMarkerPath(this.root, env, instance)).catch(() => undefined)
  }

  private async readReport(env: string, instance: string): Promise<void> {
    const path = instancePath(this.root, env, instance)
    let node: Awaited<ReturnType<ZkClient['getData']>>
    try {
      node = await this.client.getData(path, this.watcher(path, () => void this.readReport(env, instance).catch(() => undefined)))
    } catch {
      this.armed.delete(path)
      return
    }

    if (!node) {
      this.armed.delete(path) // deleted: the children watch tells the registry
      return
    }

    const report = parseReport(node.data, instance)
    if (report) this.sink?.zkSeen(env, report)
    else this.log.warn(`instance node ${path} does not hold a report; ignored`)
  }

  private async readMarker(env: string, instance: string): Promise<{stoppedAt: string; report: InstanceReport | null} | null> {
    const node = await this.client.getData(stoppedMarkerPath(this.root, env, instance)).catch(() => null)
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
