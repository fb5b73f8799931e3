// The HTTP source: follows serve's long-poll watch endpoint (POST /api/v1/watch/:env), fetches
// content with GET /api/v1/config/:env/<key>, and heartbeats its report to serve, all through the one
// HTTP client (client/api-client.ts). Used with an embedded-store center, or where agents cannot
// reach ZooKeeper. The loop backs off while serve is unreachable, resets on success, and always
// honours stop.
import type {WatchAnswer} from '../api/contract.js'
import {nextBackoff, retry, TRY_AGAIN} from '../backoff.js'
import {ApiClient} from '../client/api-client.js'
import {isStconfError, unavailable} from '../errors.js'
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

export class HttpSource implements Source {
  readonly description: string
  private readonly known = new Map<string, number>()
  private readonly stopController = new AbortController()
  private lastReport?: InstanceReport
  private heartbeat?: NodeJS.Timeout
  private stopped = false

  private readonly client: ApiClient

  constructor(private readonly options: HttpSourceOptions) {
    this.description = options.url
    this.client = new ApiClient({
      server: options.url,
      token: options.token,
      timeoutMs: options.requestTimeoutMs ?? 5000,
      unreachableHint: 'is serve running there? check source in the agent config',
      checkAnswers: true,
    })
  }

  /** A request of this source: it stops with the source, and serve's refusal is said in the agent's words. */
  private async call<T>(what: Refused, subject: string, request: (signal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await request(this.stopController.signal)
    } catch (error) {
      if (!isRefusal(error)) throw error
      // serve's hint is for a person at a terminal ("pass --token"); an agent is fixed in its config.
      const {env} = this.options
      throw refusal(
        `serve refused this agent's ${subject} (HTTP ${error.status}: ${error.message})`,
        error.code === 'unauthorized'
          ? `set token in the agent config to a valid token of role agent (stconf token create <name> --role agent --env ${env})`
          : `give the agent a token of role agent that covers env ${env}${what === 'report' ? ` and host ${this.options.instance}` : ''} (stconf token create <name> --role agent --env ${env})`,
      )
    }
  }

  private async watch(keys: Record<string, number>, timeoutMs: number): Promise<WatchAnswer['changed']> {
    const {env} = this.options
    const changed = await this.call('read', `watch of env ${env}`, (signal) => this.client.watch(env, keys, timeoutMs, {signal}))
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
          backoff = nextBackoff(backoff)
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
    const {env} = this.options
    const mismatch = () => unavailable(`${key}: the center's content does not match its sha256 header; retrying later`)
    return retry({tries: 5, firstDelayMs: 100, exhausted: mismatch}, async () => {
      let answer
      try {
        answer = await this.call('read', `read of ${env}/${key}`, (signal) => this.client.getConfig(env, key, undefined, {signal}))
      } catch (error) {
        if (isStconfError(error) && error.code === 'not-found') return null
        throw error
      }

      const {meta, content} = answer
      // The headers name the version and its sha256; the message is in history, which agents do not read.
      return sha256(content) === meta.sha256 ? {meta: {...meta, message: ''}, content} : TRY_AGAIN
    })
  }

  async report(report: InstanceReport): Promise<void> {
    this.lastReport = report
    if (this.stopped) return
    const {env, instance, heartbeatMs} = this.options
    await this.call('report', `instance report for ${env}/${instance}`, (signal) => this.client.heartbeat(env, instance, {...report, intervalMs: heartbeatMs}, {signal}))
  }

  async stop(final?: InstanceReport): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    clearInterval(this.heartbeat)
    this.stopController.abort()
    // Never reported (a dry run): the instance entry on serve, if any, is another agent's to withdraw.
    if (!this.lastReport && !final) return
    try {
      // DELETE with the last report: serve lists the instance as stopped (a clean stop), with what it applied.
      await this.client.withdraw(this.options.env, this.options.instance, final, {timeoutMs: 2000})
    } catch {
      // serve is down: it will show us offline after missed heartbeats
    }
  }
}
