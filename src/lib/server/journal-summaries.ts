// What each journal keeps per sealed segment (see segment-log.ts), so readers can skip segments.
import type {VersionMeta} from '../model.js'
import type {AuditEntry} from './storage-types.js'

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

/** First and last version in one segment. */
export interface VersionRange {
  first: number
  last: number
}

export const summarizeVersions = (range: VersionRange | undefined, meta: VersionMeta): VersionRange => ({
  first: range?.first ?? meta.version,
  last: meta.version,
})
