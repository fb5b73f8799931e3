// The agent: one source, one pipeline, one report. Sources say "key K may have changed"; a poll
// every pollInterval is the safety net (never two polls at once); each file syncs one change at a
// time and coalesces requests that arrive meanwhile. When the center is down nothing on disk is
// touched: the agent starts from its files and cache, keeps running, and converges when it returns.
// This file wires the parts: the source (source-zk.ts / source-http.ts), the pipeline (pipeline/),
// each file's state (file-state.ts) and the report (reporter.ts).
import {mkdir} from 'node:fs/promises'
import {join} from 'node:path'
import {badInput, formatErrorLine, isStconfError, type StconfError} from '../errors.js'
import type {VersionMeta} from '../model.js'
import {prepareCommands} from '../exec.js'
import {sleep} from '../sleep.js'
import type {ZkClient} from '../zk/zk-client.js'
import {ManagedFile} from './managed-file.js'
import type {Runner} from './pipeline/context.js'
import {Pipeline} from './pipeline/pipeline.js'
import type {AgentConfig} from './config.js'
import {RefusalLog} from './refusals.js'
import {Reporter} from './reporter.js'
import {HttpSource} from './source-http.js'
import {ZkSource} from './source-zk.js'
import type {FileReport, FileStatus, InstanceReport, Logger, Source} from './types.js'

/** A failed version carried over a SIGHUP reload, with what the report said about it. */
export interface InheritedFailure {
  key: string
  version: number
  sha256: string
  status: FileStatus
  error: string | null
}

export interface AgentOptions {
  config: AgentConfig
  logger: Logger
  agentVersion: string
  /** inject a source (tests, benchmarks) */
  source?: Source
  /** share one ZooKeeper client (benchmarks with many agents in one process) */
  zkClient?: ZkClient
  /** failed versions carried over from a previous Agent (SIGHUP reload): still not retried */
  inheritFailed?: Map<string, InheritedFailure>
  /** the clock of the refusal log's 5-minute throttle (tests) */
  now?: () => number
  /** runs check and reload commands (tests); exec.ts's runShell by default */
  run?: Runner
}

export interface OnceResult {
  inSync: boolean
  files: Array<FileReport & {centerVersion: number | null}>
  /** what the center refused during the run (ZooKeeper NoAuth, HTTP 401/403): `--once` exits 5 */
  refused: StconfError[]
}

export function createSource(config: AgentConfig, logger: Logger, zkClient?: ZkClient, refusals?: RefusalLog): Source {
  if (config.source.kind === 'zk') {
    return new ZkSource({
      connect: config.source.connect,
      root: config.source.root,
      env: config.env,
      instance: config.instance,
      sessionTimeoutMs: config.sessionTimeoutMs,
      logger,
      auth: config.zkAuth,
      refusals,
      client: zkClient,
    })
  }

  return new HttpSource({
    url: config.source.url,
    token: config.token,
    env: config.env,
    instance: config.instance,
    heartbeatMs: Math.min(Math.max(config.pollIntervalMs * 2.5, 5000), 30_000),
    logger,
    refusals,
  })
}

export class Agent {
  readonly files: ManagedFile[]
  private readonly source: Source
  private readonly pipeline: Pipeline
  private readonly controller = new AbortController()
  /** aborted by abortCommands(): kills running checks and reloads (a clean stop lets them finish) */
  private readonly commands = new AbortController()
  private readonly running = new Map<ManagedFile, Promise<void>>()
  private readonly again = new Set<ManagedFile>()
  private readonly startedAt = new Date().toISOString()
  private readonly reporter: Reporter
  private centerDown = false
  private lastErrors = new Map<ManagedFile, string>()
  private stopped = false
  private readonly refusals: RefusalLog

  constructor(private readonly options: AgentOptions) {
    const {config, logger} = options
    this.files = config.files.map((spec) => new ManagedFile(spec, join(config.cacheDir, config.env)))
    for (const file of this.files) {
      const inherited = options.inheritFailed?.get(file.spec.dest)
      if (inherited) file.state.inherited(inherited)
    }
    this.refusals = new RefusalLog(logger, options.now)
    this.source = options.source ?? createSource(config, logger, options.zkClient, this.refusals)
    this.reporter = new Reporter(() => this.sendReport(), this.refusals)
    this.pipeline = new Pipeline({logger, onReport: () => this.reporter.schedule(), signal: this.commands.signal, run: options.run})
  }

