// serve's live feed: one hub that changes, audit entries and instance reports are published to, and
// that event streams (GET /api/v1/events) subscribe to per env. Events carry an id "<boot>-<seq>" so a
// reconnecting client can resume with Last-Event-ID from a short in-memory backlog; an id from another
// serve process, or one older than the backlog, gets a `resync` instead (the client re-reads).
import {randomBytes} from 'node:crypto'
import type {AuditEntry, FeedEvent} from '../api/contract.js'

// The events are wire types (GET /api/v1/events): defined in the API contract.
export type {FeedEvent} from '../api/contract.js'

export interface StampedEvent {
  id: string
  event: FeedEvent
}

type Listener = (stamped: StampedEvent) => void

export class EventHub {
  /** tells this process's ids from the ids of an earlier serve on the same port */
  readonly boot = randomBytes(4).toString('hex')
  private seq = 0
  private readonly backlog: StampedEvent[] = []
  private readonly listeners = new Map<string, Set<Listener>>()

  constructor(private readonly backlogSize = 1000) {}

  /** An event without an env (an audit entry about tokens) goes to every env's subscribers. */
  publish(event: FeedEvent): void {
    const stamped = {id: `${this.boot}-${++this.seq}`, event}
    this.backlog.push(stamped)
    if (this.backlog.length > this.backlogSize) this.backlog.splice(0, this.backlog.length - this.backlogSize)
    for (const [env, listeners] of this.listeners) {
      if (event.env !== undefined && event.env !== env) continue
      for (const listener of listeners) listener(stamped)
    }
  }

  subscribe(env: string, listener: Listener): () => void {
    let set = this.listeners.get(env)
    if (!set) this.listeners.set(env, (set = new Set()))
    set.add(listener)
    return () => {
      set.delete(listener)
      if (set.size === 0) this.listeners.delete(env)
    }
  }

  /** What `env` missed after `lastId`, or null when that cannot be known (other boot, too old). */
  since(env: string, lastId: string): StampedEvent[] | null {
    const [boot, raw] = lastId.split('-')
    const seq = Number(raw)
    if (boot !== this.boot || !Number.isSafeInteger(seq) || seq > this.seq) return null
    const oldest = this.backlog.length > 0 ? Number(this.backlog[0].id.split('-')[1]) : this.seq + 1
    if (seq < oldest - 1) return null
    return this.backlog.filter((s) => Number(s.id.split('-')[1]) > seq && (s.event.env === undefined || s.event.env === env))
  }

  subscribers(env: string): number {
    return this.listeners.get(env)?.size ?? 0
  }
}

/**
 * Makes an audit log publish every entry it records, without touching how it stores them: the
 * routes, the center and the feed then agree on one place where entries come from.
 */
export function publishAuditTo<T extends {record(entry: Omit<AuditEntry, 'time'>): Promise<unknown>}>(hub: EventHub, log: T): T {
  const record = log.record.bind(log)
  log.record = async (entry) => {
    const answer = await record(entry)
    const time = (answer as Partial<AuditEntry> | undefined)?.time ?? new Date().toISOString()
    hub.publish({type: 'audit', env: entry.env, entry: {time, ...entry}})
    return answer
  }

  return log
}
