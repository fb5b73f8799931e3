// What a change did to a file, for people: a line count (+2 -1), the unified diff when asked for,
// or only the sizes when the bytes are not text or too big to compare. design.md: diffs are only
// for text files up to 1 MiB, and they are computed after the file settled, never on the apply
// path. `diff` is imported on first use, so an agent that never changes a file never loads it.
import {isUtf8} from 'node:buffer'

/** Text larger than this (before or after) is described by its sizes only. */
export const MAX_DIFF_BYTES = 1024 * 1024
/**
 * jsdiff's Myers diff runs synchronously and costs about the square of the edits (lines removed +
 * added): on this machine 500 edits took 160 ms, 1,000 took 550 ms, a 5,000-line rewrite seconds,
 * whatever the file's length. Past this many edits a change is described by its sizes.
 */
export const MAX_DIFF_EDITS = 500

export interface ChangeStat {
  /** text: added/removed count lines; binary: not UTF-8 (or has NUL bytes); large: over 1 MiB or too many changes to compare */
  kind: 'text' | 'binary' | 'large'
  added: number | null
  removed: number | null
  /** null: the file did not exist before */
  bytesBefore: number | null
  bytesAfter: number
}

export interface FileChange extends ChangeStat {
  /** the unified diff, when asked for and the content is text */
  diff?: string
}

export interface DiffNames {
  /** header of the old side (---) and of the new side (+++) */
  before: string
  after: string
}

const NL = 0x0a
const CONTEXT = 3

/** UTF-8 without NUL bytes; checked natively (a 1 MiB file in about a millisecond). */
function isText(bytes: Buffer): boolean {
  return !bytes.includes(0) && isUtf8(bytes)
}

/** Length of the longest common prefix (or suffix), by binary search over native comparisons. */
function commonLength(a: Buffer, b: Buffer, limit: number, fromEnd: boolean): number {
  const part = (buf: Buffer, n: number) => (fromEnd ? buf.subarray(buf.length - n) : buf.subarray(0, n))
  let low = 0
  let high = limit
  while (low < high) {
    const mid = (low + high + 1) >>> 1
    if (part(a, mid).equals(part(b, mid))) low = mid
    else high = mid - 1
  }

  return low
}

/**
 * The part of two files that differs, widened to whole lines plus CONTEXT lines each side, as text,
 * and how many lines come before it. A config change is usually a few lines of a long file: diffing
 * only this part gives the same hunks (and counts) as the whole file, for a fraction of the time and
 * memory (one changed line in 20,000: 317 ms and 22 MiB of heap for the whole file). A '\n' byte is
 * never inside a multi-byte UTF-8 sequence, so cutting at one keeps both parts valid text.
 */
function changedPart(a: Buffer, b: Buffer): {a: string; b: string; linesBefore: number} {
  const head = commonLength(a, b, Math.min(a.length, b.length), false)
  // Back to the start of the line holding the first difference (its '\n' is common), then CONTEXT lines more.
  let start = head === 0 ? 0 : a.lastIndexOf(NL, head - 1) + 1
  for (let line = 0; line < CONTEXT && start > 0; line++) start = start >= 2 ? a.lastIndexOf(NL, start - 2) + 1 : 0

  const tail = commonLength(a, b, Math.min(a.length, b.length) - head, true)
  // Forward to a line start inside the common tail (so it is one in both files), then CONTEXT lines more.
  const firstBreak = a.indexOf(NL, a.length - tail)
  let end = firstBreak === -1 ? a.length : firstBreak + 1
  for (let line = 0; line < CONTEXT && end < a.length; line++) {
    const next = a.indexOf(NL, end)
    end = next === -1 ? a.length : next + 1
  }

  let linesBefore = 0
  for (let at = 0; at < start; at++) if (a[at] === NL) linesBefore++
  return {a: a.toString('utf8', start, end), b: b.toString('utf8', start, b.length - (a.length - end)), linesBefore}
}

/** Describe the change from `before` (undefined: no file) to `after`; with `names`, include the unified diff. */
export async function describeChange(before: Buffer | undefined, after: Buffer, names?: DiffNames): Promise<FileChange> {
  const sizes = {bytesBefore: before?.length ?? null, bytesAfter: after.length}
  const old = before ?? Buffer.alloc(0)
  if (!isText(old) || !isText(after)) return {kind: 'binary', added: null, removed: null, ...sizes}
  if (old.length > MAX_DIFF_BYTES || after.length > MAX_DIFF_BYTES) return {kind: 'large', added: null, removed: null, ...sizes}

  const {structuredPatch, formatPatch, FILE_HEADERS_ONLY} = await import('diff')
  const part = changedPart(old, after)
  const patch = structuredPatch(names?.before ?? 'before', names?.after ?? 'after', part.a, part.b, undefined, undefined, {
    context: CONTEXT,
    maxEditLength: MAX_DIFF_EDITS,
  })
  if (!patch) return {kind: 'large', added: null, removed: null, ...sizes}
  let added = 0
  let removed = 0
  for (const hunk of patch.hunks) {
    hunk.oldStart += part.linesBefore
    hunk.newStart += part.linesBefore
    for (const line of hunk.lines) {
      if (line.startsWith('+')) added++
      else if (line.startsWith('-')) removed++
    }
  }

  const change: FileChange = {kind: 'text', added, removed, ...sizes}
  if (names && patch.hunks.length > 0) change.diff = formatPatch(patch, FILE_HEADERS_ONLY)
  return change
}

function bytes(n: number): string {
  return n.toLocaleString('en-US')
}

/** `+2 -1 lines`, `+3 -0 lines (new file)`, `binary, 4,096 -> 4,120 bytes`, `over 1 MiB, ... bytes`. */
export function formatChangeStat(stat: ChangeStat): string {
  if (stat.kind === 'text') return `+${stat.added} -${stat.removed} lines${stat.bytesBefore === null ? ' (new file)' : ''}`
  const what = stat.kind === 'binary' ? 'binary' : Math.max(stat.bytesBefore ?? 0, stat.bytesAfter) > MAX_DIFF_BYTES ? 'over 1 MiB' : 'too many changes to diff'
  return stat.bytesBefore === null ? `${what}, new file, ${bytes(stat.bytesAfter)} bytes` : `${what}, ${bytes(stat.bytesBefore)} -> ${bytes(stat.bytesAfter)} bytes`
}

/** The short form for a table cell: `+2 -1`, `binary`, `large`. */
export function formatChangeShort(stat: ChangeStat | null | undefined): string {
  if (!stat) return '-'
  if (stat.kind === 'text') return `+${stat.added} -${stat.removed}`
  return stat.kind
}

const ANSI = {red: '\u001B[31m', green: '\u001B[32m', cyan: '\u001B[36m', bold: '\u001B[1m', reset: '\u001B[0m'}

/** Colour a unified diff for a terminal: headers bold, hunks cyan, removals red, additions green. */
export function colorDiff(patch: string): string {
  return patch
    .split('\n')
    .map((line) => {
      if (line.startsWith('+++') || line.startsWith('---')) return `${ANSI.bold}${line}${ANSI.reset}`
      if (line.startsWith('@@')) return `${ANSI.cyan}${line}${ANSI.reset}`
      if (line.startsWith('+')) return `${ANSI.green}${line}${ANSI.reset}`
      if (line.startsWith('-')) return `${ANSI.red}${line}${ANSI.reset}`
      return line
    })
    .join('\n')
}
