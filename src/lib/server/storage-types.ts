// What serve stores beside the current content, behind small interfaces: routes and the center call
// these, so a database backend (PostgreSQL, for several serve processes) can replace the local files
// without touching a route. The local implementations are history.ts and audit.ts.
import type {VersionMeta} from '../model.js'

export interface AuditEntry {
  time: string
  actor: string
  action: string
  env?: string
  key?: string
  version?: number
  detail?: string
}

/** Every field narrows the result; all given fields must match. */
export interface AuditQuery {
  /** entries at or after this time */
  since?: Date
  /** at most this many, the newest ones (default 1000) */
  limit?: number
  env?: string
  /** entries of any of these envs (an env-scoped caller's view); entries without an env never match */
  envs?: string[]
  key?: string
  actor?: string
  action?: string
}

export interface AuditStore {
  /** Resolves, with the entry as stored (its time set), once it is durable. */
  record(entry: Omit<AuditEntry, 'time'>): Promise<AuditEntry>
  /** Matching entries, oldest first. */
  list(query?: AuditQuery): Promise<AuditEntry[]>
}

export interface StoredVersion {
  meta: VersionMeta
  content: Buffer
}

export interface HistoryStore {
  /** The highest version ever recorded for (env, key); 0 when none. */
  lastVersion(env: string, key: string): Promise<number>
  /** The newest version's meta; null when (env, key) has no history. */
  latest(env: string, key: string): Promise<VersionMeta | null>
  /** Resolves once the version and its content are durable; refuses a version that is not after the last one. */
  append(env: string, key: string, meta: VersionMeta, content: Buffer): Promise<void>
  get(env: string, key: string, version: number): Promise<VersionMeta | null>
  /** A version with its content; null when there is no such version. */
  read(env: string, key: string, version: number): Promise<StoredVersion | null>
  /** Newest first, at most `limit` (default 100). */
  list(env: string, key: string, limit?: number): Promise<VersionMeta[]>
  /** Every (env, key) that has history. */
  keys(): Promise<Array<{env: string; key: string}>>
}
