// The ZooKeeper source. Watches are one-shot and a change between an event and its re-arm is not
// reported, so every event means "re-read", never "here is the new value"; the agent's poll is the
// safety net for any watch that could not be armed. The ZkClient owns deadlines and reconnects; here
// we react to what it tells us:
//   'session'   (new session: watches and our ephemeral node are gone) -> re-arm all, re-create report
//   'connected' (any reconnect: events may have been missed)          -> re-read every key
import {formatErrorLine, isStconfError, unavailable} from '../errors.js'
import {sha256, type VersionMeta} from '../model.js'
import {sleep} from '../sleep.js'
import {digestId, OPEN_POLICY, parseDigestAuth, policyFromAcl, stoppedMarkerPath, ZkLayout, type AclPolicy, type StoppedMarker} from '../zk/layout.js'
import {ZkClient, ZkConflictError, ZkRefusedError} from '../zk/zk-client.js'
import {refusal, type RefusalLog, type Refused} from './refusals.js'
import type {Current, InstanceReport, Logger, Source} from './types.js'

export interface ZkSourceOptions {
  connect: string
  root: string
  env: string
  /** the instance name (<host> or <host>@<app>): the report node's name */
  instance: string
  sessionTimeoutMs: number
  opTimeoutMs?: number
  logger: Logger
  /** the machine identity, user:password (zkAuth / STCONF_ZK_AUTH) */
  auth?: string
  /** where refusals of the heartbeat-like re-reports go (they have no caller to throw to) */
  refusals?: RefusalLog
  /** share one client between many in-process agents (benchmarks); it is not closed on stop */
  client?: ZkClient
}

export function parseMeta(data: Buffer, path: string): VersionMeta {
  let meta: VersionMeta
  try {
    meta = JSON.parse(data.toString('utf8')) as VersionMeta
  } catch {
    throw unavailable(`meta node ${path} is not JSON`)
  }

  if (!meta || typeof meta.version !== 'number' || typeof meta.sha256 !== 'string') throw unavailable(`meta node ${path} has no version/sha256`)
  return meta
}

export class ZkSource implements Source {
  readonly description: string
  private readonly client: ZkClient
  private readonly ownsClient: boolean
  private readonly armed = new Set<string>()
  private readonly ourSessions = new Set<string>()
  private keys: string[] = []
  private changed: (key: string) => void = () => undefined
  private lastReport?: InstanceReport
  private reportSession = ''
  private stopped = false
  private readonly listeners: Array<[string, Parameters<ZkClient['on']>[1]]> = []
  private readonly layout: ZkLayout
  /** serve's ACL policy, read back from instances/<env>: what our report node must carry */
  private policy: AclPolicy = OPEN_POLICY

  constructor(private readonly options: ZkSourceOptions) {
    this.description = `zk://${options.connect}${options.root}`
    this.layout = new ZkLayout(options.root)
    this.ownsClient = !options.client
    this.client =
      options.client ??
      new ZkClient({
        connect: options.connect,
        sessionTimeoutMs: options.sessionTimeoutMs,
        opTimeoutMs: options.opTimeoutMs ?? 3000,
        auth: options.auth,
        acl: (path) => this.layout.aclFor(path, this.policy),
      })
  }

  private metaPath(key: string): string {
    return this.layout.meta(this.options.env, key)
  }

  private configPath(key: string): string {
    return this.layout.config(this.options.env, key)
  }

  private get instancePath(): string {
    return this.layout.instances(this.options.env, this.options.instance)
  }

  /** A ZooKeeper refusal in this agent's words: what was refused and what to set. Other errors pass. */
  private refused(what: Refused, error: unknown): unknown {
    if (!(error instanceof ZkRefusedError)) return error
    const dir = this.layout.instances(this.options.env)
    const user = this.options.auth ? parseDigestAuth(this.options.auth, 'zkAuth').user : undefined
    const as = user ? `as zkAuth user ${user}` : 'no zkAuth set'
    const message = `ZooKeeper refused this agent's ${what === 'report' ? 'instance report' : 'reads'} (${error.what}: ${error.zkCode}, ${as})`
    if (error.what === `create ${dir}`) {
      return refusal(message, `only serve creates ${dir}: run this version of stconf serve (it makes it on start), or push a key to env ${this.options.env}`)
    }

    if (!user) return refusal(message, 'set zkAuth in the agent config (or STCONF_ZK_AUTH) to the machine identity serve runs with (--zk-agent-auth user:password)')
    return refusal(message, 'check that zkAuth (or STCONF_ZK_AUTH) is the user:password of serve\'s --zk-agent-auth, and that serve runs with it (it sets the ACLs on start)')
  }

