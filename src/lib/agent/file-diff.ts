// What a change did to a file, for people: a line count (+2 -1), the unified diff when asked for,
// or only the sizes when the bytes are not text or too big to compare. design.md: diffs are only
// for text files up to 1 MiB, and they are computed after the file settled, never on the apply
// path. `diff` is imported on first use, so an agent that never changes a file never loads it.

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

const utf8 = new TextDecoder('utf-8', {fatal: true, ignoreBOM: true})

/** The bytes as text, or undefined when they are not UTF-8 text (invalid sequences, NUL bytes). */
function asText(bytes: Buffer): string | undefined {
  if (bytes.includes(0)) return undefined
  try {
    return utf8.decode(bytes)
  } catch {
    return undefined
  }
}

/** Describe the change from `before` (undefined: no file) to `after`; with `names`, include the unified diff. */
export async function describeChange(before: Buffer | undefined, after: Buffer, names?: DiffNames): Promise<FileChange> {
  const sizes = {bytesBefore: before?.length ?? null, bytesAfter: after.length}
  const oldText = before === undefined ? '' : asText(before)
  const newText = asText(after)
  if (oldText === undefined || newText === undefined) return {kind: 'binary', added: null, removed: null, ...sizes}
  if ((before?.length ?? 0) > MAX_DIFF_BYTES || after.length > MAX_DIFF_BYTES) return {kind: 'large', added: null, removed: null, ...sizes}

  const {structuredPatch, formatPatch, FILE_HEADERS_ONLY} = await import('diff')
  const patch = structuredPatch(names?.before ?? 'before', names?.after ?? 'after', oldText, newText, undefined, undefined, {
    context: 3,
    maxEditLength: MAX_DIFF_EDITS,
  })
  if (!patch) return {kind: 'large', added: null, removed: null, ...sizes}
  let added = 0
  let removed = 0
  for (const hunk of patch.hunks) {
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
