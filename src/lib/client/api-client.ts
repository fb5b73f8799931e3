// The one HTTP client of stconf: the operator commands, `stconf status`, `push --wait`, the TUI (its
// event stream too) and the agent's http source (agent/source-http.ts). Every answer has its type
// from the API contract (api/contract.ts), and an error answer becomes the StconfError it describes.
//
// With `checkAnswers` the client also checks each JSON answer against the contract's schema. The
// agent does (its config validation has loaded zod already, so checking adds the contract's 15 KiB
// chunk); the CLI does not: zod is ~650 KiB of code to evaluate, which made every `push` start ~30%
// slower (docs/bench.md), and serve, the other side of this contract, checks what it receives.
// A `pull` (headers and bytes, api/wire.ts) never needs a schema either way.
import type * as Contract from '../api/contract.js'
import type {
  AuditFilter,
  ContentMeta,
  CreatedToken,
  EnvEntry,
  ErrorBody,
  ForgetAnswer,
  HeartbeatRequest,
  InstanceReport,
  InstanceView,
  KeyEntry,
  PushAnswer,
  RolloutAnswer,
  TokenInfo,
  TokenCreateRequest,
  VersionMeta,
  WatchAnswer,
  WatchRequest,
  WithdrawRequest,
} from '../api/contract.js'
import {encodeText, keyPath, MESSAGE_HEADER, metaFromHeaders} from '../api/wire.js'
import {badInput, fromHttp, isStconfError, StconfError, unavailable} from '../errors.js'
import {SseParser, type SseEvent} from './sse-parser.js'
import type {z} from 'zod/mini'

export type {AuditEntry, AuditFilter, CreatedToken, EnvEntry, KeyEntry, PushAnswer, TokenInfo} from '../api/contract.js'

type ContractModule = typeof Contract
/** A schema of the contract, picked once the contract is loaded. */
type Schema<T> = (contract: ContractModule) => z.core.$ZodType<T>

let contractModule: Promise<ContractModule> | undefined
/** The contract's schemas: a chunk of their own in the bundle, evaluated on the first checked answer. */
const loadContract = () => (contractModule ??= import('../api/contract.js'))

type Transport = Pick<typeof import('node:http'), 'request'>
const transports: {http?: Promise<Transport>; https?: Promise<Transport>} = {}
/** node:http or node:https, loaded on the first request (an `await import()` per request cost ~0.2 ms). */
const loadTransport = (url: URL): Promise<Transport> =>
  url.protocol === 'https:' ? (transports.https ??= import('node:https')) : (transports.http ??= import('node:http'))

const CLI_HINT = 'is `stconf serve` running? check --server or STCONF_SERVER'

export interface ClientOptions {
  server: string
  token?: string
  /** deadline of one request (default 30 s; a long-poll gets its hold on top) */
  timeoutMs?: number
  /** what to check when serve cannot be reached, in the caller's words (default: the CLI's flags) */
  unreachableHint?: string
  /** check every JSON answer against the contract's schema (loads zod; see above) */
  checkAnswers?: boolean
}

export interface RequestOptions {
  headers?: Record<string, string>
  /** the caller's abort: the request then rejects with the abort itself, not a StconfError */
  signal?: AbortSignal
  /** this request's deadline instead of the client's */
  timeoutMs?: number
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

export class ApiClient {
  readonly server: string
  private readonly token?: string
  private readonly timeoutMs: number
  private readonly unreachableHint: string
  private readonly checkAnswers: boolean

  constructor(options: ClientOptions) {
    this.checkAnswers = options.checkAnswers ?? false
    this.server = parseServerUrl(options.server)
    this.token = options.token
    this.timeoutMs = options.timeoutMs ?? 30_000
    this.unreachableHint = options.unreachableHint ?? CLI_HINT
  }

