// The center's logic: versions, history, audit. The HTTP layer (app.ts) only translates to these calls.
//
// Write order for every change, and what a push waits for:
// - embedded store: the commit is the key's history line (content inline), appended side by side
//   with the audit entry: one fsync's wait. Nothing else is written, so nothing can fall out of step.
// - ZooKeeper: the store commit (multi) -> history and audit (appended side by side) -> answer. Agents
//   see the change at the multi, so nothing sits before it. A crash after the multi leaves history one
//   version behind; reconcile() at start fills it in (content and meta from the store), so a version
//   the store holds is never lost and a version number is never reused.
// The answer waits until history and audit are fsynced, so an acknowledged push is durable.
import {EventEmitter} from 'node:events'
import {conflict, isStconfError, notFound} from '../errors.js'
import {sha256, type VersionKind, type VersionMeta} from '../model.js'
import {retry, TRY_AGAIN} from '../backoff.js'
import type {ConfigStore, ForeignChange} from '../store/types.js'
import type {CenterApi, ChangeEvent, Current, PushInput, PushResult} from './center-types.js'
import {KeyedLock} from '../keyed-lock.js'
import type {AuditStore, HistoryStore} from './storage-types.js'

export const OUT_OF_BAND_AUTHOR = 'zookeeper'

type AuditInput = Parameters<AuditStore['record']>[0]

export class Center implements CenterApi {
  private readonly events = new EventEmitter()
  private readonly lock = new KeyedLock()

  constructor(
    readonly store: ConfigStore,
    readonly history: HistoryStore,
    readonly auditLog: AuditStore,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.events.setMaxListeners(0)
  }

  get mode(): 'embedded' | 'zookeeper' {
    return this.store.mode
  }

  async start(): Promise<void> {
    await this.store.start()
    if (this.store.commitsHistory) await this.settleUnstored()
    else await this.reconcile().catch(() => undefined) // ZooKeeper down: reconciled by the foreign scan later
    this.store.watchForeign?.((change) => this.recordForeign(change))
  }

  async close(): Promise<void> {
    await this.store.close()
  }

  onChange(listener: (event: ChangeEvent) => void): () => void {
    this.events.on('change', listener)
    return () => this.events.off('change', listener)
  }

  current(env: string, key: string): Promise<Current | null> {
    return this.store.get(env, key)
  }

  meta(env: string, key: string): Promise<VersionMeta | null> {
    return this.store.getMeta(env, key)
  }

  list(env: string): Promise<Array<{key: string; meta: VersionMeta}>> {
    return this.store.list(env)
  }

  /** Every env that has had a key, with how many keys it holds now, sorted by name. */
  async envs(): Promise<Array<{env: string; keys: number}>> {
    const names = (await this.store.envs()).sort()
    return Promise.all(names.map(async (env) => ({env, keys: (await this.store.list(env)).length})))
  }

  async push(input: PushInput): Promise<PushResult> {
    return this.lock.run(`${input.env}/${input.key}`, async () => {
      // The store refuses a commit when its content moved under us (another serve, an out-of-band
      // write): read again and retry. A stale expectVersion is the caller's conflict, reported at once.
      return retry({tries: 5, firstDelayMs: 25, exhausted: () => conflict(`conflict: ${input.env}/${input.key} kept changing while writing`, 'try again')}, async () => {
        const outcome = await this.pushOnce(input)
        return outcome === 'raced' ? TRY_AGAIN : outcome
      })
    })
  }

  async rollback(env: string, key: string, to: number, author: string, message?: string): Promise<PushResult> {
    const {content} = await this.versionContent(env, key, to)
    return this.push({env, key, content, author, message: message ?? `rollback to version ${to}`, kind: 'rollback'})
  }

  async versionContent(env: string, key: string, version: number): Promise<{meta: VersionMeta; content: Buffer}> {
    const stored = await this.history.read(env, key, version)
    if (!stored) throw notFound(`${env}/${key} has no version ${version}`, `see \`stconf history ${key} --env ${env}\``)
    return stored
  }

  async historyOf(env: string, key: string, limit?: number): Promise<VersionMeta[]> {
    const entries = await this.history.list(env, key, limit)
    if (entries.length === 0 && !(await this.store.getMeta(env, key))) throw notFound(`no key ${key} in env ${env}`)
    return entries
  }

  private async pushOnce(input: PushInput): Promise<PushResult | 'raced'> {
    const {env, key, content} = input
    const current = await this.store.getMeta(env, key)
    const currentVersion = current?.version ?? 0
    if (input.expectVersion !== undefined && input.expectVersion !== currentVersion) {
      throw conflict(`conflict: ${env}/${key} is at version ${currentVersion}, not ${input.expectVersion}`, 'pull the current version, merge, and push again')
    }

    const hash = sha256(content)
    if (current && current.sha256 === hash) return {changed: false, meta: current}
    const version = Math.max(currentVersion, await this.history.lastVersion(env, key)) + 1
    const meta = this.newMeta(version, hash, content.length, input.author, input.message, input.kind ?? 'push')
    const entry = {actor: input.author, action: meta.kind, env, key, version, detail: input.message || undefined}
    // Only a new key can make a new env; the client says so, so a typo in --env is not silent.
    const createdEnv = !current && !(await this.store.envs()).includes(env)
    try {
      if (this.store.commitsHistory) {
        await this.commitBesideAudit(env, key, content, meta, currentVersion, entry)
      } else {
        await this.store.commit(env, key, content, meta, currentVersion)
        await this.record(env, key, meta, content, entry)
      }
    } catch (error) {
      if (isStconfError(error) && error.code === 'conflict') return 'raced'
      throw error
    }

    this.events.emit('change', {env, key, meta} satisfies ChangeEvent)
    return {changed: true, meta, ...(createdEnv ? {createdEnv} : {})}
  }

