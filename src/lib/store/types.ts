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

/** Version history and content blobs (serve's history.ts; a database backend later). */
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