  /** A version's bytes and the meta its headers carry (no message: `history` has it). */
  async getConfig(env: string, key: string, version?: number, options: RequestOptions = {}): Promise<{meta: ContentMeta; content: Buffer}> {
    const path = `/api/v1/config/${keyPath(env, key)}${version ? `?version=${version}` : ''}`
    const response = await this.request('GET', path, undefined, options)
    const meta = metaFromHeaders((name) => response.header(name), response.body.length)
    if (!meta) throw this.unexpected(`GET ${path}`, 'its version headers are missing or malformed')
    return {meta, content: response.body}
  }

  async push(env: string, key: string, content: Buffer, message: string, expectVersion?: number): Promise<PushAnswer> {
    const headers: Record<string, string> = {'content-type': 'application/octet-stream', [MESSAGE_HEADER]: encodeText(message)}
    if (expectVersion !== undefined) headers['if-match'] = `"${expectVersion}"`
    return this.answer('PUT', `/api/v1/config/${keyPath(env, key)}`, (c) => c.pushAnswer, content, {headers})
  }

  async history(env: string, key: string, limit?: number): Promise<VersionMeta[]> {
    const answer = await this.answer('GET', `/api/v1/history/${keyPath(env, key)}${limit ? `?limit=${limit}` : ''}`, (c) => c.historyAnswer)
    return answer.versions
  }

  async rollback(env: string, key: string, to: number, message?: string): Promise<PushAnswer> {
    return this.answer('POST', `/api/v1/rollback/${keyPath(env, key)}`, (c) => c.pushAnswer, jsonBody<Contract.RollbackRequest>({to, ...(message ? {message} : {})}))
  }

  async keys(env: string, prefix?: string): Promise<KeyEntry[]> {
    const query = prefix ? `?prefix=${encodeURIComponent(prefix)}` : ''
    return (await this.answer('GET', `/api/v1/keys/${encodeURIComponent(env)}${query}`, (c) => c.keysAnswer)).keys
  }

  async envs(): Promise<EnvEntry[]> {
    return (await this.answer('GET', '/api/v1/envs', (c) => c.envsAnswer)).envs
  }

  /** Every instance of `env` (only those following `key`, if given), as serve sees them. */
  async instances(env: string, key?: string): Promise<InstanceView[]> {
    const query = key ? `?key=${encodeURIComponent(key)}` : ''
    return (await this.answer('GET', `/api/v1/instances/${encodeURIComponent(env)}${query}`, (c) => c.instancesAnswer)).instances
  }

  async instanceCount(env: string): Promise<number> {
    return (await this.instances(env)).length
  }

  async forget(env: string, instance: string): Promise<ForgetAnswer> {
    return this.answer('POST', `/api/v1/instances/${encodeURIComponent(env)}/${encodeURIComponent(instance)}/forget`, (c) => c.forgetAnswer, '{}')
  }

  /** The audit log, filtered by serve: every field given narrows the result. */
  async audit(filter: AuditFilter = {}): Promise<Contract.AuditEntry[]> {
    const query = new URLSearchParams()
    for (const [name, value] of Object.entries(filter)) if (value !== undefined) query.set(name, String(value))
    return (await this.answer('GET', `/api/v1/audit?${query}`, (c) => c.auditAnswer)).entries
  }

  /** `role` as the operator typed it: serve refuses one that is not a role. */
  async createToken(name: string, role: string, scope: {envs?: string[]; hosts?: string[]} = {}): Promise<CreatedToken> {
    return this.answer('POST', '/api/v1/tokens', (c) => c.createdToken, jsonBody<Omit<TokenCreateRequest, 'role'> & {role: string}>({name, role, ...scope}))
  }

  async listTokens(): Promise<TokenInfo[]> {
    return (await this.answer('GET', '/api/v1/tokens', (c) => c.tokensAnswer)).tokens
  }

  async revokeToken(name: string): Promise<void> {
    await this.answer('DELETE', `/api/v1/tokens/${encodeURIComponent(name)}`, (c) => c.revokeAnswer)
  }

