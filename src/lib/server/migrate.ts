// Moves a data dir written by an older storage layout to the current one, once, on the first start
// of a newer serve. Two steps, each safe to cut off and run again:
//
// 1. stconf's first layout (lowdb files that were rewritten whole on every write) to the journal:
//      before: audit/<YYYY-MM-DD>.json            history/<env>/<key>/<NNNNNN>.json (1000 versions each)
//      after:  journal/audit/*.jsonl              journal/history/<env>/<key>/*.jsonl
//    The journal is built beside the data in journal.migrating/ and renamed into place in one step, so
//    a crash mid-migration leaves the old files as they were and the next start begins again. Only
//    after the rename are the old files removed (a crash in between: the next start removes them).
// 2. the embedded store's pointer files (current/<env>/<key>.json, one per key, rewritten on every
//    push) into the history: the store now reads a key's current version from its newest history
//    line. A pointer ahead of history (that serve crashed between its two writes) is appended to
//    history first and audited as `reconcile`, as that serve's own restart would have done; then
//    current/ is removed. The content those versions name stays in blobs/, where history finds it.
import {readdir, readFile, rename, rm, rmdir, stat, writeFile} from 'node:fs/promises'
import {join, resolve} from 'node:path'
import {badInput} from '../errors.js'
import {syncDir} from '../fs-atomic.js'
import type {VersionMeta} from '../model.js'
import {summarizeAudit, summarizeVersions, type VersionRange} from './journal-summaries.js'
import {SegmentLog} from './segment-log.js'
import type {AuditEntry} from './storage-types.js'

const DAY_RE = /^\d{4}-\d{2}-\d{2}\.json$/
const CHUNK_RE = /^\d{6}\.json$/
const MARKER = 'migrated.json'

export interface Migration {
  auditEntries: number
  versions: number
  keys: number
}

async function list(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort()
}

async function readArray<T>(path: string): Promise<T[]> {
  let parsed: unknown
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'))
  } catch (error) {
    throw new Error(`cannot migrate ${path}: ${(error as Error).message}`)
  }

  if (!Array.isArray(parsed)) throw new Error(`cannot migrate ${path}: not a JSON array`)
  return parsed as T[]
}

async function hasOldLayout(dataDir: string): Promise<boolean> {
  if ((await list(join(dataDir, 'audit'))).some((n) => DAY_RE.test(n))) return true
  return (await list(join(dataDir, 'history'))).length > 0
}

const migrations = new Map<string, Promise<Migration | null>>()

/** migrateDataDir, once per data dir and process: every opener of history or audit waits for it. */
export function migrateOnce(dataDir: string): Promise<Migration | null> {
  const dir = resolve(dataDir)
  let migration = migrations.get(dir)
  if (!migration) {
    migration = migrateDataDir(dir)
    migration.catch(() => migrations.delete(dir)) // a failed attempt is retried by the next opener
    migrations.set(dir, migration)
  }

  return migration
}

/** Migrates `dataDir` if it holds an old layout; returns what step 1 moved, or null when it had nothing to move. */
export async function migrateDataDir(dataDir: string): Promise<Migration | null> {
  const moved = await migrateLowdb(dataDir)
  await foldPointers(dataDir)
  return moved
}

