// Shapes shared by the agent, its sources, serve's agent routes and `stconf status`.
import type {InstanceReport} from '../api/contract.js'
import type {VersionMeta} from '../model.js'

// The report's shapes are wire types: defined once, in the API contract.
export type {FileReport, FileStatus, InstanceReport, LastChange} from '../api/contract.js'

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