  get signal(): AbortSignal {
    return this.controller.signal
  }

  /** Failed versions by dest, for the next Agent after a config reload. */
  failedVersions(): Map<string, InheritedFailure> {
    const out = new Map<string, InheritedFailure>()
    for (const {state, spec, key} of this.files) {
      if (state.lastFailed) out.set(spec.dest, {...state.lastFailed, key, status: state.status, error: state.error})
    }

    return out
  }

  report(): InstanceReport {
    const {config, agentVersion} = this.options
    return {
      instance: config.instance,
      host: config.host,
      ...(config.app ? {app: config.app} : {}),
      pid: process.pid,
      agentVersion,
      startedAt: this.startedAt,
      updatedAt: new Date().toISOString(),
      files: this.files.map((file) => file.report()),
    }
  }

  private async prepare(): Promise<void> {
    const {cacheDir, env} = this.options.config
    await mkdir(join(cacheDir, env), {recursive: true, mode: 0o700}).catch((error: NodeJS.ErrnoException) => {
      throw badInput(`cacheDir: cannot create ${join(cacheDir, env)} (${error.code ?? error.message})`)
    })
    for (const file of this.files) {
      await this.pipeline.restore(file)
      // After a SIGHUP reload a version that failed is still reported as failed, not as ok/pending.
      const inherited = this.options.inheritFailed?.get(file.spec.dest)
      if (inherited?.key === file.key) file.state.inherited(inherited, inherited)
    }
  }

  /** Follow the center until stop(). Resolves once started; never fails because the center is down. */
  async start(): Promise<void> {
    await this.prepare()
    const {logger, config} = this.options
    // the first change's check or reload then does not wait for a shell to start either (exec.ts)
    if (!this.options.run && config.files.some((file) => file.check || file.reload)) void prepareCommands().catch(() => undefined)
    logger.info('agent started', {source: this.source.description, env: config.env, instance: config.instance, files: this.files.length})
    await this.source.start(
      this.files.map((file) => file.key),
      (key) => this.changed(key),
      this.controller.signal,
    )
    this.reporter.schedule()
    void this.pollLoop()
  }

  /** Apply the current state once (provisioning, cron). */
  async runOnce(timeoutMs = 30_000): Promise<OnceResult> {
    await this.prepare()
    const deadline = Date.now() + timeoutMs
    await this.source.start([], () => undefined, this.controller.signal)
    let metas: Map<string, VersionMeta | null> | undefined
    let lastError: unknown
    while (!metas && Date.now() < deadline) {
      try {
        metas = await this.source.metas([...new Set(this.files.map((file) => file.key))])
      } catch (error) {
        lastError = error
        // Refused is not "not yet": waiting out the timeout would not change the answer.
        if (this.refusals.note('read', error)) break
        await sleep(250, this.controller.signal)
      }
    }

    if (!metas && this.refusals.seen.size > 0) {
      // Nothing could be read; the report may still be allowed, and says what this host has.
      await this.sendReport().catch((error) => this.refusals.note('report', error))
      await this.stop()
      return {inSync: false, files: this.files.map((file) => ({...file.report(), centerVersion: null})), refused: [...this.refusals.seen.values()]}
    }

    if (!metas) {
      await this.stop()
      throw lastError
    }

    for (const file of this.files) await this.syncFile(file)
    await this.pipeline.idle(true)
    // Read again: the answer is about the center as it is now.
    const after = await this.source.metas([...new Set(this.files.map((file) => file.key))]).catch(() => metas!)
    const files = this.files.map((file) => {
      const center = after.get(file.key) ?? null
      return {...file.report(), centerVersion: center?.version ?? null}
    })
    const inSync = this.files.every((file) => {
      const center = after.get(file.key)
      return file.state.status === 'ok' && center !== null && center !== undefined && file.state.isApplied(center)
    })
    await this.sendReport().catch((error) => this.refusals.note('report', error))
    await this.stop()
    return {inSync, files, refused: [...this.refusals.seen.values()]}
  }

