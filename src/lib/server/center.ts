// The center's logic: versions, history, audit. The HTTP layer (app.ts) only translates to these calls.
//
// Write order for every change, and what a push waits for:
// - embedded store: the commit is the key's history line (content inline), appended side by side
//   with the audit entry: one fsync's wait. Nothing else is written, so nothing can fall out of step.
// - ZooKeeper: the store commit (multi), the history line and the audit entry, all side by side, then
//   the answer: one wait, the longest of the three. Agents see the change at the multi. A commit that
//   fails takes back what was written beside it (the history line is withdrawn, the audit says
//   `push-failed`); a crash leaves at most one such line, withdrawn by reconcile() at start, which
//   also fills in a version the store holds and history lacks. A key's first version is the one
//   exception: its history line follows its commit (see pushOnce).
// The answer waits until history and audit are fsynced, so an acknowledged push is durable; a
// version number is never used twice.
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
  /**
   * Per key, the meta of this process's own last commit, so a push starts from it instead of reading
   * the store first (a ZooKeeper round trip on the path every agent waits for). A stale entry (another
   * serve, a write straight into ZooKeeper) can only make the store refuse the commit as a conflict,
   * which drops the entry and reads again. The answers given without a commit ("unchanged", a refused
   * expectVersion) are never taken from it: they read the store first.
   */
  private readonly lastCommitted = new Map<string, VersionMeta>()
  /** Keys whose last commit ended unknown (the connection broke during it): see commitBeside. */
  private readonly unsettled = new Map<string, {meta: VersionMeta; failed?: AuditInput; appended: boolean}>()
  /** Per key, the version whose history line is written while its commit is not known to have landed: readers do not see it yet. */
  private readonly inDoubt = new Map<string, number>()

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
    const stored = this.inDoubt.get(`${env}/${key}`) === version ? null : await this.history.read(env, key, version)
    if (!stored) throw notFound(`${env}/${key} has no version ${version}`, `see \`stconf history ${key} --env ${env}\``)
    return stored
  }

  async historyOf(env: string, key: string, limit?: number): Promise<VersionMeta[]> {
    const doubtful = this.inDoubt.get(`${env}/${key}`)
    const wanted = limit ?? 100
    const entries = (await this.history.list(env, key, doubtful === undefined ? wanted : wanted + 1)).filter((m) => m.version !== doubtful).slice(0, wanted)
    if (entries.length === 0 && !(await this.store.getMeta(env, key))) throw notFound(`no key ${key} in env ${env}`)
    return entries
  }

  private async pushOnce(input: PushInput): Promise<PushResult | 'raced'> {
    const {env, key, content} = input
    const id = `${env}/${key}`
    const hash = sha256(content)
    await this.settleUnknown(env, key)
    let current = this.lastCommitted.get(id)
    const answersWithoutCommit = (meta: VersionMeta | null | undefined) =>
      (input.expectVersion !== undefined && input.expectVersion !== (meta?.version ?? 0)) || meta?.sha256 === hash
    if (!current || answersWithoutCommit(current)) current = (await this.store.getMeta(env, key)) ?? undefined
    const currentVersion = current?.version ?? 0
    if (input.expectVersion !== undefined && input.expectVersion !== currentVersion) {
      throw conflict(`conflict: ${env}/${key} is at version ${currentVersion}, not ${input.expectVersion}`, 'pull the current version, merge, and push again')
    }

    if (current && current.sha256 === hash) return {changed: false, meta: current}
    const version = Math.max(currentVersion, await this.history.lastVersion(env, key)) + 1
    const meta = this.newMeta(version, hash, content.length, input.author, input.message, input.kind ?? 'push')
    const entry = {actor: input.author, action: meta.kind, env, key, version, detail: input.message || undefined}
    // Only a new key can make a new env; the client says so, so a typo in --env is not silent.
    const createdEnv = !current && !(await this.store.envs()).includes(env)
    // Dropped while the commit is in flight: a failure (a lost connection too) leaves it unknown.
    this.lastCommitted.delete(id)
    try {
      if (this.store.commitsHistory) await this.commitBeside(env, key, content, meta, currentVersion, entry, [])
      else if (current && this.store.reachable !== false) {
        this.inDoubt.set(id, version)
        try {
          await this.commitBeside(env, key, content, meta, currentVersion, entry, [this.history.append(env, key, meta, content)])
        } finally {
          if (!this.unsettled.has(id)) this.inDoubt.delete(id)
        }
      } else {
        // A new key's first version is recorded after its commit: a line ahead of it could not be
        // told, after a crash, from the history of a key deleted in ZooKeeper (reconcile() needs the
        // version before it in the store). And while the store is unreachable, the commit fails alone.
        await this.store.commit(env, key, content, meta, currentVersion)
        await this.record(env, key, meta, content, entry)
      }
    } catch (error) {
      if (isStconfError(error) && error.code === 'conflict') return 'raced'
      throw error
    }

    this.lastCommitted.set(id, meta)
    this.events.emit('change', {env, key, meta} satisfies ChangeEvent)
    return {changed: true, meta, ...(createdEnv ? {createdEnv} : {})}
  }

  /**
   * The store's commit and what records it, side by side: one fsync's wait, not two in a row.
   * - embedded: the commit is the key's history line; beside it goes the audit entry.
   * - ZooKeeper: the multi, beside it the history line (`ahead`) and the audit entry.
   * Should the commit fail, what was written beside it is taken back: the history line is withdrawn
   * and a second audit entry says so (`push-failed`, naming the version and why), so neither claims a
   * version the store does not hold. A failure that leaves it unknown whether the multi landed (the
   * connection broke) is settled by reading the store: landed, the push stands and is answered as
   * done; unreadable, the key stays unsettled until its next push, or serve's next start.
   */
  private async commitBeside(env: string, key: string, content: Buffer, meta: VersionMeta, previous: number, entry: AuditInput, ahead: Array<Promise<void>>): Promise<void> {
    const [commit, audited, ...written] = await Promise.allSettled([this.store.commit(env, key, content, meta, previous), this.auditLog.record(entry), ...ahead])
    if (commit.status === 'rejected') {
      const known = this.store.commitsHistory || (isStconfError(commit.reason) && commit.reason.code === 'conflict')
      const landed = known ? false : await this.landed(env, key, meta).catch(() => undefined)
      const why = commit.reason instanceof Error ? commit.reason.message : String(commit.reason)
      const failed = audited.status === 'fulfilled' ? {...entry, action: `${entry.action}-failed`, detail: `not stored: ${why}`} : undefined
      const appended = written[0]?.status === 'fulfilled'
      if (landed === undefined) {
        this.unsettled.set(`${env}/${key}`, {meta, failed, appended})
        throw commit.reason
      }

      if (!landed) {
        await this.takeBack(env, key, meta, failed, appended)
        throw commit.reason
      }
    }

    for (const result of [audited, ...written]) if (result.status === 'rejected') throw result.reason
  }

  /** Whether the store holds `meta` (its version, with its bytes); throws when the store cannot say. */
  private async landed(env: string, key: string, meta: VersionMeta): Promise<boolean> {
    const stored = await this.store.getMeta(env, key)
    return stored?.version === meta.version && stored.sha256 === meta.sha256
  }

  /**
   * Withdraws a version's history line (when it was appended) and writes the audit entry that says
   * it failed (when given). Best effort: on a failing disk the caller already has an error to answer.
   */
  private async takeBack(env: string, key: string, meta: VersionMeta, failed: AuditInput | undefined, appended: boolean): Promise<void> {
    await Promise.allSettled([
      appended ? this.history.withdraw(env, key, meta, failed?.detail ?? 'not stored') : undefined,
      failed ? this.auditLog.record(failed) : undefined,
    ])
  }

  /**
   * A key whose last commit ended unknown (see commitBeside) is settled before anything else is
   * written to it: the store says whether that version landed, and if it did not, it is taken back.
   */
  private async settleUnknown(env: string, key: string): Promise<void> {
    const unknown = this.unsettled.get(`${env}/${key}`)
    if (!unknown) return
    if (!(await this.landed(env, key, unknown.meta))) await this.takeBack(env, key, unknown.meta, unknown.failed, unknown.appended)
    this.unsettled.delete(`${env}/${key}`)
    this.inDoubt.delete(`${env}/${key}`)
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

      this.lastCommitted.delete(`${env}/${key}`)
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

  /**
   * After a crash, history is made to agree with the store, key by key:
   * - a version written ahead of its commit (commitBeside) that never landed is withdrawn, with a
   *   `push-failed` entry: its line is the newest, and the standing line before it is the store's
   *   version, bytes and all (anything else is not serve's own unfinished push, and is left alone);
   * - versions the store holds but history lacks (a crash after the multi) are filled in from the store.
   */
  private async reconcile(): Promise<void> {
    for (const env of await this.store.envs()) {
      for (const {key, meta} of await this.store.list(env)) {
        const [newest, before] = await this.history.list(env, key, 2)
        if (newest && newest.version > meta.version) {
          if (before?.version === meta.version && before.sha256 === meta.sha256) {
            const detail = 'not stored: serve stopped before its commit finished (it was never acknowledged)'
            await this.takeBack(env, key, newest, {actor: 'stconf', action: `${newest.kind}-failed`, env, key, version: newest.version, detail}, true)
          }

          continue
        }

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
