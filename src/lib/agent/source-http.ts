// The HTTP source: follows serve's long-poll watch endpoint (POST /api/v1/watch/:env), fetches
// content with GET /api/v1/config/:env/<key>, and heartbeats its report to serve. Used with an
// embedded-store center, or where agents cannot reach ZooKeeper. The loop backs off while serve is
// unreachable, resets on success, and always honours stop.
import {fromHttp, unavailable} from '../errors.js'
import {sha256, type VersionMeta} from '../model.js'
import {isRefusal, refusal, type RefusalLog, type Refused} from './refusals.js'
import {sleep} from '../sleep.js'
import type {Current, InstanceReport, Logger, Source} from './types.js'

export interface HttpSourceOptions {
  url: string
  token?: string
  env: string
  /** the instance name reported under (<host> or <host>@<app>) */
  instance: string
  heartbeatMs: number
  logger: Logger
  /** deadline of one plain request */
  requestTimeoutMs?: number
  /** how long serve holds one long-poll */
  longPollMs?: number
  /** where refusals of the watch loop and the heartbeats go (they have no caller to throw to) */
  refusals?: RefusalLog
}

export function keyPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/')
}

export class HttpSource implements Source {
  readonly description: string
  private readonly known = new Map<string, number>()
  private readonly stopController = new AbortController()
  private lastReport?: InstanceReport
  private heartbeat?: NodeJS.Timeout
  private stopped = false

  constructor(private readonly options: HttpSourceOptions) {
    this.description = options.url
  }

