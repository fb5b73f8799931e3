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
  /**
   * false while a commit cannot reach the store (ZooKeeper unreachable). The center then writes
   * nothing beside a commit, which fails on its own, so an outage does not use up version numbers.
   */
  readonly reachable?: boolean
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

export interface StoredVersion {
  meta: VersionMeta
  content: Buffer
}

/**
 * Version history with each version's content (serve's history.ts; a database backend later). The
 * embedded store keeps its current version as the newest history line, so the store layer defines it.
 */
export interface HistoryStore {
  /** The highest version ever recorded for (env, key); 0 when none. */
  lastVersion(env: string, key: string): Promise<number>
  /** The newest version's meta; null when (env, key) has no history. */
  latest(env: string, key: string): Promise<VersionMeta | null>
  /** Resolves once the version and its content are durable; refuses a version that is not after the last one. */
  append(env: string, key: string, meta: VersionMeta, content: Buffer): Promise<void>
  /**
   * Takes back an appended version whose store commit failed (it was written beside the commit):
   * readers no longer see it, and its number stays used. Resolves once that is durable.
   */
  withdraw(env: string, key: string, meta: VersionMeta, why: string): Promise<void>
  get(env: string, key: string, version: number): Promise<VersionMeta | null>
  /** A version with its content; null when there is no such version. */
  read(env: string, key: string, version: number): Promise<StoredVersion | null>
  /** Newest first, at most `limit` (default 100). */
  list(env: string, key: string, limit?: number): Promise<VersionMeta[]>
  /** Every (env, key) that has history. */
  keys(): Promise<Array<{env: string; key: string}>>
  /** Every env that has history. */
  envs(): Promise<string[]>
  /** Every key of an env with its newest meta, sorted by key. */
  latestOfEnv(env: string): Promise<Array<{key: string; meta: VersionMeta}>>
}
