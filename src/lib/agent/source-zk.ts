// The ZooKeeper source: a node watch on each key's meta (../zk/recipes/node-watch.ts) and this agent's
// ephemeral report node (../zk/recipes/ephemeral-node.ts). Watches are one-shot and a change between an
// event and its re-arm is not reported, so every event means "re-read", never "here is the new value";
// the agent's poll is the safety net for any watch that could not be armed. The ZkClient owns deadlines
// and reconnects, the recipes re-arm watches and re-create the report after a new session; here we
// only say what a change means to the agent:
//   a watch fired, or any reconnect (events may have been missed) -> changed(key): the agent re-reads
import {formatErrorLine, isStconfError, unavailable} from '../errors.js'
import {sha256, type VersionMeta} from '../model.js'
import {retry, TRY_AGAIN} from '../backoff.js'
import {digestId, OPEN_POLICY, parseDigestAuth, parseMeta, policyFromAcl, ZkLayout, type AclPolicy, type StoppedMarker} from '../zk/layout.js'
import {EphemeralNode} from '../zk/recipes/ephemeral-node.js'
import {NodeWatch} from '../zk/recipes/node-watch.js'
import {ZkClient, ZkRefusedError} from '../zk/zk-client.js'
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

/** A key's meta as the agent needs it: parse errors are 'unavailable' (serve has not recorded it yet). */
function metaOf(data: Buffer, path: string): VersionMeta {
  const meta = parseMeta(data)
  if (!meta) throw unavailable(`meta node ${path} is not JSON with a version and sha256`)
  return meta
}

export class ZkSource implements Source {
  readonly description: string
  private readonly client: ZkClient
  private readonly ownsClient: boolean
  private readonly watches = new Map<string, NodeWatch>()
  private readonly reportNode: EphemeralNode
  private unsubscribe?: () => void
  private lastReport?: InstanceReport
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
    this.reportNode = new EphemeralNode(this.client, this.layout.instances(options.env, options.instance), {
      name: 'instance node',
      takenHint: 'two agents use the same host name?',
      beforeCreate: () => this.prepareReport(),
      mayReplace: () => this.isDeadPredecessor(),
      onError: (error) => this.options.refusals?.note('report', this.refused('report', error)),
    })
  }

  private metaPath(key: string): string {
    return this.layout.meta(this.options.env, key)
  }

  private configPath(key: string): string {
    return this.layout.config(this.options.env, key)
  }

  private get instancePath(): string {
    return this.reportNode.path
  }

  private get markerPath(): string {
    return this.layout.stoppedMarker(this.options.env, this.options.instance)
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

  async start(keys: string[], changed: (key: string) => void, signal: AbortSignal): Promise<void> {
    const {logger} = this.options
    this.unsubscribe = this.client.onState((change) => {
      if (change.state === 'suspended') logger.warn('ZooKeeper connection lost; keeping local files, retrying', {source: this.description})
      else if (change.state === 'lost') logger.warn('ZooKeeper session lost; watches and the report come back with the next session', {reason: change.reason})
      else if (change.newSession) logger.info('ZooKeeper session established', {session: change.session})
    })
    for (const key of new Set(keys)) {
      // The agent re-reads on its own (fetch): the watch's re-read only re-arms it.
      const watch = new NodeWatch(this.client, this.metaPath(key), () => changed(key))
      this.watches.set(key, watch)
      watch.start()
    }

    this.reportNode.start()
    void signal // the agent calls stop() itself, after its last change and report
    if (this.ownsClient) this.client.start()
    else if (this.client.connected) logger.info('ZooKeeper session established', {session: this.client.session})
  }

  /** A key's meta; the read leaves the key's watch armed (data or existence) if none is. */
  private async readMeta(key: string): Promise<VersionMeta | null> {
    const watch = this.watches.get(key)
    const path = this.metaPath(key)
    const node = watch && watch.state === 'started' ? await watch.read() : await this.client.getData(path)
    return node ? metaOf(node.data, path) : null
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
    const mismatch = () => unavailable(`${key}: content in ZooKeeper does not match its meta (sha256); waiting for serve to record the change`)
    return retry({tries: 10, firstDelayMs: 50, maxDelayMs: 300, exhausted: mismatch}, async () => {
      // Both reads in one round-trip: ZooKeeper answers a session's requests in order, and the
      // sha256 check below catches a push that landed between them.
      const [metaNode, config] = await Promise.all([this.client.getData(this.metaPath(key)), this.client.getData(this.configPath(key))])
      if (!metaNode) return null
      const meta = metaOf(metaNode.data, this.metaPath(key))
      // serve writes both nodes in one multi, so a mismatch means a change in between (read again)
      // or an out-of-band write serve has not recorded yet: never apply bytes the meta does not vouch for.
      return config && sha256(config.data) === meta.sha256 ? {meta, content: config.data} : TRY_AGAIN
    })
  }

  /** Keep our ephemeral instance node equal to `report`; the recipe re-creates it after a new session. */
  async report(report: InstanceReport): Promise<void> {
    this.lastReport = report
    if (this.reportNode.state !== 'started') return
    try {
      await this.reportNode.set(Buffer.from(JSON.stringify(report)))
    } catch (error) {
      throw this.refused('report', error)
    }
  }

  /** Before our report node is created: follow serve's ACL policy, and drop a stale stopped marker. */
  private async prepareReport(): Promise<void> {
    // serve made instances/<env> with its ACL; ours below it must carry the same policy (ACLs are not inherited).
    const dir = this.layout.instances(this.options.env)
    await this.client.mkdirp(dir)
    this.policy = policyFromAcl((await this.client.getAcl(dir))?.acl ?? [], this.options.auth && digestId(this.options.auth))
    // A stopped marker left by an earlier clean stop (serve was away) must not outlive this run: if we
    // crash later, serve must see "offline", not "stopped".
    // Look before removing: ZooKeeper checks the delete right on the parent even when the node is
    // absent, so an agent without the machine identity would be refused for nothing.
    if (await this.client.exists(this.markerPath)) await this.client.remove(this.markerPath)
  }

  /** The node at our path was left by an earlier process of this instance that is dead now. */
  private async isDeadPredecessor(): Promise<boolean> {
    const node = await this.client.getData(this.instancePath)
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
    for (const watch of this.watches.values()) watch.close()
    try {
      const {alsoFailed} = await this.reportNode.remove(async () => {
        const marker: StoppedMarker<InstanceReport | null> = {session: this.client.session, stoppedAt: new Date().toISOString(), report: final ?? null}
        const data = Buffer.from(JSON.stringify(marker))
        const old = await this.client.exists(this.markerPath)
        return [old ? {op: 'set', path: this.markerPath, data, version: old.version} : {op: 'create', path: this.markerPath, data}]
      })
      // e.g. the report changed in between, or the marker was refused: the report is withdrawn all the same.
      if (alsoFailed) this.options.logger.warn('could not mark the clean stop; serve may list this instance offline', {error: (alsoFailed as Error).message})
    } catch (error) {
      if (!isStconfError(error)) this.options.logger.warn('could not remove the instance node', {error: formatErrorLine(error)})
    }

    this.unsubscribe?.()
    if (this.ownsClient) this.client.close()
  }
}