  /**
   * The embedded store's commit (the key's history line) and the audit entry, side by side: one
   * fsync's wait. Should the commit fail after the audit entry was written, a second entry says so
   * (`push-failed`, naming the version and why), so the log never claims a version that is not
   * stored; the version number is then free again, as the store never held it.
   */
  private async commitBesideAudit(env: string, key: string, content: Buffer, meta: VersionMeta, previous: number, entry: AuditInput): Promise<void> {
    const [commit, audited] = await Promise.allSettled([this.store.commit(env, key, content, meta, previous), this.auditLog.record(entry)])
    if (commit.status === 'rejected') {
      if (audited.status === 'fulfilled') {
        const why = commit.reason instanceof Error ? commit.reason.message : String(commit.reason)
        await this.auditLog.record({...entry, action: `${entry.action}-failed`, detail: `not stored: ${why}`}).catch(() => undefined)
      }

      throw commit.reason
    }

    if (audited.status === 'rejected') throw audited.reason
  }

  /** A change made straight in ZooKeeper: record it as an out-of-band version (or audit a deletion). */
  private async recordForeign(change: ForeignChange): Promise<void> {
    const {env, key} = change
    await this.lock.run(`${env}/${key}`, async () => {
      if (change.content === null) {
        await this.auditLog.record({
          actor: OUT_OF_BAND_AUTHOR,
          action: 'out-of-band-delete',
          env,
          key,
          detail: 'content node deleted in ZooKeeper; agents keep their files',
        })
        return
      }

      const current = await this.store.getMeta(env, key)
      const hash = sha256(change.content)
      if (current?.sha256 === hash) return
      const version = Math.max(current?.version ?? 0, await this.history.lastVersion(env, key)) + 1
      const meta = this.newMeta(version, hash, change.content.length, OUT_OF_BAND_AUTHOR, 'changed in ZooKeeper, not through stconf', 'out-of-band')
      try {
        await this.store.commitForeign!(change, meta, current?.version ?? 0)
      } catch (error) {
        if (isStconfError(error) && error.code === 'conflict') return // it moved again; the next scan sees it
        throw error
      }

      await this.record(env, key, meta, change.content, {actor: OUT_OF_BAND_AUTHOR, action: 'out-of-band', env, key, version, detail: meta.message})
      this.events.emit('change', {env, key, meta} satisfies ChangeEvent)
    })
  }

  /**
   * The embedded store writes a version's history line and its audit entry side by side, so a crash
   * can leave the audit entry durable and the line not: a push that was never acknowledged. At start,
   * each such entry among the newest (those in flight at a crash are the last ones written) gets a
   * `push-failed` entry after it, so the audit never claims a version the store does not hold.
   */
  private async settleUnstored(): Promise<void> {
    const recent = await this.auditLog.list({limit: 256})
    const id = (e: AuditInput) => `${e.env}\n${e.key}\n${e.version}`
    const settled = new Set(recent.filter((e) => e.action.endsWith('-failed')).map(id))
    for (const entry of recent) {
      const {env, key, version} = entry
      if ((entry.action !== 'push' && entry.action !== 'rollback') || env === undefined || key === undefined || version === undefined) continue
      if (settled.has(id(entry)) || ((await this.history.latest(env, key))?.version ?? 0) >= version) continue
      const detail = 'not stored: serve stopped before this version was durable (it was never acknowledged)'
      await this.auditLog.record({actor: 'stconf', action: `${entry.action}-failed`, env, key, version, detail})
      settled.add(id(entry))
    }
  }

  /** Fill history with versions the store holds but history lacks (a crash between the two writes). */
  private async reconcile(): Promise<void> {
    for (const env of await this.store.envs()) {
      for (const {key, meta} of await this.store.list(env)) {
        if (meta.version <= (await this.history.lastVersion(env, key))) continue
        const current = await this.store.get(env, key)
        if (!current) continue
        await this.record(env, key, current.meta, current.content, {actor: 'stconf', action: 'reconcile', env, key, version: meta.version, detail: 'recorded after a restart'})
      }
    }
  }

  /**
   * History and audit of one committed version, written side by side (two appends, two files, one
   * fsync's wait instead of two); the change is acknowledged only once both are durable. A crash
   * between them is caught by reconcile() at start: a missing history entry is filled in from the
   * store (with a `reconcile` audit entry), so no version the store holds is lost.
   */
  private async record(env: string, key: string, meta: VersionMeta, content: Buffer, entry: AuditInput): Promise<void> {
    const results = await Promise.allSettled([this.history.append(env, key, meta, content), this.auditLog.record(entry)])
    for (const result of results) if (result.status === 'rejected') throw result.reason
  }

  private newMeta(version: number, hash: string, size: number, author: string, message: string, kind: VersionKind): VersionMeta {
    return {version, sha256: hash, size, author, message, time: this.now().toISOString(), kind}
  }
}
