// Pure formatting for the dashboard: ages, badges, fixed-width cells, content and diff lines.
// Nothing here knows React; every function is tested on its own (test/unit/tui-format.test.ts).
import type {InstanceView} from '../lib/fleet.js'

export type Tone = 'ok' | 'pending' | 'failed' | 'offline' | 'add' | 'del' | 'hunk' | 'meta' | 'dim' | 'accent'

export interface Line {
  text: string
  tone?: Tone
}

/** "5s", "2m", "3h", "4d": the age of an ISO time, as the panes show it. */
export function formatAge(iso: string | null | undefined, now: number): string {
  if (!iso) return '-'
  const seconds = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000))
  if (!Number.isFinite(seconds)) return '-'
  if (seconds < 60) return `${seconds}s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`
  return `${Math.floor(seconds / 86_400)}d`
}

const AGE_UNITS = [[60_000, 1000], [3_600_000, 60_000], [86_400_000, 3_600_000], [Infinity, 86_400_000]] as const

/** In how many ms the first of these ages (formatAge, against `now`) reads differently; Infinity: never. */
export function nextAgeChange(times: Iterable<string | null | undefined>, now: number): number {
  let next = Infinity
  for (const iso of times) {
    const at = iso ? Date.parse(iso) : Number.NaN
    if (!Number.isFinite(at)) continue
    const age = now - at
    if (age < 0) {
      next = Math.min(next, 1000 - age) // a clock ahead of ours: "0s" until a second after that time
      continue
    }

    const unit = AGE_UNITS.find(([below]) => age < below)![1]
    next = Math.min(next, unit - (age % unit))
  }

  return next
}

/** "07:26:41" in local time. */
export function formatClock(iso: string): string {
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? iso.slice(11, 19) : date.toTimeString().slice(0, 8)
}

/** Control characters (and tabs) would move the cursor and break the layout: make them visible. */
export function printable(text: string): string {
  return text.replaceAll('\t', '  ').replace(/[\u0000-\u001f\u007f-\u009f]/g, '�') // eslint-disable-line no-control-regex
}

/** Exactly `width` columns: cut with "…" or padded with spaces. */
export function fit(text: string, width: number): string {
  if (width <= 0) return ''
  const clean = printable(text)
  const chars = [...clean]
  if (chars.length > width) return width === 1 ? '…' : `${chars.slice(0, width - 1).join('')}…`
  return clean + ' '.repeat(width - chars.length)
}

/** Cuts a long name from the left, where names differ least: "…conf.d/pvp.ini". */
export function fitLeft(text: string, width: number): string {
  const chars = [...printable(text)]
  if (chars.length <= width || width <= 1) return fit(text, width)
  return `…${chars.slice(chars.length - width + 1).join('')}`
}

export interface FleetStats {
  total: number
  applied: number
  pending: number
  failed: number
  offline: number
}

export const emptyStats = (): FleetStats => ({total: 0, applied: 0, pending: 0, failed: 0, offline: 0})

/** What one instance's file counts as (design.md's states; offline wins, an offline report is old news). */
export function fileState(instance: Pick<InstanceView, 'online'>, file: InstanceView['files'][number]): 'ok' | 'pending' | 'failed' | 'offline' {
  if (!instance.online) return 'offline'
  if (file.status === 'check-failed' || file.status === 'reload-failed' || file.status === 'error') return 'failed'
  if (!file.inSync || file.status === 'pending') return 'pending'
  return 'ok'
}

/** key -> how many instances applied its current version, and how many are in trouble. */
export function fleetIndex(instances: InstanceView[]): Map<string, FleetStats> {
  const index = new Map<string, FleetStats>()
  for (const instance of instances) {
    for (const file of instance.files) {
      let stats = index.get(file.key)
      if (!stats) index.set(file.key, (stats = emptyStats()))
      stats.total++
      const state = fileState(instance, file)
      if (state === 'ok') stats.applied++
      else stats[state]++
    }
  }

  return index
}

/** "46/48 ▲2", with the tone of the worst state; the text alone says it too (NO_COLOR). */
export function formatBadge(stats: FleetStats | undefined): {text: string; tone: Tone} {
  if (!stats || stats.total === 0) return {text: '-', tone: 'dim'}
  const trouble = stats.failed + stats.pending + stats.offline
  const text = `${stats.applied}/${stats.total}${trouble > 0 ? ` ▲${trouble}` : ''}`
  const tone: Tone = stats.failed > 0 ? 'failed' : stats.pending > 0 ? 'pending' : stats.offline > 0 ? 'offline' : 'ok'
  return {text, tone}
}

export function toneOfState(state: string): Tone {
  if (state === 'ok') return 'ok'
  if (state === 'pending') return 'pending'
  if (state === 'offline' || state === 'stopped') return 'offline'
  return 'failed'
}

/** Text content as lines; content that is not UTF-8 text as a hex summary (never raw bytes on a terminal). */
export function contentLines(content: Buffer): Line[] {
  if (isBinary(content)) {
    const lines: Line[] = [{text: `binary content, ${content.length} bytes (hex, first ${Math.min(content.length, 512)} bytes)`, tone: 'meta'}]
    for (let offset = 0; offset < Math.min(content.length, 512); offset += 16) {
      const row = content.subarray(offset, offset + 16)
      const hex = [...row].map((b) => b.toString(16).padStart(2, '0')).join(' ')
      const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('')
      lines.push({text: `${offset.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  |${ascii}|`})
    }

    return lines
  }

  const text = content.toString('utf8').replace(/^\uFEFF/, '')
  const lines = text.split(/\r?\n/)
  if (lines.length > 1 && lines.at(-1) === '') lines.pop()
  return lines.map((line) => ({text: printable(line)}))
}

export function isBinary(content: Buffer): boolean {
  if (content.includes(0)) return true
  try {
    new TextDecoder('utf-8', {fatal: true}).decode(content)
    return false
  } catch {
    return true
  }
}

/** A unified diff's lines, each with its tone (added green, removed red, hunks cyan). */
export function diffLines(patch: string): Line[] {
  const lines = patch.split('\n')
  if (lines.at(-1) === '') lines.pop()
  return lines
    .filter((line) => !/^={10,}$/.test(line) && !line.startsWith('Index: '))
    .map((line) => {
      const text = printable(line)
      if (line.startsWith('+++') || line.startsWith('---')) return {text, tone: 'meta' as const}
      if (line.startsWith('@@')) return {text, tone: 'hunk' as const}
      if (line.startsWith('+')) return {text, tone: 'add' as const}
      if (line.startsWith('-')) return {text, tone: 'del' as const}
      return {text}
    })
}

/** The first visible row so that `cursor` stays on screen (centred while scrolling). */
export function windowStart(cursor: number, count: number, height: number): number {
  if (count <= height) return 0
  return Math.max(0, Math.min(cursor - Math.floor(height / 2), count - height))
}

/** The hint bar in `width` columns: all hints if they fit, else the first ones that do plus the last two ("? keys", "q quit"). */
export function fitHints(hints: string[], width: number): string {
  const join = (list: string[]) => ` ${list.join(' · ')}`
  if ([...join(hints)].length <= width) return join(hints)
  const pinned = hints.slice(-2)
  const kept: string[] = []
  for (const hint of hints.slice(0, -2)) {
    if ([...join([...kept, hint, ...pinned])].length > width) break
    kept.push(hint)
  }

  return join([...kept, ...pinned])
}