  /**
   * Receipts of a rollout (env, key, version). With `seen` (the previous answer's digest) serve holds
   * the request until the receipts change or `holdMs` passes: a long-poll fed by serve's notifications.
   */
  async rollout(env: string, key: string, version: number, seen: string | undefined, holdMs: number): Promise<RolloutAnswer> {
    const query = new URLSearchParams({version: String(version), timeoutMs: String(Math.max(0, Math.round(holdMs)))})
    if (seen) query.set('seen', seen)
    return this.answer('GET', `/api/v1/rollout/${keyPath(env, key)}?${query}`, (c) => c.rolloutAnswer, undefined, {timeoutMs: holdMs + this.timeoutMs})
  }

  /**
   * The agent's long-poll: the keys whose version differs from `keys` (-1: unknown, always answered),
   * as soon as one does, or none after `timeoutMs` (serve holds at most 60 s).
   */
  async watch(env: string, keys: WatchRequest['keys'], timeoutMs: number, options: RequestOptions = {}): Promise<WatchAnswer['changed']> {
    const body = jsonBody<WatchRequest>({keys, timeoutMs})
    // serve answers at the hold's end; the margin covers a busy serve, not a lost connection
    const deadline = timeoutMs + Math.max(this.timeoutMs, 10_000)
    const answer = await this.answer('POST', `/api/v1/watch/${encodeURIComponent(env)}`, (c) => c.watchAnswer, body, {timeoutMs: deadline, ...options})
    return answer.changed
  }

  /** An http-source agent's heartbeat: its report, and how often the next ones come. */
  async heartbeat(env: string, instance: string, report: HeartbeatRequest, options: RequestOptions = {}): Promise<void> {
    await this.answer('PUT', `/api/v1/instances/${encodeURIComponent(env)}/${encodeURIComponent(instance)}`, (c) => c.heartbeatAnswer, jsonBody<HeartbeatRequest>(report), options)
  }

  /** A clean stop: serve then lists the instance as stopped, with `final` (its last report) if given. */
  async withdraw(env: string, instance: string, final: InstanceReport | undefined, options: RequestOptions = {}): Promise<boolean> {
    const body = jsonBody<WithdrawRequest>(final ? {report: final} : {})
    return (await this.answer('DELETE', `/api/v1/instances/${encodeURIComponent(env)}/${encodeURIComponent(instance)}`, (c) => c.withdrawAnswer, body, options)).removed
  }

