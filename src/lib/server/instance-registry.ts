// Every instance serve knows of, behind one interface: ZooKeeper report nodes (ephemeral, noticed by
// watches), http heartbeats, and what is remembered of instances that went away. Routes, waiters
// (`push --wait`) and event streams read it and subscribe with onChange; nobody polls instances.
//
// Presence: online while its report node exists (zk) or heartbeats arrive in time (http: offline after
// 3 missed intervals); stopped when it withdrew cleanly (zk: the stopped marker of layout.ts, http:
// DELETE); offline when it vanished otherwise (a crash, a lost host, an expired session). Offline and
// stopped instances stay listed, with their last report, until they return, an operator forgets them,
// or the retention period passes. Everything is persisted in the data dir (last-seen.ts).
import {EventEmitter} from 'node:events'
import type {InstanceReport} from '../agent/types.js'
import {conflict, notFound} from '../errors.js'
import type {Presence} from '../fleet.js'
import {parseInstanceName} from '../model.js'
import type {ZkInstanceFeed} from './zk-instance-feed.js'
import type {LastSeenStore, RememberedInstance} from './last-seen.js'

export type InstanceEntry = Readonly<RememberedInstance>

/** What onChange listeners hear: which instance changed (read it with get()). */
export interface InstanceChange {
  env: string
  instance: string
}

export interface InstanceRegistry {
  /** Every instance of `env` (online, offline, stopped), sorted by host then name. */
  list(env: string): Promise<InstanceEntry[]>
  get(env: string, instance: string): InstanceEntry | undefined
  /** An http-source agent's report; it is offline unless the next one comes within 3 x intervalMs. */
  heartbeat(env: string, report: InstanceReport, intervalMs: number): Promise<void>
  /** An http-source agent stopped cleanly; `final` is its last report. False when it was not known. */
  withdraw(env: string, instance: string, final?: InstanceReport): Promise<boolean>
  /** Drop an offline or stopped instance from the list (not-found / conflict when online). */
  forget(env: string, instance: string): Promise<InstanceEntry>
  onChange(listener: (change: InstanceChange) => void): () => void
}

export interface RegistryOptions {
  store: LastSeenStore
  /** how long offline and stopped instances stay listed */
  retentionMs: number
  now?: () => number
}

/** The sink ZooKeeper's feed writes into (zk-instance-feed.ts). */
export interface ZkSink {
  zkSeen(env: string, report: InstanceReport): void
  zkGone(env: string, instance: string, stopped: {stoppedAt: string; report: InstanceReport | null} | null): void
  /** Names the registry believes online via ZooKeeper, to compare with a scan. */
  zkOnline(env: string): string[]
  envs(): string[]
}

const id = (env: string, instance: string) => `${env}\u0000${instance}`

export class Registry implements InstanceRegistry, ZkSink {
  private readonly entries = new Map<string, RememberedInstance>()
  private readonly deadlines = new Map<string, NodeJS.Timeout>()
  /** instances heard from since this serve started (others' last word predates it) */
  private readonly seenLive = new Set<string>()
  private readonly events = new EventEmitter()
  private readonly now: () => number
  private sweeper?: NodeJS.Timeout
  private feed?: ZkInstanceFeed
  private ready: Promise<void> = Promise.resolve()

  constructor(private readonly options: RegistryOptions) {
    this.now = options.now ?? Date.now
    this.events.setMaxListeners(0)
  }

  /** Load what was remembered; with a feed, follow ZooKeeper's report nodes. */
  async start(feed?: ZkInstanceFeed): Promise<void> {
    for (const entry of await this.options.store.load()) {
      this.entries.set(id(entry.env, entry.instance), {...entry})
      if (entry.via === 'http' && entry.presence === 'online') this.armDeadline(entry)
    }

    this.sweep()
    const every = Math.min(Math.max(Math.floor(this.options.retentionMs / 10), 1000), 3_600_000)
    this.sweeper = setInterval(() => this.sweep(), every)
    this.sweeper.unref()
    if (feed) {
      this.feed = feed
      // The first scan settles instances that went away while serve was down; lists wait for it
      // (bounded, since ZooKeeper may be down: then they show what was remembered).
      // A ZooKeeper that is down now is scanned when it connects (the feed listens for that).
      const scanned = feed.start(this).catch(() => undefined)
      this.ready = Promise.race([scanned, new Promise<void>((resolve) => setTimeout(resolve, 5000).unref())])
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper)
    for (const timer of this.deadlines.values()) clearTimeout(timer)
    this.feed?.close()
    await this.options.store.close()
  }

  onChange(listener: (change: InstanceChange) => void): () => void {
    this.events.on('change', listener)
    return () => this.events.off('change', listener)
  }

  async list(env: string): Promise<InstanceEntry[]> {
    await this.ready
    this.sweep()
    const out: InstanceEntry[] = []
    for (const entry of this.entries.values()) if (entry.env === env) out.push(entry)
    return out.sort((a, b) => a.report.host.localeCompare(b.report.host) || a.instance.localeCompare(b.instance))
  }

  get(env: string, instance: string): InstanceEntry | undefined {
    return this.entries.get(id(env, instance))
  }

  envs(): string[] {
    return [...new Set([...this.entries.values()].map((entry) => entry.env))]
  }