  private get markerPath(): string {
    return stoppedMarkerPath(this.options.root, this.options.env, this.options.instance)
  }

  async start(keys: string[], changed: (key: string) => void, signal: AbortSignal): Promise<void> {
    this.keys = [...new Set(keys)]
    this.changed = changed
    const {logger} = this.options
    const on = (event: string, listener: Parameters<ZkClient['on']>[1]) => {
      this.client.on(event, listener)
      this.listeners.push([event, listener])
    }

    const onSession = (session: string) => {
      this.ourSessions.add(session)
      this.armed.clear()
      logger.info('ZooKeeper session established', {session})
      for (const key of this.keys) void this.arm(key)
      if (this.lastReport) void this.report(this.lastReport).catch((error) => this.options.refusals?.note('report', error))
    }

    on('session', onSession)
    on('connected', () => {
      for (const key of this.keys) this.changed(key)
    })
    on('disconnected', () => logger.warn('ZooKeeper connection lost; keeping local files, retrying', {source: this.description}))
    on('rebuild', (reason: string) => logger.warn('rebuilding the ZooKeeper client', {reason}))
    void signal // the agent calls stop() itself, after its last change and report
    if (this.ownsClient) this.client.start()
    else if (this.client.connected) onSession(this.client.session)
  }

  /** Read a key's meta and, unless armed this session, leave a watch on it (data or existence). */
  private async readMeta(key: string): Promise<VersionMeta | null> {
    const path = this.metaPath(key)
    if (this.armed.has(key) || this.stopped) {
      const node = await this.client.getData(path)
      return node ? parseMeta(node.data, path) : null
    }

    this.armed.add(key)
    const session = this.client.session
    const fire = () => {
      if (this.stopped) return
      // Re-arm first, then re-read: a change between the event and the re-arm is caught by the read.
      if (this.client.session === session) this.armed.delete(key)
      void this.arm(key)
      this.changed(key)
    }

    try {
      const node = await this.client.getData(path, fire)
      if (node) return parseMeta(node.data, path)
      // Missing (never created, or deleted): an existence watch tells us when it comes (back).
      const stat = await this.client.exists(path, fire)
      if (stat) this.changed(key) // created between the two calls
      return null
    } catch (error) {
      this.armed.delete(key)
      throw error
    }
  }

  private async arm(key: string): Promise<void> {
    try {
      await this.readMeta(key)
    } catch {
      // unreachable: the agent's poll re-arms on its next round
    }
  }

  async metas(keys: string[]): Promise<Map<string, VersionMeta | null>> {
    try {
      const metas = await Promise.all(keys.map(async (key) => [key, await this.readMeta(key)] as const))
      return new Map(metas)
    } catch (error) {
      throw this.refused('read', error)
    }
  }

  async fetch(key: string): Promise<Current | null> {
    try {
      return await this.fetchVerified(key)
    } catch (error) {
      throw this.refused('read', error)
    }
  }

  private async fetchVerified(key: string): Promise<Current | null> {
    for (let attempt = 1; ; attempt++) {
      // Both reads in one round-trip: ZooKeeper answers a session's requests in order, and the
      // sha256 check below catches a push that landed between them.
      const [metaNode, config] = await Promise.all([this.client.getData(this.metaPath(key)), this.client.getData(this.configPath(key))])
      if (!metaNode) return null
      const meta = parseMeta(metaNode.data, this.metaPath(key))
      // serve writes both nodes in one multi, so a mismatch means a change in between (read again)
      // or an out-of-band write serve has not recorded yet: never apply bytes the meta does not vouch for.
      if (config && sha256(config.data) === meta.sha256) return {meta, content: config.data}
      if (attempt >= 10) {
        throw unavailable(`${key}: content in ZooKeeper does not match its meta (sha256); waiting for serve to record the change`)
      }

      await sleep(Math.min(50 * attempt, 300))
    }
  }

