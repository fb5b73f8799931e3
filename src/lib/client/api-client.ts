// The HTTP client of the operator commands, `stconf status`, `push --wait` and the TUI (its event
// stream too). The agent's http source still talks to serve through fetch (source-http.ts).
import {badInput, fromHttp, isStconfError, unavailable, type StconfError} from '../errors.js'
import type {VersionMeta} from '../model.js'
import type {AuditEntry} from '../server/storage-types.js'
import type {RolloutAnswer} from '../fleet.js'
import {SseParser, type SseEvent} from './sse-parser.js'

export type {AuditEntry}

export interface ClientOptions {
  server: string
  token?: string
  timeoutMs?: number
}

export interface PushAnswer extends VersionMeta {
  changed: boolean
  env: string
  key: string
  /** present (true) when this push made the env's first key */
  createdEnv?: boolean
}

export interface EnvEntry {
  env: string
  /** keys the env holds now */
  keys: number
}

/** Filters of GET /api/v1/audit (docs/api.md); serve applies them. */
export interface AuditFilter {
  since?: string
  limit?: number
  env?: string
  key?: string
  actor?: string
  action?: string
}

export interface KeyEntry extends VersionMeta {
  key: string
}

/** A token as `token list` shows it; envs/hosts only on scoped tokens. */
export interface TokenInfo {
  name: string
  role: string
  created: string
  envs?: string[]
  hosts?: string[]
}

export interface CreatedToken {
  name: string
  role: string
  envs?: string[]
  hosts?: string[]
  token: string
}