async function migrateLowdb(dataDir: string): Promise<Migration | null> {
  if (!(await hasOldLayout(dataDir))) return null
  const journal = join(dataDir, 'journal')
  const journalNames = await readdir(journal).catch(() => null)
  if (journalNames !== null) {
    if (!journalNames.includes(MARKER)) {
      throw badInput(
        `${dataDir} holds both the old storage layout (audit/*.json, history/) and the new one (journal/)`,
        'a serve of an older stconf wrote into it after the migration; move audit/ and history/ out of the data dir',
      )
    }

    await removeOldLayout(dataDir) // migrated before, cut off before the old files were removed
    return null
  }

  const building = join(dataDir, 'journal.migrating')
  await rm(building, {recursive: true, force: true})
  const result: Migration = {auditEntries: 0, versions: 0, keys: 0}

  const entries: AuditEntry[] = []
  for (const day of (await list(join(dataDir, 'audit'))).filter((n) => DAY_RE.test(n))) {
    entries.push(...(await readArray<AuditEntry>(join(dataDir, 'audit', day))))
  }

  const audit = await SegmentLog.open({dir: join(building, 'audit'), maxSegmentBytes: 4 * 1024 * 1024, summarize: summarizeAudit})
  await audit.appendMany(entries)
  result.auditEntries = entries.length

  for (const env of await list(join(dataDir, 'history'))) {
    for (const encoded of await list(join(dataDir, 'history', env))) {
      const metas: VersionMeta[] = []
      for (const chunk of (await list(join(dataDir, 'history', env, encoded))).filter((n) => CHUNK_RE.test(n))) {
        metas.push(...(await readArray<VersionMeta>(join(dataDir, 'history', env, encoded, chunk))))
      }

      metas.sort((a, b) => a.version - b.version)
      const key = decodeURIComponent(encoded)
      const log = await SegmentLog.open({dir: join(building, 'history', env, encodeURIComponent(key)), maxSegmentBytes: 1024 * 1024, summarize: summarizeVersions})
      await log.appendMany(metas)
      result.versions += metas.length
      result.keys++
    }
  }

  await writeFile(join(building, MARKER), JSON.stringify({from: 'lowdb files (audit/*.json, history/*/*/NNNNNN.json)', time: new Date().toISOString(), ...result}) + '\n', {mode: 0o600})
  await syncDir(building)
  await rename(building, journal)
  await syncDir(dataDir)
  await removeOldLayout(dataDir)
  return result
}

/** Step 2: current/<env>/<key>.json pointers into the keys' history, then current/ removed. */
async function foldPointers(dataDir: string): Promise<void> {
  const current = join(dataDir, 'current')
  const exists = await stat(current).then(
    () => true,
    () => false,
  )
  if (!exists) return
  const reconciled: AuditEntry[] = []
  for (const env of await list(current)) {
    for (const name of (await list(join(current, env))).filter((n) => n.endsWith('.json'))) {
      const key = decodeURIComponent(name.slice(0, -5))
      let meta: VersionMeta
      try {
        meta = JSON.parse(await readFile(join(current, env, name), 'utf8')) as VersionMeta
      } catch (error) {
        throw new Error(`cannot migrate ${join(current, env, name)}: ${(error as Error).message}`)
      }

      const log = await SegmentLog.open<VersionMeta, VersionRange>({dir: join(dataDir, 'journal', 'history', env, encodeURIComponent(key)), maxSegmentBytes: 1024 * 1024, summarize: summarizeVersions})
      if (meta.version <= (log.segments().at(-1)?.summary.last ?? 0)) continue
      await log.append(meta)
      reconciled.push({time: new Date().toISOString(), actor: 'stconf', action: 'reconcile', env, key, version: meta.version, detail: 'recorded after a restart'})
    }
  }

  if (reconciled.length > 0) {
    const audit = await SegmentLog.open({dir: join(dataDir, 'journal', 'audit'), maxSegmentBytes: 4 * 1024 * 1024, summarize: summarizeAudit})
    await audit.appendMany(reconciled)
  }

  await rm(current, {recursive: true, force: true})
  await syncDir(dataDir)
}

async function removeOldLayout(dataDir: string): Promise<void> {
  await rm(join(dataDir, 'history'), {recursive: true, force: true})
  for (const day of (await list(join(dataDir, 'audit'))).filter((n) => DAY_RE.test(n))) await rm(join(dataDir, 'audit', day), {force: true})
  await rmdir(join(dataDir, 'audit')).catch(() => undefined) // kept if something else is in it
  await syncDir(dataDir)
}
