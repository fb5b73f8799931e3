// The HTTP client every operator command (and the agent's http source) uses to talk to serve.
import {badInput, fromHttp, unavailable} from '../errors.js'
import type {VersionMeta} from '../model.js'
import type {AuditEntry} from '../server/storage-types.js'
import type {RolloutAnswer} from '../fleet.js'

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
          headers: {...headers, ...(this.token ? {authorization: `Bearer ${this.token}`} : {}), ...(body === undefined ? {} : {'content-length': String(Buffer.byteLength(body))})},
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
    if (!answer.ok) {
      let parsed: {error?: string; message?: string; hint?: string}
      try {
        parsed = answer.json()
      } catch {
        parsed = {message: `${this.server} answered HTTP ${answer.status} ${answer.text().slice(0, 200)}`}
      }

      throw fromHttp(answer.status, parsed)
    }

    return answer
  }
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