/** The server's base URL without a trailing slash; one line naming what is wrong otherwise. */
export function parseServerUrl(raw: string): string {
  const hint = 'use a URL like http://127.0.0.1:7070 (--server or STCONF_SERVER)'
  if (!/^https?:\/\//i.test(raw)) throw badInput(`invalid --server "${raw}": the URL needs http:// or https://`, hint)
  try {
    new URL(raw)
  } catch {
    throw badInput(`invalid --server "${raw}": not a URL`, hint)
  }

  return raw.replace(/\/+$/, '')
}

const keyPath = (env: string, key: string) => `${encodeURIComponent(env)}/${key.split('/').map(encodeURIComponent).join('/')}`

export class ApiClient {
  readonly server: string
  private readonly token?: string
  private readonly timeoutMs: number

  constructor(options: ClientOptions) {
    this.server = parseServerUrl(options.server)
    this.token = options.token
    this.timeoutMs = options.timeoutMs ?? 30_000
  }

  async getConfig(env: string, key: string, version?: number): Promise<{meta: VersionMeta; content: Buffer}> {
    const response = await this.request('GET', `/api/v1/config/${keyPath(env, key)}${version ? `?version=${version}` : ''}`)
    const content = response.body
    const header = (name: string) => response.header(name)
    return {
      content,
      meta: {
        version: Number(header('x-stconf-version')),
        sha256: header('x-stconf-sha256'),
        size: content.length,
        author: decodeURIComponent(header('x-stconf-author')),
        message: '',
        time: header('x-stconf-time'),
        kind: header('x-stconf-kind') as VersionMeta['kind'],
      },
    }
  }

  async push(env: string, key: string, content: Buffer, message: string, expectVersion?: number): Promise<PushAnswer> {
    const headers: Record<string, string> = {'content-type': 'application/octet-stream', 'x-stconf-message': encodeURIComponent(message)}
    if (expectVersion !== undefined) headers['if-match'] = `"${expectVersion}"`
    return this.json('PUT', `/api/v1/config/${keyPath(env, key)}`, content, headers)
  }

  async history(env: string, key: string, limit?: number): Promise<VersionMeta[]> {
    const answer = await this.json<{versions: VersionMeta[]}>('GET', `/api/v1/history/${keyPath(env, key)}${limit ? `?limit=${limit}` : ''}`)
    return answer.versions
  }

  async rollback(env: string, key: string, to: number, message?: string): Promise<PushAnswer> {
    return this.json('POST', `/api/v1/rollback/${keyPath(env, key)}`, JSON.stringify({to, ...(message ? {message} : {})}))
  }

  async keys(env: string, prefix?: string): Promise<KeyEntry[]> {
    const query = prefix ? `?prefix=${encodeURIComponent(prefix)}` : ''
    return (await this.json<{keys: KeyEntry[]}>('GET', `/api/v1/keys/${encodeURIComponent(env)}${query}`)).keys
  }

  async envs(): Promise<EnvEntry[]> {
    return (await this.json<{envs: EnvEntry[]}>('GET', '/api/v1/envs')).envs
  }

  async instanceCount(env: string): Promise<number> {
    return (await this.json<{instances: unknown[]}>('GET', `/api/v1/instances/${encodeURIComponent(env)}`)).instances.length
  }

  /** The audit log, filtered by serve: every field given narrows the result. */
  async audit(filter: AuditFilter = {}): Promise<AuditEntry[]> {
    const query = new URLSearchParams()
    for (const [name, value] of Object.entries(filter)) if (value !== undefined) query.set(name, String(value))
    return (await this.json<{entries: AuditEntry[]}>('GET', `/api/v1/audit?${query}`)).entries
  }

  async createToken(name: string, role: string, scope: {envs?: string[]; hosts?: string[]} = {}): Promise<CreatedToken> {
    return this.json('POST', '/api/v1/tokens', JSON.stringify({name, role, ...scope}))
  }

  /**
   * Receipts of a rollout (env, key, version). With `seen` (the previous answer's digest) serve holds
   * the request until the receipts change or `holdMs` passes: a long-poll fed by serve's notifications.
   */
  async rollout(env: string, key: string, version: number, seen: string | undefined, holdMs: number): Promise<RolloutAnswer> {
    const query = new URLSearchParams({version: String(version), timeoutMs: String(Math.max(0, Math.round(holdMs)))})
    if (seen) query.set('seen', seen)
    const answer = await this.request('GET', `/api/v1/rollout/${keyPath(env, key)}?${query}`, undefined, {}, AbortSignal.timeout(holdMs + this.timeoutMs))
    return answer.json<RolloutAnswer>()
  }


  async listTokens(): Promise<TokenInfo[]> {
    return (await this.json<{tokens: TokenInfo[]}>('GET', '/api/v1/tokens')).tokens
  }

  async revokeToken(name: string): Promise<void> {
    await this.json('DELETE', `/api/v1/tokens/${encodeURIComponent(name)}`)
  }

  /**
   * Reads the live feed of `env` (GET /api/v1/events, Server-Sent Events), calling `onEvent` for each
   * event, until serve ends the stream (resolves) or `signal` aborts (resolves). Rejects with the
   * server's error (401, 400 ...) or 'unavailable' when serve cannot be reached, the connection
   * drops, or nothing arrives for `idleMs` (serve sends a heartbeat every 15 s, so a silent stream is
   * a half-open connection).
   */
  async events(env: string, options: {onEvent(event: SseEvent): void; lastEventId?: string; signal?: AbortSignal; idleMs?: number}): Promise<void> {
    const {onEvent, signal} = options
    const idleMs = options.idleMs ?? 45_000
    const url = new URL(`${this.server}/api/v1/events?env=${encodeURIComponent(env)}`)
    const transport = url.protocol === 'https:' ? await import('node:https') : await import('node:http')
    const lost = (cause: string) => unavailable(`lost the event stream of ${this.server} (${cause})`, 'is `stconf serve` running? check --server or STCONF_SERVER')
    await new Promise<void>((resolve, reject) => {
      let idle: NodeJS.Timeout | undefined
      const request = transport.request(url, {
        method: 'GET',
        headers: {accept: 'text/event-stream', ...this.authHeader(), ...(options.lastEventId ? {'last-event-id': options.lastEventId} : {})},
        signal,
      })
      const stall = () => {
        clearTimeout(idle)
        idle = setTimeout(() => request.destroy(lost(`nothing for ${idleMs} ms`)), idleMs)
      }

      const finish = (error?: Error) => {
        clearTimeout(idle)
        if (error && !signal?.aborted) reject(error)
        else resolve()
      }

      stall()
      request.on('error', (error: NodeJS.ErrnoException) => finish(isStconfError(error) ? error : unavailable(`cannot reach the stconf server at ${this.server} (${error.code ?? error.message})`, 'is `stconf serve` running? check --server or STCONF_SERVER')))
      request.on('response', (response) => {
        if ((response.statusCode ?? 0) >= 300) {
          const chunks: Buffer[] = []
          response.on('data', (chunk: Buffer) => chunks.push(chunk))
          response.on('end', () => finish(errorOf(response.statusCode ?? 0, Buffer.concat(chunks), this.server)))
          return
        }

        const parser = new SseParser()
        response.on('data', (chunk: Buffer) => {
          stall()
          for (const event of parser.push(chunk)) onEvent(event)
        })
        response.on('error', () => finish(lost('connection reset')))
        response.on('end', () => finish())
        response.on('close', () => finish(response.complete ? undefined : lost('connection closed')))
      })
      request.end()
    })
  }

  async json<T>(method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<T> {
    const response = await this.request(method, path, body, {'content-type': 'application/json', ...headers})
    return response.json<T>()
  }

  /**
   * One request; a non-2xx answer becomes the StconfError the server described.
   * node:http rather than fetch: fetch loads undici on first use, ~25 ms of every CLI start-up.
   */
  async request(method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<HttpAnswer> {
    const url = new URL(`${this.server}${path}`)
    const transport = url.protocol === 'https:' ? await import('node:https') : await import('node:http')
    const answer = await new Promise<HttpAnswer>((resolve, reject) => {
      const request = transport.request(
        url,
        {
          method,
          headers: {...headers, ...this.authHeader(), ...(body === undefined ? {} : {'content-length': String(Buffer.byteLength(body))})},
          signal: signal ?? AbortSignal.timeout(this.timeoutMs),
        },
        (response) => {
          const chunks: Buffer[] = []
          response.on('data', (chunk: Buffer) => chunks.push(chunk))
          response.on('error', reject)
          response.on('end', () => resolve(new HttpAnswer(response.statusCode ?? 0, response.headers, Buffer.concat(chunks))))
        },
      )
      request.on('error', (error: NodeJS.ErrnoException) => {
        if (signal?.aborted) return reject(error)
        const cause = error.code ?? error.name ?? error.message
        reject(unavailable(`cannot reach the stconf server at ${this.server} (${cause})`, 'is `stconf serve` running? check --server or STCONF_SERVER'))
      })
      request.end(body)
    })
    if (!answer.ok) throw errorOf(answer.status, answer.body, this.server)
    return answer
  }

  private authHeader(): Record<string, string> {
    return this.token ? {authorization: `Bearer ${this.token}`} : {}
  }
}

/** A non-2xx answer as the StconfError the server described in its JSON body. */
function errorOf(status: number, body: Buffer, server: string): StconfError {
  let parsed: {error?: string; message?: string; hint?: string}
  try {
    parsed = JSON.parse(body.toString('utf8')) as typeof parsed
  } catch {
    parsed = {message: `${server} answered HTTP ${status} ${body.toString('utf8').slice(0, 200)}`}
  }

  return fromHttp(status, parsed)
}

export class HttpAnswer {
  constructor(
    readonly status: number,
    private readonly rawHeaders: Record<string, string | string[] | undefined>,
    readonly body: Buffer,
  ) {}

  get ok(): boolean {
    return this.status >= 200 && this.status < 300
  }

  header(name: string): string {
    const value = this.rawHeaders[name.toLowerCase()]
    return (Array.isArray(value) ? value[0] : value) ?? ''
  }

  text(): string {
    return this.body.toString('utf8')
  }

  json<T>(): T {
    return JSON.parse(this.text()) as T
  }
}
