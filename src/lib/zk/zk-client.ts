// The one wrapper around node-zookeeper-client. Nothing else touches the raw client.
//
// It owns the traps the raw client leaves to its users (see docs/zookeeper.md):
// - every call has a deadline: requests made while disconnected would otherwise queue forever;
// - a half-open TCP connection is never noticed by the client, so a watchdog pings with a deadline
//   and rebuilds the client when pings stop coming back;
// - a connection attempt whose TCP connect succeeded has no timeout at all in the raw client (a server
//   that accepts but never answers, e.g. one restarting on a loaded machine, hangs it forever): such an
//   attempt is dropped after a short deadline, and the raw client tries again on the same session;
//   and a client that has had no session for a whole session timeout is rebuilt: by then its old
//   session is gone anyway;
// - after session expiry the raw client is dead for good, so a new one is built.
//
// What users hear is one typed state per change, Apache Curator's ConnectionState (without READ_ONLY):
//   connected    the first session after start()
//   suspended    the connection dropped; the session (its watches, its ephemeral nodes) may survive
//   lost         the session is gone: it expired, or the wrapper threw the raw client away (pings
//                unanswered, or no session for a whole session timeout); watches and ephemeral nodes
//                of that session are gone, or will be
//   reconnected  connected again; `newSession` says whether watches must be re-armed and ephemeral
//                nodes re-created. Either way re-read: events may have been missed meanwhile.
// The recipes (./recipes/) turn these into re-arms and re-creates, so their users need not.
import type * as Zk from 'node-zookeeper-client'
import zkLib from 'node-zookeeper-client'
import {unavailable, StconfError} from '../errors.js'
import type {AclEntry} from './layout.js'

export interface ZkOptions {
  /** host:port[,host:port...] */
  connect: string
  sessionTimeoutMs?: number
  /** deadline of one call, waiting for a connection included */
  opTimeoutMs?: number
  /** "user:password": this client's digest identity */
  auth?: string
  /** further identities of the same session (serve also holds the machine identity, see layout.ts) */
  alsoAuth?: string[]
  /**
   * The ACL of each node this client creates (src/lib/zk/layout.ts decides it for stconf's tree).
   * Default: open to all without auth, else writable by this identity and readable by all.
   */
  acl?: (path: string) => AclEntry[]
}

export interface ZkStat {
  version: number
  mzxid: string
  ephemeralOwner: string
  numChildren: number
}

export type ZkOp =
  | {op: 'create'; path: string; data: Buffer; ephemeral?: boolean}
  | {op: 'set'; path: string; data: Buffer; version: number}
  | {op: 'check'; path: string; version: number}
  | {op: 'remove'; path: string; version: number}

/** A ZooKeeper answer that means "the world is not as you assumed": a conflict to retry or report. */
export class ZkConflictError extends Error {
  constructor(readonly zkCode: 'NO_NODE' | 'NODE_EXISTS' | 'BAD_VERSION' | 'NOT_EMPTY', readonly path?: string) {
    super(`ZooKeeper: ${zkCode}${path ? ` at ${path}` : ''}`)
  }
}

/**
 * ZooKeeper said no: this client's identity (or its lack of one) may not do `what` (NoAuth), or its
 * credentials were rejected (AuthFailed). Callers add what to set; see src/lib/agent/refusals.ts.
 */
export class ZkRefusedError extends StconfError {
  constructor(
    readonly what: string,
    readonly zkCode: string,
    readonly authenticated: boolean,
  ) {
    super('forbidden', `ZooKeeper refused ${what} (${zkCode}, ${authenticated ? 'with this client\'s digest identity' : 'without credentials'})`, 'check the ZooKeeper identity: --zk-auth for serve, zkAuth for an agent')
    this.name = 'ZkRefusedError'
  }
}

type Watcher = () => void

/** How often the watchdog looks at the connection (it pings less often: every third of a session timeout). */
const WATCHDOG_TICK_MS = 500
/** How long a connection attempt with TCP up may go unanswered before it is dropped and made again. */
const ATTEMPT_DEADLINE_MS = 2000