  /** Keep our ephemeral instance node equal to `report`; re-create it after a new session. */
  async report(report: InstanceReport): Promise<void> {
    this.lastReport = report
    if (this.stopped) return
    try {
      await this.publish(report)
    } catch (error) {
      throw this.refused('report', error)
    }
  }

  private async publish(report: InstanceReport): Promise<void> {
    const path = this.instancePath
    const data = Buffer.from(JSON.stringify(report))
    const session = this.client.session
    if (this.reportSession === session && session !== '') {
      const stat = await this.client.setData(path, data).catch((error) => {
        if (error instanceof ZkConflictError) return null
        throw error
      })
      if (stat) return
    }

    const stat = await this.client.exists(path)
    if (stat) {
      if (stat.ephemeralOwner === session) {
        await this.client.setData(path, data)
        this.reportSession = session
        return
      }

      if (!this.ourSessions.has(stat.ephemeralOwner) && !(await this.isDeadPredecessor(path))) {
        throw unavailable(`instance node ${path} belongs to another live agent`, 'two agents use the same host name?')
      }

      // Our own node from an older session (or a dead earlier process on this host) lingers until
      // ZooKeeper expires it: replace it so the report is ours and goes away with our session.
      await this.client.remove(path).catch(() => undefined)
    }

    // serve made instances/<env> with its ACL; ours below it must carry the same policy (ACLs are not inherited).
    const dir = this.layout.instances(this.options.env)
    await this.client.mkdirp(dir)
    this.policy = policyFromAcl((await this.client.getAcl(dir))?.acl ?? [], this.options.auth && digestId(this.options.auth))
    // A stopped marker left by an earlier clean stop (serve was away) must not outlive this run: if we
    // crash later, serve must see "offline", not "stopped".
    // Look before removing: ZooKeeper checks the delete right on the parent even when the node is
    // absent, so an agent without the machine identity would be refused for nothing.
    if (await this.client.exists(this.markerPath)) await this.client.remove(this.markerPath)
    try {
      await this.client.create(path, data, true)
      this.reportSession = this.client.session
    } catch (error) {
      if (error instanceof ZkConflictError) throw unavailable(`instance node ${path} was re-created meanwhile; retrying`)
      throw error
    }
  }

  private async isDeadPredecessor(path: string): Promise<boolean> {
    const node = await this.client.getData(path)
    if (!node) return true
    try {
      const other = JSON.parse(node.data.toString('utf8')) as Partial<InstanceReport>
      if ((other.instance ?? other.host) !== this.options.instance || typeof other.pid !== 'number') return false
      if (other.pid === process.pid) return true
      try {
        process.kill(other.pid, 0)
        return false
      } catch {
        return true
      }
    } catch {
      return false
    }
  }

  private stopping?: Promise<void>

  async stop(final?: InstanceReport): Promise<void> {
    this.stopping ??= this.withdraw(final ?? this.lastReport)
    return this.stopping
  }

  /**
   * Withdraw the report while the session still holds it (closing alone would leave it until expiry),
   * and say it was a clean stop: the stopped marker is written in the same multi that removes the
   * node, so serve never sees the node gone without the marker (which would read as a crash).
   */
  private async withdraw(final: InstanceReport | undefined): Promise<void> {
    try {
      const stat = this.client.connected ? await this.client.exists(this.instancePath) : null
      if (stat && stat.ephemeralOwner === this.client.session) {
        const marker: StoppedMarker<InstanceReport | null> = {session: this.client.session, stoppedAt: new Date().toISOString(), report: final ?? null}
        const data = Buffer.from(JSON.stringify(marker))
        const old = await this.client.exists(this.markerPath)
        await this.client
          .multi([
            old ? {op: 'set', path: this.markerPath, data, version: old.version} : {op: 'create', path: this.markerPath, data},
            {op: 'remove', path: this.instancePath, version: stat.version},
          ])
          .catch(async (error: unknown) => {
            // e.g. the report changed in between, or the marker was refused: still withdraw the report.
            this.options.logger.warn('could not mark the clean stop; serve may list this instance offline', {error: (error as Error).message})
            await this.client.remove(this.instancePath)
          })
      }
    } catch (error) {
      if (!isStconfError(error)) this.options.logger.warn('could not remove the instance node', {error: formatErrorLine(error)})
    }

    this.stopped = true
    for (const [event, listener] of this.listeners) this.client.off(event, listener)
    if (this.ownsClient) this.client.close()
  }
}
