// `stconf status`: what every instance applied, one row per (instance, file).
import type {ApiClient} from '../client/api-client.js'
import {assertKnownEnv} from '../client/operations.js'
import {validateEnv, validateKey} from '../model.js'
import type {InstanceView} from '../server/agent-routes.js'
import type {FileStatus} from './types.js'

export interface StatusRow {
  host: string
  online: boolean
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
}

export async function fetchStatus(client: ApiClient, env: string, key?: string): Promise<StatusRow[]> {
  validateEnv(env)
  if (key !== undefined) validateKey(key)
  const query = key ? `?key=${encodeURIComponent(key)}` : ''
  const {instances} = await client.json<{instances: InstanceView[]}>('GET', `/api/v1/instances/${env}${query}`)
  if (instances.length === 0) await assertKnownEnv(client, env) // an env typo is not an empty fleet
  const rows: StatusRow[] = []
  for (const instance of instances) {
    const base = {
      host: instance.host,
      online: instance.online,
      lastSeen: instance.lastSeen,
      pid: instance.pid,
      agentVersion: instance.agentVersion,
      via: instance.via,
    }
    if (instance.files.length === 0) {
      rows.push({...base, key: null, dest: null, version: null, sha256: null, centerVersion: null, status: null, error: null, appliedAt: null, inSync: false})
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
      })
    }
  }

  return rows
}

export function statusTable(rows: StatusRow[]): string[][] {
  return [
    ['HOST', 'KEY', 'VERSION', 'CENTER', 'STATUS', 'IN SYNC', 'SEEN', 'ERROR'],
    ...rows.map((row) => [
      row.host,
      row.key ?? '-',
      row.version === null ? '-' : String(row.version),
      row.centerVersion === null ? '-' : String(row.centerVersion),
      row.status ?? '-',
      row.inSync ? 'yes' : 'no',
      row.online ? 'online' : `offline since ${row.lastSeen}`,
      row.error ?? '',
    ]),
  ]
}
