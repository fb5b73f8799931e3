// The contract between the HTTP layer (routes) and the center's logic (center.ts).
import type {Role} from '../api/contract.js'
import type {VersionKind, VersionMeta} from '../model.js'

export type {Role} from '../api/contract.js'

/** What a route does; tokens.ts holds the one table of which roles may do it. */
export type Action = 'read' | 'view' | 'report' | 'write' | 'admin'

/** What a request is about: routes pass their params (env, host), and a scoped token is held to them. */
export interface Target {
  env?: string
  host?: string
}

/** A token may be limited to envs and, for role agent, to hosts matching patterns (undefined: all). */
export interface TokenScope {
  envs?: string[]
  hosts?: string[]
}

export interface Caller extends TokenScope {
  name: string
  role: Role
}

export interface Current {
  meta: VersionMeta
  content: Buffer
}

export interface PushInput {
  env: string
  key: string
  content: Buffer
  author: string
  message: string
  /** refuse with a conflict unless this is the current version (0 = key must not exist yet) */
  expectVersion?: number
  kind?: VersionKind
}

export interface PushResult {
  /** false when the bytes equal the current version: nothing was written */
  changed: boolean
  meta: VersionMeta
  /** true when this push made the env's first key */
  createdEnv?: boolean
}

export interface ChangeEvent {
  env: string
  key: string
  meta: VersionMeta
}

/** What serve knows and does; routes only translate HTTP to these calls. */
export interface CenterApi {
  readonly mode: 'embedded' | 'zookeeper'
  /** throws 'unavailable' (503) while the backing store cannot be reached */
  current(env: string, key: string): Promise<Current | null>
  meta(env: string, key: string): Promise<VersionMeta | null>
  push(input: PushInput): Promise<PushResult>
  /** called after every committed change (push, rollback, out-of-band) */
  onChange(listener: (event: ChangeEvent) => void): () => void
}

/** What serve hands to each group of routes. */
export interface RouteContext {
  center: CenterApi
  /** Checks the request's bearer token; throws StconfError 401 (missing/wrong) or 403 (role too low, or outside its scope). */
  authorize(headers: Record<string, string | string[] | undefined>, action: Action, target?: Target): Caller
  /** Records one line in the audit log. */
  audit(entry: {actor: string; action: string; env?: string; key?: string; version?: number; detail?: string}): Promise<void>
  /** every instance (ZooKeeper reports, http heartbeats, remembered ones), with onChange for live views */
  instances: import('./instance-registry.js').InstanceRegistry
  dataDir: string
}