  async heartbeat(env: string, report: InstanceReport, intervalMs: number): Promise<void> {
    const entry = this.seen(env, report, 'http')
    entry.intervalMs = intervalMs
    this.armDeadline(entry)
    await this.persist()
  }

  async withdraw(env: string, instance: string, final?: InstanceReport): Promise<boolean> {
    const entry = this.entries.get(id(env, instance))
    if (!entry || entry.via !== 'http') return false
    this.clearDeadline(entry)
    this.wentAway(entry, 'stopped', new Date(this.now()).toISOString(), final)
    await this.persist()
    return true
  }

  async forget(env: string, instance: string): Promise<InstanceEntry> {
    const entry = this.entries.get(id(env, instance))
    if (!entry) throw notFound(`no instance ${instance} in env ${env}`, `see \`stconf status --env ${env}\``)
    if (entry.presence === 'online') throw conflict(`instance ${instance} is online`, 'only offline or stopped instances can be forgotten; stop its agent first')
    this.entries.delete(id(env, instance))
    this.emit(entry)
    await this.persist()
    return entry
  }

  // ZooKeeper feed

  zkSeen(env: string, report: InstanceReport): void {
    const current = this.entries.get(id(env, report.instance))
    // One name, two sources (an agent moved from http to zk): the fresher report wins.
    if (current?.via === 'http' && current.presence === 'online' && current.report.updatedAt > report.updatedAt) return
    if (current) this.clearDeadline(current)
    this.seen(env, report, 'zk')
    void this.persist().catch(() => undefined)
  }

  zkGone(env: string, instance: string, stopped: {stoppedAt: string; report: InstanceReport | null} | null): void {
    const entry = this.entries.get(id(env, instance))
    if (entry && entry.via === 'http' && entry.presence === 'online') return // it reports over http now
    if (stopped) {
      const report = stopped.report ?? entry?.report
      if (!report) return
      if (!entry) this.entries.set(id(env, instance), {env, instance, report, via: 'zk', presence: 'stopped', since: stopped.stoppedAt, lastSeen: stopped.stoppedAt})
      else this.wentAway(entry, 'stopped', stopped.stoppedAt, stopped.report ?? undefined)
      this.emit({env, instance})
    } else if (entry?.presence === 'online') {
      // Gone while serve was down: the last time anyone heard from it is the best "since" there is.
      const since = this.seenLive.has(id(env, instance)) ? new Date(this.now()).toISOString() : entry.lastSeen
      this.wentAway(entry, 'offline', since)
    } else {
      return
    }

    void this.persist().catch(() => undefined)
  }

  zkOnline(env: string): string[] {
    return [...this.entries.values()].filter((e) => e.env === env && e.via === 'zk' && e.presence === 'online').map((e) => e.instance)
  }

  // internals

  private seen(env: string, report: InstanceReport, via: 'zk' | 'http'): RememberedInstance {
    const {host} = parseInstanceName(report.instance)
    const key = id(env, report.instance)
    const previous = this.entries.get(key)
    const now = new Date(this.now()).toISOString()
    this.seenLive.add(key)
    const entry: RememberedInstance = {
      env,
      instance: report.instance,
      report: {...report, host},
      via,
      presence: 'online',
      since: previous?.presence === 'online' ? previous.since : now,
      lastSeen: now,
      ...(previous?.intervalMs && via === 'http' ? {intervalMs: previous.intervalMs} : {}),
    }
    this.entries.set(key, entry)
    this.emit(entry)
    return entry
  }

  private wentAway(entry: RememberedInstance, presence: Exclude<Presence, 'online'>, since: string, final?: InstanceReport): void {
    entry.presence = presence
    entry.since = since
    if (final) entry.report = {...final, instance: entry.instance, host: entry.report.host}
    if (presence === 'stopped') entry.lastSeen = since
    this.emit(entry)
  }

  private armDeadline(entry: RememberedInstance): void {
    this.clearDeadline(entry)
    const interval = entry.intervalMs ?? 30_000
    const left = Date.parse(entry.lastSeen) + 3 * interval - this.now()
    const timer = setTimeout(() => {
      this.deadlines.delete(id(entry.env, entry.instance))
      const current = this.entries.get(id(entry.env, entry.instance))
      if (current !== entry || entry.presence !== 'online') return
      this.wentAway(entry, 'offline', new Date(this.now()).toISOString())
      void this.persist().catch(() => undefined)
    }, Math.max(0, left))
    timer.unref()
    this.deadlines.set(id(entry.env, entry.instance), timer)
  }

  private clearDeadline(entry: RememberedInstance): void {
    const key = id(entry.env, entry.instance)
    clearTimeout(this.deadlines.get(key))
    this.deadlines.delete(key)
  }

  /** Offline and stopped instances past the retention period are dropped. */
  private sweep(): void {
    const oldest = this.now() - this.options.retentionMs
    let dropped = false
    for (const [key, entry] of this.entries) {
      if (entry.presence !== 'online' && Date.parse(entry.since) < oldest) {
        this.entries.delete(key)
        this.emit(entry)
        dropped = true
      }
    }

    if (dropped) void this.persist().catch(() => undefined)
  }

  private emit(entry: {env: string; instance: string}): void {
    this.events.emit('change', {env: entry.env, instance: entry.instance} satisfies InstanceChange)
  }

  private persist(): Promise<void> {
    return this.options.store.save(() => [...this.entries.values()])
  }
}