  private async request(method: string, path: string, body?: unknown, timeoutMs = this.options.requestTimeoutMs ?? 5000): Promise<Response> {
    const headers: Record<string, string> = {}
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`
    if (body !== undefined) headers['content-type'] = 'application/json'
    try {
      return await fetch(`${this.options.url}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.stopController.signal]),
      })
    } catch (error) {
      throw unavailable(`center ${this.options.url} is unreachable (${(error as Error).name === 'TimeoutError' ? 'timed out' : (error as Error).message})`)
    }
  }

  private async fail(response: Response, what: Refused, subject: string): Promise<never> {
    let body: {error?: string; message?: string; hint?: string} = {}
    try {
      body = (await response.json()) as typeof body
    } catch {
      // not JSON
    }

    const error = fromHttp(response.status, body)
    if (!isRefusal(error)) throw error
    // serve's hint is for a person at a terminal ("pass --token"); an agent is fixed in its config.
    const {env} = this.options
    const message = `serve refused this agent's ${subject} (HTTP ${response.status}: ${error.message})`
    throw refusal(
      message,
      error.code === 'unauthorized'
        ? `set token in the agent config to a valid token of role agent (stconf token create <name> --role agent --env ${env})`
        : `give the agent a token of role agent that covers env ${env}${what === 'report' ? ` and host ${this.options.instance}` : ''} (stconf token create <name> --role agent --env ${env})`,
    )
  }

  private async watch(keys: Record<string, number>, timeoutMs: number): Promise<Array<{key: string; meta: VersionMeta | null}>> {
    const response = await this.request('POST', `/api/v1/watch/${this.options.env}`, {keys, timeoutMs}, timeoutMs + 10_000)
    if (!response.ok) await this.fail(response, 'read', `watch of env ${this.options.env}`)
    const {changed} = (await response.json()) as {changed: Array<{key: string; meta: VersionMeta | null}>}
    for (const {key, meta} of changed) this.known.set(key, meta?.version ?? 0)
    return changed
  }

  async start(keys: string[], changed: (key: string) => void, signal: AbortSignal): Promise<void> {
    const unique = [...new Set(keys)]
    for (const key of unique) if (!this.known.has(key)) this.known.set(key, 0)
    signal.addEventListener('abort', () => this.stopController.abort(), {once: true})
    this.heartbeat = setInterval(() => {
      if (this.lastReport) void this.report(this.lastReport).catch((error) => this.options.refusals?.note('report', error))
    }, this.options.heartbeatMs)
    this.heartbeat.unref()
    void this.loop(unique, changed)
  }

  private async loop(keys: string[], changed: (key: string) => void): Promise<void> {
    const {logger} = this.options
    const stop = this.stopController.signal
    let backoff = 0
    let refused = false
    while (!stop.aborted) {
      try {
        const answer = await this.watch(Object.fromEntries(keys.map((key) => [key, this.known.get(key) ?? 0])), this.options.longPollMs ?? 30_000)
        if (backoff > 0) {
          if (!refused) logger.info('center reachable again', {source: this.description})
          for (const key of keys) changed(key) // re-read everything after an outage
        }

        backoff = 0
        refused = false
        this.options.refusals?.accepted('read')
        for (const {key} of answer) changed(key)
      } catch (error) {
        if (stop.aborted) return
        refused = this.options.refusals?.note('read', error) ?? isRefusal(error)
        if (refused) backoff = 5000
        else {
          if (backoff === 0) logger.warn('center unreachable; keeping local files, retrying', {source: this.description, error: (error as Error).message})
          backoff = Math.min(Math.max(backoff * 2, 250), 5000)
        }
        await sleep(backoff, stop)
      }
    }
  }

  async metas(keys: string[]): Promise<Map<string, VersionMeta | null>> {
    // -1 is "unknown": serve answers every listed key at once.
    const answer = await this.watch(Object.fromEntries(keys.map((key) => [key, -1])), 0)
    const metas = new Map<string, VersionMeta | null>(keys.map((key) => [key, null]))
    for (const {key, meta} of answer) metas.set(key, meta)
    return metas
  }

  async fetch(key: string): Promise<Current | null> {
    for (let attempt = 1; ; attempt++) {
      const response = await this.request('GET', `/api/v1/config/${this.options.env}/${keyPath(key)}`)
      if (response.status === 404) {
        await response.body?.cancel()
        return null
      }

      if (!response.ok) await this.fail(response, 'read', `read of ${this.options.env}/${key}`)
      const content = Buffer.from(await response.arrayBuffer())
      const version = Number(response.headers.get('x-stconf-version'))
      const expected = response.headers.get('x-stconf-sha256') ?? ''
      if (Number.isSafeInteger(version) && version > 0 && sha256(content) === expected) {
        const meta: VersionMeta = {version, sha256: expected, size: content.length, author: '', message: '', time: '', kind: 'push'}
        return {meta, content}
      }

      if (attempt >= 5) throw unavailable(`${key}: the center's content does not match its sha256 header; retrying later`)
      await sleep(100 * attempt)
    }
  }

  async report(report: InstanceReport): Promise<void> {
    this.lastReport = report
    if (this.stopped) return
    const response = await this.request('PUT', `/api/v1/instances/${this.options.env}/${encodeURIComponent(this.options.instance)}`, {
      ...report,
      intervalMs: this.options.heartbeatMs,
    })
    if (!response.ok) await this.fail(response, 'report', `instance report for ${this.options.env}/${this.options.instance}`)
    await response.body?.cancel()
  }

  async stop(final?: InstanceReport): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    clearInterval(this.heartbeat)
    this.stopController.abort()
    // Never reported (a dry run): the instance entry on serve, if any, is another agent's to withdraw.
    if (!this.lastReport && !final) return
    const headers: Record<string, string> = {'content-type': 'application/json'}
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`
    try {
      // DELETE with the last report: serve lists the instance as stopped (a clean stop), with what it applied.
      const response = await fetch(`${this.options.url}/api/v1/instances/${this.options.env}/${encodeURIComponent(this.options.instance)}`, {
        method: 'DELETE',
        headers,
        body: JSON.stringify(final ? {report: final} : {}),
        signal: AbortSignal.timeout(2000),
      })
      await response.body?.cancel()
    } catch {
      // serve is down: it will show us offline after missed heartbeats
    }
  }
}