export type ZkState = 'connected' | 'suspended' | 'lost' | 'reconnected'

export interface ZkStateChange {
  state: ZkState
  /** the session the change is about (hex): the new one once (re)connected, the old one otherwise */
  session: string
  /** connected/reconnected: a session other than the previous one (watches and ephemeral nodes are gone) */
  newSession: boolean
  /** lost: the session expired on the server (else the wrapper gave it up, see `reason`) */
  expired: boolean
  /** lost: why */
  reason?: string
}

export type ZkStateListener = (change: ZkStateChange) => void

/** The client's own life cycle: latent until start(), started until close(), then closed for good. */
export type ZkLifecycle = 'latent' | 'started' | 'closed'

/** A call on a closed client: a caller racing shutdown hears 'unavailable', like ZooKeeper being down. */
export class ZkClosedError extends StconfError {
  constructor(connect: string) {
    super('unavailable', `ZooKeeper client for ${connect} is closed`, 'a closed client cannot be used again: build a new ZkClient')
    this.name = 'ZkClosedError'
  }
}

// A static import, so that the single executable's bundle holds the client: commands that never talk
// to ZooKeeper do not pay for it because this file itself is only imported lazily (serve --zk, the
// agent), and the npm bundle keeps the client out of its start-up chunk (scripts/build.js).
function zk(): typeof zkLib {
  return zkLib
}

function statOf(stat: Zk.Stat): ZkStat {
  return {
    version: stat.version,
    mzxid: stat.mzxid.toString('hex'),
    ephemeralOwner: stat.ephemeralOwner.toString('hex'),
    numChildren: stat.numChildren,
  }
}

export class ZkClient {
  readonly connectString: string
  private readonly sessionTimeoutMs: number
  private readonly opTimeoutMs: number
  private readonly auth?: string
  private readonly aclOf?: (path: string) => AclEntry[]
  private readonly alsoAuth: string[]
  private client?: Zk.Client
  private connectedFlag = false
  private sessionId = ''
  private lifecycle: ZkLifecycle = 'latent'
  /** the last state told to listeners; undefined before the first connection */
  private last?: ZkState
  private readonly listeners = new Set<ZkStateListener>()
  /** waitConnected() calls in flight: released on connect, rejected on close */
  private readonly waiters = new Set<(error?: Error) => void>()
  private watchdog?: NodeJS.Timeout
  private missedPings = 0
  private pinging = false
  private disconnectedSince = Date.now()
  /** the raw socket of a connection attempt with TCP up and no answer yet, and since when */
  private answerless?: {socket: object; since: number}

  constructor(options: ZkOptions) {
    this.connectString = options.connect
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? 10_000
    this.opTimeoutMs = options.opTimeoutMs ?? 5000
    this.auth = options.auth
    this.aclOf = options.acl
    this.alsoAuth = options.alsoAuth ?? []
  }

  get connected(): boolean {
    return this.connectedFlag
  }

  get isClosed(): boolean {
    return this.lifecycle === 'closed'
  }

  get state(): ZkLifecycle {
    return this.lifecycle
  }

  /** The last connection state told to listeners (undefined before the first connection). */
  get connectionState(): ZkState | undefined {
    return this.last
  }

  /** How many state listeners are subscribed (a closed recipe leaves none behind). */
  get listenerCount(): number {
    return this.listeners.size
  }

