// Durations as operators write them, in agent configs and flags (--wait-timeout, --instance-retention).
import {badInput} from './errors.js'

const UNITS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000}

/** "500ms", "2s", "1m", "1.5s", "1h", "7d"; a bare number is milliseconds. Returns undefined when malformed. */
export function parseDuration(raw: string | number): number | undefined {
  if (typeof raw === 'number') return Number.isFinite(raw) && raw >= 0 ? Math.round(raw) : undefined
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(raw)
  if (!match) return undefined
  return Math.round(Number(match[1]) * UNITS[match[2] ?? 'ms'])
}

/** A flag's duration, or one clear line (exit 2). */
export function durationFlag(raw: string, flag: string): number {
  const ms = parseDuration(raw)
  if (ms === undefined || ms === 0) throw badInput(`invalid ${flag} "${raw}"`, 'use a duration like 30s, 2m, 1h, 7d')
  return ms
}
