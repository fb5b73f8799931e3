// The audit log: one append-only segment log (<data>/journal/audit/*.jsonl), rotated by size.
//
// Recording an entry appends one line, so it costs the same on day 1 and day 1,000, and entries that
// arrive together (pushes to different keys) share one fsync. Each sealed segment's summary (time
// range, and the envs, actors and actions in it) lets a query skip segments that cannot match, and
// the rest are read from their end: `audit --limit 20` reads the newest lines, not the whole log.
import type {FileHandle} from 'node:fs/promises'
import {join} from 'node:path'
import {SegmentLog} from './segment-log.js'
import type {AuditEntry, AuditQuery, AuditStore} from './storage-types.js'

export type {AuditEntry, AuditQuery} from './storage-types.js'

/** Past this many distinct values a segment's summary stops listing them (null: any may occur). */
const MAX_LISTED = 64

export interface AuditSummary {
  count: number
  from: string
  to: string
  envs: string[] | null
  actors: string[] | null
  actions: string[] | null
  /** every entry's time is at or after the one before it (false once the clock stepped back) */
  ordered: boolean
}

export interface AuditLogOptions {
  maxSegmentBytes?: number
  sync?: (handle: FileHandle) => Promise<void>
  now?: () => Date
}

function addValue(values: string[] | null | undefined, value: string | undefined): string[] | null {
  const list = values === undefined ? [] : values
  if (list === null || value === undefined || list.includes(value)) return list
  return list.length >= MAX_LISTED ? null : [...list, value]
}

export function summarizeAudit(summary: AuditSummary | undefined, entry: AuditEntry): AuditSummary {
  if (!summary) return {count: 1, from: entry.time, to: entry.time, envs: addValue(undefined, entry.env), actors: [entry.actor], actions: [entry.action], ordered: true}
  // Appended in call order; a clock step back must not hide entries from `since`, so keep min and max.
  return {
    count: summary.count + 1,
    from: entry.time < summary.from ? entry.time : summary.from,
    to: entry.time > summary.to ? entry.time : summary.to,
    envs: addValue(summary.envs, entry.env),
    actors: addValue(summary.actors, entry.actor),
    actions: addValue(summary.actions, entry.action),
    ordered: summary.ordered && entry.time >= summary.to,
  }
}

export function auditDir(dataDir: string): string {
  return join(dataDir, 'journal', 'audit')
}

export class AuditLog implements AuditStore {
  private opened?: Promise<SegmentLog<AuditEntry, AuditSummary>>
  private readonly now: () => Date

  constructor(
    private readonly dataDir: string,
    private readonly options: AuditLogOptions = {},
  ) {
    this.now = options.now ?? (() => new Date())
  }

  async record(entry: Omit<AuditEntry, 'time'>): Promise<void> {
    const time = this.now().toISOString()
    await (await this.log()).append({time, ...entry})
  }

  async list(query: AuditQuery = {}): Promise<AuditEntry[]> {
    const limit = query.limit ?? 1000
    const since = query.since?.toISOString()
    const out: AuditEntry[] = []
    if (limit <= 0) return out
    const cannotMatch = (s: AuditSummary) =>
      (since !== undefined && s.to < since) ||
      (query.env !== undefined && s.envs !== null && !s.envs.includes(query.env)) ||
      (query.actor !== undefined && s.actors !== null && !s.actors.includes(query.actor)) ||
      (query.action !== undefined && s.actions !== null && !s.actions.includes(query.action))
    const log = await this.log()
    const segments = log.segments()
    for (let i = segments.length - 1; i >= 0 && out.length < limit; i--) {
      const {name, summary} = segments[i]
      if (cannotMatch(summary)) continue
      for await (const entry of log.readSegmentBackward(name)) {
        if (since !== undefined && entry.time < since) {
          if (summary.ordered) break // everything older in this segment is before `since` too
          continue
        }

        if (query.env !== undefined && entry.env !== query.env) continue
        if (query.key !== undefined && entry.key !== query.key) continue
        if (query.actor !== undefined && entry.actor !== query.actor) continue
        if (query.action !== undefined && entry.action !== query.action) continue
        out.push(entry)
        if (out.length >= limit) break
      }
    }

    return out.reverse()
  }

  private log(): Promise<SegmentLog<AuditEntry, AuditSummary>> {
    this.opened ??= SegmentLog.open<AuditEntry, AuditSummary>({
      dir: auditDir(this.dataDir),
      maxSegmentBytes: this.options.maxSegmentBytes ?? 4 * 1024 * 1024,
      summarize: summarizeAudit,
      sync: this.options.sync,
    })
    return this.opened
  }
}