  async events(env: string, options: {onEvent(event: SseEvent): void; lastEventId?: string; signal?: AbortSignal; idleMs?: number}): Promise<void> {
    const {onEvent, signal} = options
    const idleMs = options.idleMs ?? 45_000
    const url = new URL(`${this.server}/api/v1/events?env=${encodeURIComponent(env)}`)
    const transport = await loadTransport(url)
    const lost = (cause: string) => unavailable(`lost the event stream of ${this.server} (${cause})`, this.unreachableHint)
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
      request.on('error', (error: NodeJS.ErrnoException) => finish(isStconfError(error) ? error : unavailable(`cannot reach the stconf server at ${this.server} (${error.code ?? error.message})`, this.unreachableHint)))
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

  /** A JSON answer, unchecked: prefer the typed methods above, which check it against the contract. */
  async json<T>(method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<T> {
    const response = await this.request(method, path, body, {headers: {'content-type': 'application/json', ...headers}})
    return response.json<T>()
  }

  /** A JSON answer of the contract's `schema` (checked against it with checkAnswers). */
  private async answer<T>(method: string, path: string, schema: Schema<T>, body?: Buffer | string, options: RequestOptions = {}): Promise<T> {
    const headers = body === undefined ? options.headers : {'content-type': 'application/json', ...options.headers}
    const response = await this.request(method, path, body, {...options, headers})
    let value: unknown
    try {
      value = JSON.parse(response.text())
    } catch {
      throw this.unexpected(`${method} ${path}`, 'it is not JSON')
    }

    if (!this.checkAnswers) return value as T
    const contract = await loadContract()
    const checked = contract.check(schema(contract), value)
    if (!checked.ok) throw this.unexpected(`${method} ${path}`, checked.problem)
    return checked.value
  }

  /**
   * One request; a non-2xx answer becomes the StconfError the server described, no answer within the
   * deadline or a refused connection 'unavailable'. node:http rather than fetch: fetch loads undici
   * on first use, ~25 ms of every CLI start-up.
   */
  async request(method: string, path: string, body?: Buffer | string, options: RequestOptions = {}): Promise<HttpAnswer> {
    const url = new URL(`${this.server}${path}`)
    const transport = await loadTransport(url)
    const timeoutMs = options.timeoutMs ?? this.timeoutMs
    // The deadline is a timer cleared with the answer (an AbortSignal.timeout per request left a
    // timer and a signal behind for the whole deadline: thousands of them in a busy agent).
    let pastDeadline = false
    const failed = (error: NodeJS.ErrnoException, what: string) => {
      if (options.signal?.aborted) return error // the caller stopped it: not an outage
      const cause = pastDeadline ? `no answer within ${timeoutMs} ms` : (error.code ?? error.name ?? error.message)
      return unavailable(`${what} the stconf server at ${this.server} (${cause})`, this.unreachableHint)
    }

    const answer = await new Promise<HttpAnswer>((resolve, reject) => {
      const request = transport.request(
        url,
        {
          method,
          headers: {...options.headers, ...this.authHeader(), ...(body === undefined ? {} : {'content-length': String(Buffer.byteLength(body))})},
          ...(options.signal ? {signal: options.signal} : {}),
        },
        (response) => {
          const chunks: Buffer[] = []
          response.on('data', (chunk: Buffer) => chunks.push(chunk))
          response.on('error', (error: NodeJS.ErrnoException) => settle(() => reject(failed(error, 'lost the connection to'))))
          response.on('end', () => settle(() => resolve(new HttpAnswer(response.statusCode ?? 0, response.headers, Buffer.concat(chunks)))))
        },
      )
      const deadline = setTimeout(() => {
        pastDeadline = true
        request.destroy(Object.assign(new Error('deadline'), {code: 'ETIMEDOUT'}))
      }, timeoutMs)
      const settle = (done: () => void) => {
        clearTimeout(deadline)
        done()
      }

      request.on('error', (error: NodeJS.ErrnoException) => settle(() => reject(failed(error, 'cannot reach'))))
      request.end(body)
    })
    if (!answer.ok) throw errorOf(answer.status, answer.body, this.server)
    return answer
  }

  private unexpected(what: string, problem: string): StconfError {
    return new StconfError('internal', `${this.server} answered ${what.split('?')[0]} with something this stconf does not understand (${problem})`, 'are serve and this stconf the same version?')
  }

  private authHeader(): Record<string, string> {
    return this.token ? {authorization: `Bearer ${this.token}`} : {}
  }
}

/** A request body as JSON, typed by the contract's request type. */
function jsonBody<T>(value: T): string {
  return JSON.stringify(value)
}

/**
 * A non-2xx answer as the StconfError the server described in its error body (the contract's
 * ErrorBody); any other body (a proxy's page) as its status and first 200 characters. The one
 * error-body parser: without zod, since every command may need it.
 */
function errorOf(status: number, body: Buffer, server: string): StconfError {
  const text = body.toString('utf8')
  let value: Partial<Record<keyof ErrorBody, unknown>> | undefined
  try {
    value = JSON.parse(text) as typeof value
  } catch {
    value = undefined
  }

  const field = (name: keyof ErrorBody) => (typeof value?.[name] === 'string' ? (value[name] as string) : undefined)
  const [error, message, hint] = [field('error'), field('message'), field('hint')]
  if (message === undefined) return fromHttp(status, {message: `${server} answered HTTP ${status} ${text.slice(0, 200)}`})
  return fromHttp(status, {error, message, hint})
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
