// Shapes shared by the agent, its sources, serve's agent routes and `stconf status`.
import type {VersionMeta} from '../model.js'
import type {ChangeStat} from './file-diff.js'

export type FileStatus = 'ok' | 'check-failed' | 'reload-failed' | 'pending' | 'error'

/** What one agent says about one of its files. */
export interface FileReport {
  key: string
  dest: string
  /** the version now in place (null: none applied yet) */
  version: number | null
  sha256: string | null
  status: FileStatus
  appliedAt: string | null
  /** the last error, null when the last attempt went well */
  error: string | null
  /** the version whose check or reload failed (not retried until a newer one), null when none */
  failedVersion?: number | null
  /** what the last applied change did to the file (since the agent started; absent from older agents) */
  lastChange?: LastChange | null
}

/** The diff stat of one applied version: `+2 -1` lines, or the sizes of a binary or large file. */
export interface LastChange extends ChangeStat {
  version: number
}

/** The instance report: an ephemeral znode (zk source) or a heartbeat body (http source). */
export interface InstanceReport {
  /** the instance name: <host>, <host>@<app> or <host>@<app>.<n> (model.ts) */
  instance: string
  host: string
  app?: string
  pid: number
  agentVersion: string
  startedAt: string
  updatedAt: string
  files: FileReport[]
}

export interface Current {
  meta: VersionMeta
  content: Buffer
}

/**
 * How a text log shows an event instead of `message key=value ...`: one sentence, and a unified
 * diff below it (coloured on a terminal). JSON logs ignore it: the fields carry the same.
 */
export interface LogText {
  line: string
  diff?: string
}

export interface Logger {
  info(message: string, fields?: Record<string, unknown>, text?: LogText): void
  warn(message: string, fields?: Record<string, unknown>, text?: LogText): void
  error(message: string, fields?: Record<string, unknown>, text?: LogText): void
}

export const silentLogger: Logger = {info() {}, warn() {}, error() {}}

/** Where an agent gets versions from: ZooKeeper or serve over HTTP. Everything after is shared. */
export interface Source {
  readonly description: string
  /**
   * Begin following `keys`: call `changed(key)` whenever a key may have changed (a watch fired, a
   * reconnect happened). Never throws because the center is down; it keeps retrying until `signal`.
   */
  start(keys: string[], changed: (key: string) => void, signal: AbortSignal): Promise<void>
  /** The current metas of `keys` (null: no such key); throws 'unavailable' while the center is down. */
  metas(keys: string[]): Promise<Map<string, VersionMeta | null>>
  /** Current content with its meta, sha256 verified; null when the key does not exist. */
  fetch(key: string): Promise<Current | null>
  /** Publish this agent's report (best effort; throws 'unavailable'). */
  report(report: InstanceReport): Promise<void>
  /** Stop watching and withdraw the instance report, saying it was a clean stop (`final`: the last report). */
  stop(final?: InstanceReport): Promise<void>
}
