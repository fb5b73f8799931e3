// Where the current content of each (env, key) lives. Two implementations (embedded, ZooKeeper) behind
// this one interface, checked by one shared conformance suite (test/integration/store-conformance.test.ts).
import type {VersionMeta} from '../model.js'

export interface StoredCurrent {
  meta: VersionMeta
  content: Buffer
}

/** A change made behind serve's back (straight in ZooKeeper). */
export interface ForeignChange {
  env: string
  key: string
  /** the bytes now in the store, null when the key's content node was deleted */
  content: Buffer | null
  /** a token for commitForeign: the store's own version of the content node */
  contentVersion: number
}

export interface ConfigStore {
  readonly mode: 'embedded' | 'zookeeper'
  /**
   * true when commit() is itself the history append (the embedded store keeps the current version as
   * the key's newest history line): the center then writes only the audit entry beside it.
   */
  readonly commitsHistory?: boolean
  start(): Promise<void>
  close(): Promise<void>
  get(env: string, key: string): Promise<StoredCurrent | null>
  getMeta(env: string, key: string): Promise<VersionMeta | null>
  /**
   * Replace the current content and meta together, all or nothing. `previous` is the version the
   * caller read (0 = none); a store that finds another one throws a conflict.
   */
  commit(env: string, key: string, content: Buffer, meta: VersionMeta, previous: number): Promise<void>
  envs(): Promise<string[]>
  /** Every key of an env with its current meta, sorted by key. */
  list(env: string): Promise<Array<{key: string; meta: VersionMeta}>>
  /**
   * Stores that can be written behind serve's back call `onForeign` for each such change; serve then
   * records it with commitForeign (meta only, guarded by the content version it saw).
   */
  watchForeign?(onForeign: (change: ForeignChange) => Promise<void>): void
  commitForeign?(change: ForeignChange, meta: VersionMeta, previous: number): Promise<void>
}
