// `push --wait` and `rollback --wait`: after publishing, wait until every online instance that follows
// the key has applied the version or failed it. Waiting is serve's long-poll (GET /api/v1/rollout),
// answered when a receipt changes; the client never polls instances.
import {StconfError} from '../errors.js'
import type {Receipt} from '../api/contract.js'
import type {ApiClient} from './api-client.js'

/** How long one long-poll is held at most; the overall limit is the caller's timeout. */
const HOLD_MS = 20_000

export interface RolloutProgress {
  applied: number
  failed: number
  pending: number
  /** instances waited for */
  total: number
}

export interface RolloutResult {
  env: string
  key: string
  version: number
  timedOut: boolean
  /** 0 all applied; 7 any failed; 8 pending at the timeout, or went offline meanwhile */
  exitCode: 0 | 7 | 8
  receipts: Receipt[]
}

const settled = (receipt: Receipt) => receipt.status !== 'pending'

export function progressOf(receipts: Receipt[]): RolloutProgress {
  const count = (status: Receipt['status']) => receipts.filter((r) => r.status === status).length
  return {applied: count('ok'), failed: count('failed'), pending: receipts.length - count('ok') - count('failed'), total: receipts.length}
}

export async function waitForRollout(
  client: ApiClient,
  target: {env: string; key: string; version: number},
  options: {timeoutMs: number; onProgress?: (progress: RolloutProgress) => void; now?: () => number},
): Promise<RolloutResult> {
  const now = options.now ?? Date.now
  const deadline = now() + options.timeoutMs
  // The instances waited for: those online when we start, and any that come online meanwhile. One
  // that was offline before the push cannot answer; it shows in `stconf status`, not here.
  const targets = new Set<string>()
  let seen: string | undefined
  let receipts: Receipt[] = []
  let last = ''
  for (;;) {
    const answer = await client.rollout(target.env, target.key, target.version, seen, seen === undefined ? 0 : Math.min(HOLD_MS, Math.max(0, deadline - now())))
    seen = answer.digest
    for (const receipt of answer.receipts) if (receipt.status !== 'offline' && receipt.status !== 'stopped') targets.add(receipt.instance)
    receipts = answer.receipts.filter((receipt) => targets.has(receipt.instance))
    const progress = progressOf(receipts)
    const line = JSON.stringify(progress)
    if (line !== last) options.onProgress?.(progress)
    last = line
    if (receipts.every(settled)) return result(target, receipts, false)
    if (now() >= deadline) return result(target, receipts, true)
  }
}

function result(target: {env: string; key: string; version: number}, receipts: Receipt[], timedOut: boolean): RolloutResult {
  const exitCode = receipts.some((r) => r.status === 'failed') ? 7 : receipts.some((r) => r.status === 'pending' || r.status === 'offline') ? 8 : 0
  return {...target, timedOut, exitCode, receipts}
}

/** The error whose exit code and line `--wait` ends with; undefined when every instance applied it. */
export function rolloutError(result: RolloutResult, timeoutText: string): StconfError | undefined {
  const names = (status: Receipt['status']) => result.receipts.filter((r) => r.status === status).map((r) => r.instance)
  const failed = names('failed')
  if (failed.length > 0) {
    return new StconfError('failed', `version ${result.version} of ${result.key} failed on ${failed.join(', ')}`, `see \`stconf status ${result.key} --env ${result.env}\`; fix and push again, or roll back`)
  }

  const pending = names('pending')
  const offline = names('offline')
  if (pending.length > 0 || offline.length > 0) {
    const parts = [...(pending.length > 0 ? [`${pending.join(', ')} still pending after ${timeoutText}`] : []), ...(offline.length > 0 ? [`${offline.join(', ')} went offline`] : [])]
    return new StconfError('not-converged', `not converged: ${parts.join('; ')}`, `see \`stconf status ${result.key} --env ${result.env}\``)
  }

  return undefined
}

export function progressText(progress: RolloutProgress): string {
  return `applied ${progress.applied}/${progress.total}, failed ${progress.failed}, pending ${progress.pending}`
}

/** One row per instance, grouped by host (receipts arrive sorted by host). */
export function receiptTable(receipts: Receipt[]): string[][] {
  return [['HOST', 'INSTANCE', 'STATUS', 'VERSION', 'ERROR'], ...receipts.map((r) => [r.host, r.instance, r.status, r.version === null ? '-' : String(r.version), r.error ?? ''])]
}