  /**
   * Hear every connection state change; returns the unsubscribe. Subscribe before start() to hear
   * the first 'connected' too. close() drops every listener.
   */
  onState(listener: ZkStateListener): () => void {
    if (this.lifecycle === 'closed') throw new ZkClosedError(this.connectString)
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** The current session id (hex), '' before the first connection. */
  get session(): string {
    return this.sessionId
  }

  /** Connect (in the background). Once only: a second start(), or one after close(), is a bug and throws. */
  start(): void {
    if (this.lifecycle !== 'latent') throw new Error(`ZkClient.start(): the client is already ${this.lifecycle} - start a client once; build a new one after close()`)
    this.lifecycle = 'started'
    this.build()
    const pingEvery = Math.max(500, Math.floor(this.sessionTimeoutMs / 3))
    let lastPing = Date.now()
    this.watchdog = setInterval(() => {
      if (!this.connectedFlag && Date.now() - this.disconnectedSince > this.sessionTimeoutMs) {
        this.rebuild(`no session for ${this.sessionTimeoutMs} ms (connection attempt stuck)`)
      } else if (!this.connectedFlag) {
        this.dropAnswerlessAttempt()
      } else if (Date.now() - lastPing >= pingEvery) {
        lastPing = Date.now()
        void this.ping(pingEvery)
      }
    }, WATCHDOG_TICK_MS)
    this.watchdog.unref()
  }

  /** Disconnect and drop every listener; calls after it throw ZkClosedError. A second close() does nothing. */
  close(): void {
    if (this.lifecycle === 'closed') return
    this.lifecycle = 'closed'
    clearInterval(this.watchdog)
    this.connectedFlag = false
    this.listeners.clear()
    for (const waiter of [...this.waiters]) waiter(new ZkClosedError(this.connectString))
    closeRaw(this.client)
    this.client = undefined
  }

  /** Resolves once connected; rejects with 'unavailable' after `ms`, or at once when the client is closed. */
  async waitConnected(ms = this.opTimeoutMs): Promise<void> {
    this.assertUsable()
    if (this.connectedFlag) return
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        clearTimeout(timer)
        this.waiters.delete(done)
        if (error) reject(error)
        else resolve()
      }

      const timer = setTimeout(() => done(this.unreachable()), ms)
      this.waiters.add(done)
    })
  }

  private assertUsable(): void {
    if (this.lifecycle === 'closed') throw new ZkClosedError(this.connectString)
    if (this.lifecycle === 'latent') throw new Error(`ZooKeeper client for ${this.connectString} used before start() - call start() first`)
  }

  /** A raw watcher that stays silent once the client is closed. */
  private guard(watcher?: Watcher): ((...args: unknown[]) => void) | undefined {
    return watcher
      ? () => {
          if (this.lifecycle !== 'closed') watcher()
        }
      : undefined
  }

  private tell(change: Partial<ZkStateChange> & {state: ZkState}): void {
    this.last = change.state
    const full: ZkStateChange = {session: this.sessionId, newSession: false, expired: false, ...change}
    for (const listener of [...this.listeners]) listener(full)
  }

  /** The ACL a create of `path` passes: explicit, never the raw client's implicit open default. */
  acl(path: string): Zk.ACL[] {
    const {ACL, Id, Permission} = zk()
    if (this.aclOf) return this.aclOf(path).map((entry) => new ACL(entry.perms, new Id(entry.scheme, entry.id)))
    if (!this.auth) return [new ACL(Permission.ALL, new Id('world', 'anyone'))]
    return [new ACL(Permission.ALL, new Id('auth', '')), new ACL(Permission.READ, new Id('world', 'anyone'))]
  }

  async getData(path: string, watcher?: Watcher): Promise<{data: Buffer; stat: ZkStat} | null> {
    return this.call<{data: Buffer; stat: ZkStat} | null>(`read ${path}`, (client, done) =>
      client.getData(path, this.guard(watcher)!, (error, data, stat) =>
        done(error, error ? undefined : {data: data ?? Buffer.alloc(0), stat: statOf(stat)}),
      ),
    )
  }

  async exists(path: string, watcher?: Watcher): Promise<ZkStat | null> {
    return this.call<ZkStat | null>(`exists ${path}`, (client, done) =>
      client.exists(path, this.guard(watcher)!, (error, stat) => done(error, stat ? statOf(stat) : null)),
    )
  }

  async getChildren(path: string, watcher?: Watcher): Promise<string[] | null> {
    return this.call<string[] | null>(`list ${path}`, (client, done) =>
      client.getChildren(path, this.guard(watcher)!, (error, children) => done(error, children)),
    )
  }

  async create(path: string, data: Buffer, ephemeral = false): Promise<void> {
    const {CreateMode} = zk()
    await this.call<void>(`create ${path}`, (client, done) =>
      client.create(path, data, this.acl(path), ephemeral ? CreateMode.EPHEMERAL : CreateMode.PERSISTENT, (error) =>
        done(error, undefined),
      ),
    )
  }

  /** Create `path` and its missing ancestors, each with its own ACL (the raw mkdirp gives all one ACL). */
  async mkdirp(path: string): Promise<void> {
    const parts = path.split('/').filter(Boolean)
    for (let depth = 1; depth <= parts.length; depth++) {
      const prefix = '/' + parts.slice(0, depth).join('/')
      if (await this.exists(prefix)) continue
      try {
        await this.create(prefix, Buffer.alloc(0))
      } catch (error) {
        if (!(error instanceof ZkConflictError && error.zkCode === 'NODE_EXISTS')) throw error
      }
    }
  }

  /** A node's ACL and its ACL version; null when there is no such node. */
  async getAcl(path: string): Promise<{acl: AclEntry[]; aclVersion: number} | null> {
    return this.call<{acl: AclEntry[]; aclVersion: number} | null>(`getAcl ${path}`, (client, done) =>
      client.getACL(path, (error, acls, stat) =>
        done(
          error,
          error
            ? undefined
            : {
                // The typings lack the fields every ACL object has (lib/ACL.js, lib/Id.js).
                acl: ((acls ?? []) as unknown as Array<{permission: number; id: {scheme: string; id: string}}>).map((entry) => ({
                  perms: entry.permission,
                  scheme: entry.id.scheme,
                  id: entry.id.id,
                })),
                aclVersion: (stat as unknown as {aversion: number}).aversion,
              },
        ),
      ),
    )
  }

  /** Replace a node's ACL (needs ADMIN on it); `aclVersion` -1 = whatever it is now. */
  async setAcl(path: string, acl: AclEntry[], aclVersion = -1): Promise<void> {
    const {ACL, Id} = zk()
    const acls = acl.map((entry) => new ACL(entry.perms, new Id(entry.scheme, entry.id)))
    await this.call<void>(`setAcl ${path}`, (client, done) => client.setACL(path, acls, aclVersion, (error) => done(error, undefined)))
  }

  async setData(path: string, data: Buffer, version = -1): Promise<ZkStat> {
    return this.call<ZkStat>(`write ${path}`, (client, done) =>
      client.setData(path, data, version, (error, stat) => done(error, error ? undefined : statOf(stat))),
    )
  }

  async remove(path: string, version = -1): Promise<void> {
    await this.call<void>(`delete ${path}`, (client, done) => client.remove(path, version, (error) => done(error, undefined)))
  }

  /** All ops or none (ZooKeeper multi). Throws ZkConflictError when a version check or existence fails. */
  async multi(ops: ZkOp[]): Promise<void> {
    const {CreateMode} = zk()
    const what = `${ops.length > 1 ? `a multi of ${ops.length} ops on` : 'a multi on'} ${ops[0]?.path ?? '(nothing)'}`
    await this.call<void>(what, (client, done) => {
      const tx = client.transaction()
      for (const op of ops) {
        if (op.op === 'create') tx.create(op.path, op.data, this.acl(op.path), op.ephemeral ? CreateMode.EPHEMERAL : CreateMode.PERSISTENT)
        else if (op.op === 'set') tx.setData(op.path, op.data, op.version)
        else if (op.op === 'check') tx.check(op.path, op.version)
        else tx.remove(op.path, op.version)
        // The raw Transaction turns version 0 into -1 ("any version") with `version || -1`, which
        // would silently drop the check on every freshly created node. Put the real number back.
        if (op.op !== 'create') (tx as unknown as {ops: Array<{version: number}>}).ops.at(-1)!.version = op.version
      }

      tx.commit((error) => done(error, undefined))
    })
  }

  /** Run one raw call with a deadline; maps ZooKeeper errors to conflicts or 'unavailable'. */
  private async call<T>(what: string, send: (client: Zk.Client, done: (error: unknown, value: T | undefined) => void) => void): Promise<T> {
    const deadline = Date.now() + this.opTimeoutMs
    await this.waitConnected(this.opTimeoutMs)
    if (this.lifecycle === 'closed') throw new ZkClosedError(this.connectString)
    const client = this.client
    if (!client) throw this.unreachable()
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(this.unreachable()), Math.max(1, deadline - Date.now()))
      send(client, (error, value) => {
        clearTimeout(timer)
        if (!error) return resolve(value as T)
        const mapped = this.mapError(error, what)
        if (mapped === null) return resolve(null as T) // NO_NODE on a read: the node is simply not there
        reject(mapped)
      })
    })
  }

  private mapError(error: unknown, what: string): Error | null {
    const name = (error as {name?: string}).name
    const {Exception} = zk()
    const code = (error as {code?: number}).code
    switch (code) {
      case Exception.NO_NODE:
        return null
      case Exception.NODE_EXISTS:
        return new ZkConflictError('NODE_EXISTS')
      case Exception.BAD_VERSION:
        return new ZkConflictError('BAD_VERSION')
      case Exception.NOT_EMPTY:
        return new ZkConflictError('NOT_EMPTY')
      case Exception.NO_AUTH:
      case Exception.AUTH_FAILED:
        return new ZkRefusedError(what, name ?? 'NO_AUTH', this.auth !== undefined)
      default:
        return this.unreachable()
    }
  }

  private unreachable(): StconfError {
    return unavailable(`ZooKeeper at ${this.connectString} is unreachable`, 'check that the ensemble is up; retrying in the background')
  }

  private build(): void {
    const {createClient, State} = zk()
    const client = createClient(this.connectString, {sessionTimeout: this.sessionTimeoutMs, spinDelay: 200, retries: 0})
    this.client = client
    for (const auth of [this.auth, ...this.alsoAuth]) if (auth) client.addAuthInfo('digest', Buffer.from(auth))
    dropPartialPackets(client)
    client.on('state', (state: Zk.State) => {
      if (client !== this.client) return // a replaced client's last words
      if (state === State.SYNC_CONNECTED) {
        const session = client.getSessionId().toString('hex')
        const newSession = session !== this.sessionId || this.last === 'lost'
        this.sessionId = session
        this.connectedFlag = true
        this.missedPings = 0
        for (const waiter of [...this.waiters]) waiter()
        if (this.last === undefined) this.tell({state: 'connected', newSession: true})
        else if (this.last === 'suspended' || this.last === 'lost' || newSession) this.tell({state: 'reconnected', newSession})
      } else if (state === State.DISCONNECTED) {
        const wasUp = this.connectedFlag
        this.connectedFlag = false
        this.disconnectedSince = Date.now()
        if (wasUp) this.tell({state: 'suspended'})
      } else if (state === State.EXPIRED) {
        this.connectedFlag = false
        this.rebuild('session expired', true)
      }
    })
    client.connect()
  }

  /** Throw the raw client away and start a new one: its session, watches and ephemerals are gone. */
  private rebuild(reason: string, expired = false): void {
    if (this.lifecycle === 'closed') return
    // Before the first session there is nothing to lose; once lost, a further rebuild is not news.
    if (this.last !== undefined && this.last !== 'lost') this.tell({state: 'lost', expired, reason})
    const old = this.client
    this.client = undefined
    this.connectedFlag = false
    this.disconnectedSince = Date.now()
    closeRaw(old)
    this.build()
  }

  /**
   * A server that accepted the TCP connection but has not answered the connect request within
   * ATTEMPT_DEADLINE_MS (a live one answers in milliseconds): close that socket. The raw client then
   * tries again with the same session id, so the session survives, where a rebuild would lose it.
   */
  private dropAnswerlessAttempt(): void {
    // The raw client keeps its socket in a field its typings do not show (lib/ConnectionManager.js).
    const socket = (this.client as unknown as {connectionManager?: {socket?: {connecting: boolean; destroyed: boolean; destroy(): void}}} | undefined)?.connectionManager?.socket
    if (!socket || socket.connecting || socket.destroyed) {
      this.answerless = undefined
    } else if (this.answerless?.socket !== socket) {
      this.answerless = {socket, since: Date.now()}
    } else if (Date.now() - this.answerless.since >= ATTEMPT_DEADLINE_MS) {
      this.answerless = undefined
      socket.destroy()
    }
  }

  /** Half-open detection: a connection whose pings go unanswered is treated as dead. */
  private async ping(timeoutMs: number): Promise<void> {
    if (!this.connectedFlag || this.pinging || this.lifecycle === 'closed') return
    const client = this.client
    if (!client) return
    this.pinging = true
    try {
      const answered = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs)
        client.exists('/', (error) => {
          clearTimeout(timer)
          resolve(!error || (error as {code?: number}).code === zk().Exception.NO_NODE)
        })
      })
      if (answered) this.missedPings = 0
      else if (++this.missedPings >= 2 && client === this.client) this.rebuild('no answer to pings (half-open connection)')
    } finally {
      this.pinging = false
    }
  }
}