  private changed(key: string): void {
    for (const file of this.files) if (file.key === key) this.requestSync(file)
  }

  private requestSync(file: ManagedFile): void {
    if (this.stopped) return
    if (this.running.has(file)) {
      this.again.add(file)
      return
    }

    const run = (async () => {
      do {
        this.again.delete(file)
        await this.syncFile(file)
      } while (this.again.has(file) && !this.stopped)
    })().finally(() => this.running.delete(file))
    this.running.set(file, run)
  }

  private async syncFile(file: ManagedFile): Promise<void> {
    const {logger} = this.options
    try {
      // One read of meta + content (sha256-verified); the watch or the poll already said "changed".
      const current = await this.source.fetch(file.key)
      this.centerUp()
      if (file.state.readAgain('refused')) this.reporter.schedule()
      if (!current) {
        // Deleted (or never pushed): the file on disk stays exactly as it is.
        if (file.state.missing(`key ${file.key} does not exist in the center (file left as it is)`)) {
          logger.warn('key not in the center; leaving the file untouched', {key: file.key, dest: file.spec.dest})
          this.reporter.schedule()
        }

        return
      }

      if (file.state.readAgain('missing')) this.reporter.schedule()
      if (!(await file.state.needs(current.meta, file.spec.dest))) return
      await this.pipeline.apply(file, current.meta, current.content)
      this.lastErrors.delete(file)
    } catch (error) {
      if (isStconfError(error) && error.code === 'unavailable') {
        this.centerDownNow(error)
        return
      }

      const message = formatErrorLine(error)
      if (this.refusals.note('read', error)) {
        // The file stays as it is; the report (if that is allowed) says why it does not move.
        if (file.state.refused(message)) this.reporter.schedule()
        return
      }

      file.state.errored(message)
      this.reporter.schedule()
      if (this.lastErrors.get(file) !== message) logger.error('could not apply', {key: file.key, dest: file.spec.dest, error: message})
      this.lastErrors.set(file, message)
    }
  }

  private centerDownNow(error: unknown): void {
    if (this.centerDown) return
    this.centerDown = true
    this.options.logger.warn('center unreachable; keeping local files', {error: formatErrorLine(error)})
  }

  private centerUp(): void {
    this.refusals.accepted('read')
    if (!this.centerDown) return
    this.centerDown = false
    this.options.logger.info('center reachable again')
  }

  /** The safety net: compare every key's version; sequential, so polls never pile up. */
  private async pollLoop(): Promise<void> {
    const signal = this.controller.signal
    const keys = [...new Set(this.files.map((file) => file.key))]
    while (!signal.aborted) {
      await sleep(this.options.config.pollIntervalMs, signal)
      if (signal.aborted) return
      try {
        const metas = await this.source.metas(keys)
        this.centerUp()
        for (const file of this.files) {
          const meta = metas.get(file.key)
          if (!meta) {
            if (!file.state.error) this.requestSync(file)
          } else if (await file.state.needs(meta, file.spec.dest)) this.requestSync(file)
        }

        // A report that failed while the center was down is sent again.
        this.reporter.retryIfFailed()
      } catch (error) {
        if (isStconfError(error) && error.code === 'unavailable') this.centerDownNow(error)
        else if (!this.refusals.note('read', error)) this.options.logger.error('poll failed', {error: formatErrorLine(error)})
      }
    }
  }

  private async sendReport(): Promise<void> {
    await this.source.report(this.report())
  }

  /**
   * Stop now: kill the running checks and reloads (their process trees), instead of waiting for them.
   * A killed check judges nothing (the old file stays); a killed reload is a failed one (rolled back).
   * Then stop() as usual: pending reloads fail at once, so nothing is left half-applied.
   */
  abortCommands(): void {
    this.commands.abort()
  }

  /** Stop cleanly: finish the change in flight (no half-applied file), run pending reloads, withdraw the report. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this.controller.abort()
    const lastReport = this.reporter.stop() // no report from now on: the final one goes with source.stop
    await Promise.allSettled([...this.running.values()])
    await this.pipeline.idle(true)
    await lastReport
    await this.source.stop(this.report())
    this.options.logger.info('agent stopped')
  }
}
