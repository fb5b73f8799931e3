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

export interface HistoryStore {
  /** Stores content by its sha256 (once); resolves once it is durable. */
  putBlob(content: Buffer): Promise<string>
  getBlob(hash: string): Promise<Buffer | null>
  /** The highest version ever recorded for (env, key); 0 when none. */
  lastVersion(env: string, key: string): Promise<number>
  /** Resolves once the version is durable; refuses a version that is not after the last one. */
  append(env: string, key: string, meta: VersionMeta): Promise<void>
  get(env: string, key: string, version: number): Promise<VersionMeta | null>
  /** Newest first, at most `limit` (default 100). */
  list(env: string, key: string, limit?: number): Promise<VersionMeta[]>
  /** Every (env, key) that has history. */
  keys(): Promise<Array<{env: string; key: string}>>
}
