// Moves a data dir written by stconf's first storage layout (lowdb files that were rewritten whole on
// every write) to the append-only journal, once, on the first start of a newer serve.
//
//   before: audit/<YYYY-MM-DD>.json            history/<env>/<key>/<NNNNNN>.json (1000 versions each)
//   after:  journal/audit/*.jsonl              journal/history/<env>/<key>/*.jsonl
//
// The journal is built beside the data in journal.migrating/ and renamed into place in one step, so a
// crash mid-migration leaves the old files as they were and the next start begins again. Only after
// the rename are the old files removed (a crash in between: the next start removes them).
import {readdir, readFile, rename, rm, rmdir, writeFile} from 'node:fs/promises'
import {join, resolve} from 'node:path'
import {badInput} from '../errors.js'
import {syncDir} from '../fs-atomic.js'
import type {VersionMeta} from '../model.js'
import {summarizeAudit, summarizeVersions} from './journal-summaries.js'
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

/** Migrates `dataDir` if it holds the old layout; returns what was moved, or null when nothing was. */
export async function migrateDataDir(dataDir: string): Promise<Migration | null> {
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

async function removeOldLayout(dataDir: string): Promise<void> {
  await rm(join(dataDir, 'history'), {recursive: true, force: true})
  for (const day of (await list(join(dataDir, 'audit'))).filter((n) => DAY_RE.test(n))) await rm(join(dataDir, 'audit', day), {force: true})
  await rmdir(join(dataDir, 'audit')).catch(() => undefined) // kept if something else is in it
  await syncDir(dataDir)
}
