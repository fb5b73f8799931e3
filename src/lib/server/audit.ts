// The audit log: one append-only segment log (<data>/journal/audit/*.jsonl), rotated by size.
//
// Recording an entry appends one line, so it costs the same on day 1 and day 1,000, and entries that
// arrive together (pushes to different keys) share one fsync. Each sealed segment's summary (time
// range, and the envs, actors and actions in it) lets a query skip segments that cannot match, and
// the rest are read from their end: `audit --limit 20` reads the newest lines, not the whole log.
import type {FileHandle} from 'node:fs/promises'
import {join} from 'node:path'
import {summarizeAudit, type AuditSummary} from './journal-summaries.js'
import {migrateOnce} from './migrate.js'
import {SegmentLog} from './segment-log.js'
import type {AuditEntry, AuditQuery, AuditStore} from './storage-types.js'

export {summarizeAudit, type AuditSummary} from './journal-summaries.js'

export type {AuditEntry, AuditQuery} from './storage-types.js'

export interface AuditLogOptions {
  maxSegmentBytes?: number
  sync?: (handle: FileHandle) => Promise<void>
  now?: () => Date
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

  async record(entry: Omit<AuditEntry, 'time'>): Promise<AuditEntry> {
    const stored: AuditEntry = {time: this.now().toISOString(), ...entry}
    await (await this.log()).append(stored)
    return stored
  }

  async list(query: AuditQuery = {}): Promise<AuditEntry[]> {
    const limit = query.limit ?? 1000
    const since = query.since?.toISOString()
    const out: AuditEntry[] = []
    if (limit <= 0) return out
    const cannotMatch = (s: AuditSummary) =>
      (since !== undefined && s.to < since) ||
      (query.env !== undefined && s.envs !== null && !s.envs.includes(query.env)) ||
      (query.envs !== undefined && s.envs !== null && !s.envs.some((env) => query.envs!.includes(env))) ||
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
        if (query.envs !== undefined && (entry.env === undefined || !query.envs.includes(entry.env))) continue
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
    // Whoever opens the log first (serve, or a local command) migrates an old layout before it.
    this.opened ??= migrateOnce(this.dataDir).then(() => SegmentLog.open<AuditEntry, AuditSummary>({
      dir: auditDir(this.dataDir),
      maxSegmentBytes: this.options.maxSegmentBytes ?? 4 * 1024 * 1024,
      summarize: summarizeAudit,
      sync: this.options.sync,
    }))
    return this.opened
  }
}
