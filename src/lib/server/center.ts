// The center's logic: versions, history, audit. The HTTP layer (app.ts) only translates to these calls.
//
// Write order for every change: store commit (ZooKeeper multi, or embedded blob + pointer; the blob is
// written alongside) -> history and audit (appended side by side) -> answer. Agents see the change at
// the store commit, so nothing else sits before it. The answer waits until history and audit are
// fsynced, so an acknowledged push is durable. A crash after the store commit leaves history one
// version behind; reconcile() at start fills it in (content and meta from the store), so a version
// the store holds is never lost and a version number is never reused.
import {EventEmitter} from 'node:events'
import {conflict, isStconfError, notFound} from '../errors.js'
import {sha256, type VersionKind, type VersionMeta} from '../model.js'
import {sleep} from '../sleep.js'
import type {ConfigStore, ForeignChange} from '../store/types.js'
import type {CenterApi, ChangeEvent, Current, PushInput, PushResult} from './center-types.js'
import {KeyedLock} from '../keyed-lock.js'
import type {AuditStore, HistoryStore} from './storage-types.js'

export const OUT_OF_BAND_AUTHOR = 'zookeeper'

export class Center implements CenterApi {
  private readonly events = new EventEmitter()
  private readonly lock = new KeyedLock()
  /**
   * Embedded mode only: each env's key listing, read from the store once and then kept up to date by
   * this process's own commits. serve.lock makes this process the embedded store's only writer, so
   * nothing else moves it (reading 5,000 key files took most of `stconf tui`'s first frame). ZooKeeper
   * is shared with other serves and out-of-band edits: never kept there.
   */
  private readonly listings = new Map<string, Map<string, VersionMeta>>()
  private commits = 0

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
    await this.reconcile().catch(() => undefined) // ZooKeeper down: reconciled by the foreign scan later
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

  /** Every key of an env with its current meta, sorted by key. */
  async list(env: string): Promise<Array<{key: string; meta: VersionMeta}>> {
    if (this.store.mode !== 'embedded') return this.store.list(env)
    const kept = this.listings.get(env)
    if (kept) return [...kept].map(([key, meta]) => ({key, meta})).sort((a, b) => a.key.localeCompare(b.key))
    const commits = this.commits
    const listed = await this.store.list(env)
    // A commit made while the files were read may be half in what was read: keep only a quiet read.
    if (commits === this.commits) this.listings.set(env, new Map(listed.map(({key, meta}) => [key, meta])))
    return listed
  }

  /** Every env that has had a key, with how many keys it holds now, sorted by name. */
  async envs(): Promise<Array<{env: string; keys: number}>> {
    const names = (await this.store.envs()).sort()
    return Promise.all(names.map(async (env) => ({env, keys: (await this.list(env)).length})))
  }

  async push(input: PushInput): Promise<PushResult> {
    return this.lock.run(`${input.env}/${input.key}`, async () => {
      // The store refuses a commit when its content moved under us (another serve, an out-of-band
      // write): read again and retry. A stale expectVersion is the caller's conflict, reported at once.
      for (let attempt = 0; attempt < 5; attempt++) {
        const outcome = await this.pushOnce(input)
        if (outcome !== 'raced') return outcome
        await sleep(25 * (attempt + 1))
      }

      throw conflict(`conflict: ${input.env}/${input.key} kept changing while writing`, 'try again')
    })
  }

  async rollback(env: string, key: string, to: number, author: string, message?: string): Promise<PushResult> {
    const target = await this.history.get(env, key, to)
    if (!target) throw notFound(`${env}/${key} has no version ${to}`, `see \`stconf history ${key} --env ${env}\``)
    const content = await this.history.getBlob(target.sha256)
    if (!content) throw new Error(`blob of ${env}/${key} version ${to} is missing`)
    return this.push({env, key, content, author, message: message ?? `rollback to version ${to}`, kind: 'rollback'})
  }

  async versionContent(env: string, key: string, version: number): Promise<{meta: VersionMeta; content: Buffer}> {
    const meta = await this.history.get(env, key, version)
    if (!meta) throw notFound(`${env}/${key} has no version ${version}`, `see \`stconf history ${key} --env ${env}\``)
    const content = await this.history.getBlob(meta.sha256)
    if (!content) throw new Error(`blob of ${env}/${key} version ${version} is missing`)
    return {meta, content}
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
    const meta = this.newMeta(version, content, input.author, input.message, input.kind ?? 'push')
    // Only a new key can make a new env; the client says so, so a typo in --env is not silent.
    const createdEnv = !current && !(await this.store.envs()).includes(env)
    // The blob is written beside the store commit, not after it: a blob is found only through a
    // version that names it, so one left by a commit that failed is harmless.
    const blob = this.history.putBlob(content)
    try {
      await this.store.commit(env, key, content, meta, currentVersion)
      this.listings.get(env)?.set(key, meta)
    } catch (error) {
      this.listings.delete(env) // whatever the store holds now, the next list reads it
      await blob.catch(() => undefined)
      if (isStconfError(error) && error.code === 'conflict') return 'raced'
      throw error
    } finally {
      this.commits++
    }

    await blob
    await this.record(env, key, meta, {actor: input.author, action: meta.kind, env, key, version, detail: input.message || undefined})
    this.events.emit('change', {env, key, meta} satisfies ChangeEvent)
    return {changed: true, meta, ...(createdEnv ? {createdEnv} : {})}
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
      const meta = this.newMeta(version, change.content, OUT_OF_BAND_AUTHOR, 'changed in ZooKeeper, not through stconf', 'out-of-band')
      await this.history.putBlob(change.content)
      try {
        await this.store.commitForeign!(change, meta, current?.version ?? 0)
      } catch (error) {
        if (isStconfError(error) && error.code === 'conflict') return // it moved again; the next scan sees it
        throw error
      }

      await this.record(env, key, meta, {actor: OUT_OF_BAND_AUTHOR, action: 'out-of-band', env, key, version, detail: meta.message})
      this.events.emit('change', {env, key, meta} satisfies ChangeEvent)
    })
  }

  /** Fill history with versions the store holds but history lacks (a crash between the two writes). */
  private async reconcile(): Promise<void> {
    for (const env of await this.store.envs()) {
      // this.list: in embedded mode this read is also the listing kept from now on
      for (const {key, meta} of await this.list(env)) {
        if (meta.version <= (await this.history.lastVersion(env, key))) continue
        const current = await this.store.get(env, key)
        if (current) await this.history.putBlob(current.content)
        await this.record(env, key, meta, {actor: 'stconf', action: 'reconcile', env, key, version: meta.version, detail: 'recorded after a restart'})
      }
    }
  }

  /**
   * History and audit of one committed version, written side by side (two appends, two files, one
   * fsync's wait instead of two); the change is acknowledged only once both are durable. A crash
   * between them is caught by reconcile() at start: a missing history entry is filled in from the
   * store (with a `reconcile` audit entry), so no version the store holds is lost.
   */
  private async record(env: string, key: string, meta: VersionMeta, entry: Parameters<AuditStore['record']>[0]): Promise<void> {
    const results = await Promise.allSettled([this.history.append(env, key, meta), this.auditLog.record(entry)])
    for (const result of results) if (result.status === 'rejected') throw result.reason
  }

  private newMeta(version: number, content: Buffer, author: string, message: string, kind: VersionKind): VersionMeta {
    return {version, sha256: sha256(content), size: content.length, author, message, time: this.now().toISOString(), kind}
  }
}
