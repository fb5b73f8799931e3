// Starting and stopping the center: data dir, store (embedded or ZooKeeper), tokens, HTTP.
import {mkdir} from 'node:fs/promises'
import {resolve} from 'node:path'
import type {FastifyInstance} from 'fastify'
import {badInput, isStconfError} from '../errors.js'
import {fileError} from '../fs-errors.js'
import {DEFAULT_MAX_BYTES} from '../model.js'
import type {ConfigStore} from '../store/types.js'
import type {ZkConnectionEvent} from '../zk/connection-events.js'
import {digestId, parseDigestAuth, type AclPolicy} from '../zk/layout.js'
import {buildApp} from './app.js'
import {Center} from './center.js'
import {EventHub, publishAuditTo} from './event-hub.js'
import {lockDataDir} from './data-lock.js'
import {Registry} from './instance-registry.js'
import {JsonLastSeenStore} from './last-seen.js'
import type {Migration} from './migrate.js'
import {openStorage, type Storage} from './storage.js'
import {TokenStore} from './tokens.js'

export interface ServeOptions {
  port: number
  host: string
  dataDir: string
  zk?: string
  zkRoot: string
  /** serve's own digest identity (user:password), the writer */
  zkAuth?: string
  /** the machine identity agents and apps use (user:password): creates and deletes reports, elections */
  zkAgentAuth?: string
  /** no access at all for the world; serve and the machine identity read */
  zkClosed?: boolean
  zkSessionTimeoutMs?: number
  maxBytes?: number
  adminToken?: string
  /** how long offline and stopped instances stay listed (default 7 days) */
  instanceRetentionMs?: number
  /** ZooKeeper mode: every connection state change (lost, reconnected, expired, new session), for the log */
  onZkConnection?: (event: ZkConnectionEvent) => void
}

export const DEFAULT_INSTANCE_RETENTION_MS = 7 * 24 * 3_600_000

export interface RunningServer {
  url: string
  mode: 'embedded' | 'zookeeper'
  /** a freshly made admin token, to print once; undefined when one existed or came from the env */
  newAdminToken?: string
  /** set when this start moved a data dir of the old layout to the journal */
  migration?: Migration
  /** every committed change (push, rollback, out-of-band), for logging */
  onChange: Center['onChange']
  /** ZooKeeper mode: the start-up ACL pass (resolves once ZooKeeper answered; may be after listening) */
  zkAcls?: Promise<import('../zk/acl-upkeep.js').AclPass>
  /** every instance change (report, offline, stopped, forgotten) */
  onInstanceChange: Registry['onChange']
  close(): Promise<void>
}