/**
 * The raw client keeps the unread part of a packet across sockets: bytes left by a connection that
 * broke mid-packet (a server killed while answering) are glued to the next connection's first answer,
 * and the garbage that makes throws from a socket handler ("Unknown code"), which crashes the process.
 * Forget them whenever a socket closes, before the raw client opens the next one (it binds its
 * handler at each connect, so an override on the instance is what it uses).
 */
function dropPartialPackets(client: Zk.Client): void {
  type Manager = {pendingBuffer: Buffer | null; onSocketClosed: (...args: unknown[]) => void}
  const manager = (client as unknown as {connectionManager?: Manager}).connectionManager
  if (!manager) return
  const onSocketClosed = manager.onSocketClosed
  manager.onSocketClosed = function (this: Manager, ...args: unknown[]) {
    this.pendingBuffer = null
    return onSocketClosed.apply(this, args)
  }
}

/**
 * Throw a raw client away. A connected one is closed properly: its close request ends the session at
 * once. One that is not connected has no session to end, and must not be sent a close request: the
 * raw client would write it on a connection attempt under way, then read the server's answer to that
 * attempt as the close's reply. When the client has sent no request before (a client rebuilt during an
 * outage), the ids line up and the session id's bytes read as an error code: "Unknown code", thrown
 * from a socket handler, crashes the process. So such a client's socket is destroyed and it makes no
 * further attempt (its retry after the close, or a delayed attempt, finds connect() and the connect
 * handler disarmed; both are bound when an attempt starts, so an override on the instance is used).
 */
function closeRaw(client: Zk.Client | undefined): void {
  if (!client) return
  client.removeAllListeners()
  if (client.getState() === zk().State.SYNC_CONNECTED) {
    try {
      client.close()
    } catch {
      // the socket went in the meantime: nothing to tell the server
    }

    return
  }

  type Manager = {socket?: {destroy(): void}; connect: () => void; onSocketConnected: () => void}
  const manager = (client as unknown as {connectionManager?: Manager}).connectionManager
  if (!manager) return
  manager.connect = () => undefined
  manager.onSocketConnected = function (this: Manager) {
    this.socket?.destroy()
  }

  manager.socket?.destroy()
}

/** Join a root and a relative path into a znode path. */
export function zkPath(...parts: string[]): string {
  return ('/' + parts.join('/')).replaceAll(/\/+/g, '/').replace(/\/$/, '') || '/'
}
