// `stconf status`: what every instance applied, one row per (instance, file), grouped by host, and
// the fleet's verdict (exit 0 converged, 7 failed, 8 not converged; fleet.ts).
import type {FileStatus, ForgetAnswer, InstanceState, LastChange} from '../api/contract.js'
import type {ApiClient} from '../client/api-client.js'
import {assertKnownEnv} from '../client/operations.js'
import {StconfError} from '../errors.js'
import {sortByHost, verdictOf, type Verdict} from '../fleet.js'
import {validateEnv, validateInstanceName, validateKey} from '../model.js'
import {formatChangeShort} from './file-diff.js'

export interface StatusRow {
  instance: string
  host: string
  app?: string
  state: InstanceState
  online: boolean
  /** when it came online, or went offline / stopped */
  since: string
  lastSeen: string
  pid: number
  agentVersion: string
  via: 'zk' | 'http'
  key: string | null
  dest: string | null
  version: number | null
  sha256: string | null
  centerVersion: number | null
  status: FileStatus | null
  error: string | null
  appliedAt: string | null
  inSync: boolean
  /** the diff stat of the last change the agent applied */
  lastChange: LastChange | null
}

export interface StatusAnswer {
  rows: StatusRow[]
  verdict: Verdict
}

export async function fetchStatus(client: ApiClient, env: string, key?: string): Promise<StatusAnswer> {
  validateEnv(env)
  if (key !== undefined) validateKey(key)
  const instances = await client.instances(env, key)
  if (instances.length === 0) await assertKnownEnv(client, env) // an env typo is not an empty fleet
  const rows: StatusRow[] = []
  for (const instance of sortByHost(instances)) {
    const base = {
      instance: instance.instance,
      host: instance.host,
      ...(instance.app ? {app: instance.app} : {}),
      state: instance.state,
      online: instance.online,
      since: instance.since,
      lastSeen: instance.lastSeen,
      pid: instance.pid,
      agentVersion: instance.agentVersion,
      via: instance.via,
    }
    if (instance.files.length === 0) {
      rows.push({...base, key: null, dest: null, version: null, sha256: null, centerVersion: null, status: null, error: null, appliedAt: null, inSync: false, lastChange: null})
    }

    for (const file of instance.files) {
      rows.push({
        ...base,
        key: file.key,
        dest: file.dest,
        version: file.version,
        sha256: file.sha256,
        centerVersion: file.centerVersion,
        status: file.status,
        error: file.error,
        appliedAt: file.appliedAt,
        // an offline agent's last word is not the truth about now
        inSync: file.inSync && instance.online,
        lastChange: file.lastChange ?? null,
      })
    }
  }

  return {rows, verdict: verdictOf(instances)}
}

/** Why status does not exit 0, as the error whose exit code it takes; undefined when converged. */
export function verdictError(verdict: Verdict, env: string): StconfError | undefined {
  const list = (names: string[]) => `${names.slice(0, 5).join(', ')}${names.length > 5 ? `, and ${names.length - 5} more` : ''}`
  if (verdict.exitCode === 7) return new StconfError('failed', `failed on ${list(verdict.failed)}`, 'see the ERROR column; fix the config and push again, or roll back')
  if (verdict.exitCode === 8) {
    return new StconfError('not-converged', `not converged: ${list(verdict.notConverged)} pending or offline`, `wait, or \`stconf status --forget <instance> --env ${env}\` for a host that is gone for good`)
  }

  return undefined
}

export async function forgetInstance(client: ApiClient, env: string, instance: string): Promise<ForgetAnswer> {
  validateEnv(env)
  validateInstanceName(instance)
  return client.forget(env, instance)
}

function stateCell(row: StatusRow): string {
  if (row.state === 'offline') return `offline since ${row.since}`
  if (row.state === 'stopped') return `stopped since ${row.since}`
  return row.state
}

/** One block per host: the host is written on its first row only. */
export function statusTable(rows: StatusRow[]): string[][] {
  return [
    ['HOST', 'INSTANCE', 'STATE', 'KEY', 'VERSION', 'CHANGE', 'CENTER', 'STATUS', 'ERROR'],
    ...rows.map((row, i) => [
      i > 0 && rows[i - 1].host === row.host ? '' : row.host,
      row.instance,
      stateCell(row),
      row.key ?? '-',
      row.version === null ? '-' : String(row.version),
      formatChangeShort(row.lastChange),
      row.centerVersion === null ? '-' : String(row.centerVersion),
      row.status ?? '-',
      row.error ?? '',
    ]),
  ]
}
