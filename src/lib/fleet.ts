// What the fleet looks like to an operator: the state of each instance, the verdict (exit code) of
// `status`, and the receipts of `push --wait`. Pure functions over reports, shared by serve (which
// computes views) and the CLI (which turns them into exit codes). States and exit codes are settled
// in design.md, "Rules several issues share".
import type {FileReport, FileView, InstanceState, InstanceView, Receipt} from './api/contract.js'

// The views and receipts are wire types (GET /api/v1/instances, /rollout): defined in the API contract.
export type {FileView, InstanceState, InstanceView, Receipt, ReceiptStatus, RolloutAnswer} from './api/contract.js'

/** online: its report node exists / heartbeats arrive; offline: vanished; stopped: withdrew cleanly */
export type Presence = 'online' | 'offline' | 'stopped'

/** A file whose last attempt failed: check, reload, or the write itself (kept the old file). */
export function fileFailed(file: FileReport): boolean {
  return file.status === 'check-failed' || file.status === 'reload-failed' || file.status === 'error'
}

export function stateOf(presence: Presence, files: FileView[]): InstanceState {
  if (presence !== 'online') return presence
  if (files.some((file) => fileFailed(file))) return 'failed'
  if (files.some((file) => !file.inSync)) return 'pending'
  return 'ok'
}

export interface Verdict {
  /** 0 converged; 7 an instance failed; 8 pending or offline instances */
  exitCode: 0 | 7 | 8
  failed: string[]
  /** pending or offline */
  notConverged: string[]
}

/** Exit 7 if any instance failed, else 8 if any is pending or offline, else 0 (stopped ones do not count). */
export function verdictOf(instances: Array<{instance: string; state: InstanceState}>): Verdict {
  const failed = instances.filter((i) => i.state === 'failed').map((i) => i.instance)
  const notConverged = instances.filter((i) => i.state === 'pending' || i.state === 'offline').map((i) => i.instance)
  return {exitCode: failed.length > 0 ? 7 : notConverged.length > 0 ? 8 : 0, failed, notConverged}
}

/** null when the instance does not follow `key`. */
export function receiptOf(view: InstanceView, key: string, version: number): Receipt | null {
  const file = view.files.find((f) => f.key === key)
  if (!file) return null
  const base = {instance: view.instance, host: view.host, version: file.version, error: null}
  if (view.state === 'offline' || view.state === 'stopped') return {...base, status: view.state}
  if (file.status === 'ok' && file.version !== null && file.version >= version) return {...base, status: 'ok'}
  // A failure of an older version is not an answer about this one: only a failure of N (or newer) is.
  const failedNow = (file.failedVersion ?? 0) >= version || (file.status === 'error' && (file.failedVersion ?? null) === null)
  if (fileFailed(file) && failedNow) return {...base, status: 'failed', error: file.error}
  return {...base, status: 'pending'}
}

/** Receipts sorted so that one host's instances are together. */
export function sortByHost<T extends {host: string; instance: string}>(items: T[]): T[] {
  return [...items].sort((a, b) => a.host.localeCompare(b.host) || a.instance.localeCompare(b.instance))
}
