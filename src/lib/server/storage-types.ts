// What serve stores beside the current content, behind small interfaces: routes and the center call
// these, so a database backend (PostgreSQL, for several serve processes) can replace the local files
// without touching a route. The local implementations are history.ts and audit.ts.
import type {AuditEntry} from '../api/contract.js'

// An audit entry is a wire type (GET /api/v1/audit, the event stream): defined in the API contract.
export type {AuditEntry} from '../api/contract.js'
// History lives beside the embedded store's current content, which keeps its blobs there: the store
// layer (below serve) defines the interface.
export type {HistoryStore, StoredVersion} from '../store/types.js'

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
