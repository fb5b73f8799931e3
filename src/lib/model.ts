// Names, versions and content rules shared by serve, the CLI and the agent.
import {createHash} from 'node:crypto'
import {badInput, StconfError} from './errors.js'

export const DEFAULT_MAX_BYTES = 1024 * 1024
const ENV_RE = /^[a-z0-9][a-z0-9_-]{0,31}$/
const SEGMENT_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
const MAX_KEY_LENGTH = 512

export type VersionKind = 'push' | 'rollback' | 'out-of-band'

/** What is recorded for every version of (env, key). */
export interface VersionMeta {
  version: number
  sha256: string
  size: number
  author: string
  message: string
  time: string // ISO 8601
  kind: VersionKind
}

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
