// The parts of the HTTP contract that every request needs, kept free of zod so the CLI's start-up
// path (`pull`: a GET, headers and bytes) never loads a schema library: the metadata headers of a
// version, text in headers, and keys in URLs and file names. The bodies are in contract.ts.
import type {ContentMeta, VersionKind} from './contract.js'

/** The response headers of GET /api/v1/config/:env/<key> (docs/api.md), lower case as node:http gives them. */
export const META_HEADERS = {
  version: 'x-stconf-version',
  sha256: 'x-stconf-sha256',
  author: 'x-stconf-author',
  time: 'x-stconf-time',
  kind: 'x-stconf-kind',
} as const

/** PUT /api/v1/config/:env/<key>: the push's message (URL-encoded text). */
export const MESSAGE_HEADER = 'x-stconf-message'

const KINDS: readonly VersionKind[] = ['push', 'rollback', 'out-of-band']

/** Text in a header, URL-encoded: header values are Latin-1, authors and messages are UTF-8. */
export function encodeText(text: string): string {
  return encodeURIComponent(text)
}

/** The text of a URL-encoded header; a value that is not valid encoding is taken as it is. */
export function decodeText(value: string | string[] | undefined): string {
  const raw = Array.isArray(value) ? value[0] : value
  if (!raw) return ''
  try {
    return decodeURIComponent(raw)
  } catch {
    return raw
  }
}

/** A version's meta as the headers of its content (with `ETag: "<version>"`). */
export function metaHeaders(meta: ContentMeta): Record<string, string> {
  return {
    [META_HEADERS.version]: String(meta.version),
    [META_HEADERS.sha256]: meta.sha256,
    [META_HEADERS.author]: encodeText(meta.author),
    [META_HEADERS.time]: meta.time,
    [META_HEADERS.kind]: meta.kind,
    etag: `"${meta.version}"`,
  }
}

/**
 * The meta of content of `size` bytes, read from its headers (metaHeaders' inverse); null when a
 * header is missing or malformed: the answer did not come from a stconf serve (a proxy's page).
 */
export function metaFromHeaders(header: (name: string) => string | string[] | undefined, size: number): ContentMeta | null {
  const one = (name: string) => {
    const value = header(name)
    return (Array.isArray(value) ? value[0] : value) ?? ''
  }

  const version = Number(one(META_HEADERS.version))
  const sha256 = one(META_HEADERS.sha256)
  const kind = one(META_HEADERS.kind) as VersionKind
  if (!Number.isSafeInteger(version) || version < 1 || !/^[0-9a-f]{64}$/.test(sha256) || !KINDS.includes(kind)) return null
  return {version, sha256, size, author: decodeText(one(META_HEADERS.author)), time: one(META_HEADERS.time), kind}
}

/** `<env>/<key>` for a URL path: each segment percent-encoded, the key's slashes kept (routes match `:env/*`). */
export function keyPath(env: string, key: string): string {
  return `${encodeURIComponent(env)}/${key.split('/').map(encodeURIComponent).join('/')}`
}

/** A key as one file-name-safe path segment (serve's data dir: history logs, the embedded store's current files). */
export function encodeKey(key: string): string {
  return encodeURIComponent(key)
}

export function decodeKey(segment: string): string {
  return decodeURIComponent(segment)
}
