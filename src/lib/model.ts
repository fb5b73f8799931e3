// Names, versions and content rules shared by serve, the CLI and the agent.
import {createHash} from 'node:crypto'
import {badInput, StconfError} from './errors.js'

export const DEFAULT_MAX_BYTES = 1024 * 1024
const ENV_RE = /^[a-z0-9][a-z0-9_-]{0,31}$/
const SEGMENT_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
const MAX_KEY_LENGTH = 512

// The wire types are defined once, in the API contract; model.ts keeps the rules for names and versions.
export type {VersionKind, VersionMeta} from './api/contract.js'

export function validateEnv(env: string): string {
  if (!ENV_RE.test(env)) {
    throw badInput(
      `invalid env "${env}"`,
      'an env is 1-32 characters: lowercase letters, digits, "-" and "_", starting with a letter or digit',
    )
  }

  return env
}

/** Throws a one-line error unless `key` is a safe relative path `app/file[/...]`. */
export function validateKey(key: string): string {
  const hint = 'a key is a relative path with at least two segments, like game/conf.ini'
  if (key.length === 0) throw badInput('empty key', hint)
  if (key.length > MAX_KEY_LENGTH) throw badInput(`key is longer than ${MAX_KEY_LENGTH} characters`, hint)
  if (key.startsWith('/')) throw badInput(`invalid key "${key}": absolute paths are not keys`, hint)
  const segments = key.split('/')
  if (segments.length < 2) throw badInput(`invalid key "${key}": it needs an app and a file name`, hint)
  for (const segment of segments) {
    if (segment === '') throw badInput(`invalid key "${key}": empty path segment`, hint)
    if (segment === '..' || segment === '.') throw badInput(`invalid key "${key}": "${segment}" segments are not allowed`, hint)
    if (segment.startsWith('.')) throw badInput(`invalid key "${key}": segments may not start with "."`, hint)
    if (!SEGMENT_RE.test(segment)) {
      throw badInput(`invalid key "${key}": segment "${segment}" has characters outside A-Z a-z 0-9 . _ -`, hint)
    }
  }

  return key
}

export function parseVersion(raw: string | number | undefined, what = 'version'): number {
  const n = typeof raw === 'number' ? raw : Number(raw)
  if (raw === undefined || raw === '' || !Number.isSafeInteger(n) || n < 1) {
    throw badInput(`invalid ${what} "${raw}"`, 'versions are whole numbers from 1')
  }

  return n
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

export function checkSize(bytes: Uint8Array, maxBytes: number): void {
  if (bytes.length > maxBytes) {
    throw new StconfError(
      'too-large',
      `content is ${bytes.length} bytes, over the limit of ${maxBytes} bytes (${formatBytes(maxBytes)})`,
      'split the file, or raise the limit with `stconf serve --max-bytes` (ZooKeeper holds at most ~1 MiB per node)',
    )
  }
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`
  return `${n} B`
}

// Instance names (design.md, "Rules several issues share"): `<host>` for the host's agent,
// `<host>@<app>` for an app (or a second agent with `app:`), `<host>@<app>.<n>` where several
// processes of one app share a host. Hosts may contain dots, so `.<n>` only follows an app.
export const HOST_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/
export const APP_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}(\.\d{1,6})?$/
const INSTANCE_RE = /^([A-Za-z0-9][A-Za-z0-9._-]{0,127})(?:@([A-Za-z0-9][A-Za-z0-9_-]{0,63})(?:\.(\d{1,6}))?)?$/
const INSTANCE_HINT = 'an instance is <host>, <host>@<app> or <host>@<app>.<n> (host: letters, digits, ".", "_", "-"; app: letters, digits, "_", "-")'

export interface InstanceName {
  host: string
  app?: string
  /** the process number when several processes of one app share a host */
  n?: number
}

export function parseInstanceName(name: string): InstanceName {
  const match = INSTANCE_RE.exec(name)
  if (!match) throw badInput(`invalid instance "${name}"`, INSTANCE_HINT)
  const [, host, app, n] = match
  return {host, ...(app ? {app} : {}), ...(n === undefined ? {} : {n: Number(n)})}
}

export function validateInstanceName(name: string): string {
  parseInstanceName(name)
  return name
}

/** `app` may carry its `.<n>` already (an agent config's `app: game.2`). */
export function formatInstanceName(host: string, app?: string, n?: number): string {
  if (!app) return host
  return n === undefined ? `${host}@${app}` : `${host}@${app}.${n}`
}