const ZK_CONNECT_RE = /^[A-Za-z0-9.-]+:\d{1,5}(,[A-Za-z0-9.-]+:\d{1,5})*$/

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  if (options.zk !== undefined && !ZK_CONNECT_RE.test(options.zk)) {
    throw badInput(`invalid --zk "${options.zk}"`, 'use host:port[,host:port...], e.g. --zk 127.0.0.1:2181')
  }

  const policy = zkPolicy(options)
  if (!/^(\/[A-Za-z0-9._-]+)+$/.test(options.zkRoot)) throw badInput(`invalid --zk-root "${options.zkRoot}"`, 'use an absolute znode path like /stconf')
  const dataDir = resolve(options.dataDir)
  try {
    await mkdir(dataDir, {recursive: true, mode: 0o700})
  } catch (error) {
    throw fileError(error, 'create', dataDir, 'pick a --data dir this user can write')
  }

  const releaseLock = await lockDataDir(dataDir)
  let storage: Storage
  try {
    storage = await openStorage(dataDir)
  } catch (error) {
    await releaseLock()
    throw error
  }

  // Every committed change, audit entry and instance change also goes to the live feed (GET /api/v1/events).
  const hub = new EventHub()
  const {history} = storage
  const audit = publishAuditTo(hub, storage.audit)
  const tokens = await TokenStore.open(dataDir)
  const newAdminToken = await tokens.bootstrap(options.adminToken)

  let store: ConfigStore
  let zk: {client: import('../zk/zk-client.js').ZkClient; root: string} | undefined
  let zkAcls: RunningServer['zkAcls']
  let feed: import('./zk-instance-feed.js').ZkInstanceFeed | undefined
  if (options.zk) {
    // Only ZooKeeper mode loads the ZooKeeper client.
    const {ZkClient} = await import('../zk/zk-client.js')
    const {ZkStore} = await import('../store/zk-store.js')
    const {ZkLayout} = await import('../zk/layout.js')
    const {prepareTree} = await import('../zk/acl-upkeep.js')
    const layout = new ZkLayout(options.zkRoot)
    const client = new ZkClient({
      connect: options.zk,
      sessionTimeoutMs: options.zkSessionTimeoutMs ?? 10_000,
      auth: options.zkAuth,
      // As the machine identity too: it reads and administers what agents create (layout.ts).
      alsoAuth: options.zkAgentAuth ? [options.zkAgentAuth] : [],
      acl: (path) => layout.aclFor(path, policy),
    })
    if (options.onZkConnection) {
      const {watchConnection} = await import('../zk/connection-events.js')
      watchConnection(client, options.onZkConnection) // before start(): the first connection is news too
    }

    client.start()
    zk = {client, root: options.zkRoot}
    store = new ZkStore(client, options.zkRoot)
    // As soon as ZooKeeper answers; serve starts regardless (below).
    zkAcls = untilDone(() => prepareTree(client, layout, policy), client)
    const {ZkInstanceFeed} = await import('./zk-instance-feed.js')
    feed = new ZkInstanceFeed(client, options.zkRoot)
  } else {
    const {EmbeddedStore} = await import('../store/embedded.js')
    store = new EmbeddedStore(history)
  }

  const center = new Center(store, history, audit)
  await center.start()
  // ZooKeeper answered during start-up: finish the ACL pass before listening, so that a center that
  // answers has its ACLs in place (bounded: a pass held up by ZooKeeper goes on in the background).
  if (zk?.client.connected && zkAcls) await Promise.race([zkAcls.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 10_000).unref())])
  const instances = new Registry({store: await JsonLastSeenStore.open(dataDir), retentionMs: options.instanceRetentionMs ?? DEFAULT_INSTANCE_RETENTION_MS})
  await instances.start(feed)
  center.onChange((change) => hub.publish({type: 'change', ...change}))
  instances.onChange(({env, instance}) => hub.publish({type: 'instance', env, host: instance, online: instances.get(env, instance)?.presence === 'online'}))
  const onZk = () => hub.publish({type: 'zookeeper', state: zk?.client.connected ? 'connected' : 'unreachable'})
  zk?.client.on('connected', onZk)
  zk?.client.on('disconnected', onZk)
  let app: FastifyInstance
  try {
    app = await buildApp({center, tokens, audit, hub, maxBytes: options.maxBytes ?? DEFAULT_MAX_BYTES, dataDir, instances, zk: zk?.client})
    await app.listen({port: options.port, host: options.host})
  } catch (error) {
    await instances.close()
    await center.close()
    zk?.client.close()
    await releaseLock()
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE') throw badInput(`port ${options.port} on ${options.host} is in use`, 'stop the other process or pick --port')
    if (code === 'EADDRNOTAVAIL') throw badInput(`cannot listen on ${options.host}`, 'pick a --host address of this machine')
    throw error
  }

  const address = app.server.address() as {port: number}
  const host = options.host.includes(':') ? `[${options.host}]` : options.host
  return {
    url: `http://${host}:${address.port}`,
    mode: center.mode,
    newAdminToken,
    zkAcls,
    migration: storage.migration ?? undefined,
    onChange: (listener) => center.onChange(listener),
    onInstanceChange: (listener) => instances.onChange(listener),
    async close() {
      await app.close()
      await instances.close()
      await center.close()
      zk?.client.close()
      await releaseLock()
    },
  }
}

/** The ACL policy of serve's flags; bad combinations are bad input, before anything starts. */
function zkPolicy(options: ServeOptions): AclPolicy {
  if (options.zkAuth !== undefined) parseDigestAuth(options.zkAuth, '--zk-auth')
  if (options.zkAgentAuth !== undefined) parseDigestAuth(options.zkAgentAuth, '--zk-agent-auth')
  if (!options.zkAuth && (options.zkAgentAuth || options.zkClosed)) {
    const flag = options.zkClosed ? '--zk-closed' : '--zk-agent-auth'
    throw badInput(`${flag} needs --zk-auth`, 'without a writer identity for serve the whole tree is open; set --zk-auth user:password too')
  }

  if (options.zkAuth && options.zkAgentAuth && parseDigestAuth(options.zkAuth, '').user === parseDigestAuth(options.zkAgentAuth, '').user) {
    throw badInput('--zk-agent-auth must name another user than --zk-auth', 'machines and serve need two identities, e.g. stconf:... and stconf-agents:...')
  }

  return {
    writer: options.zkAuth ? digestId(options.zkAuth) : undefined,
    machine: options.zkAgentAuth ? digestId(options.zkAgentAuth) : undefined,
    closed: options.zkClosed ?? false,
  }
}

/** Run `pass` once ZooKeeper is connected, again after each failure (ZooKeeper down), until it succeeds or the client closes. */
async function untilDone<T>(pass: () => Promise<T>, client: import('../zk/zk-client.js').ZkClient): Promise<T> {
  for (;;) {
    try {
      await client.waitConnected(60_000)
      return await pass()
    } catch (error) {
      if (!isStconfError(error) || error.code !== 'unavailable' || client.isClosed) throw error
      await new Promise((resolve) => setTimeout(resolve, 1000).unref())
    }
  }
}
