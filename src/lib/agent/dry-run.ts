// `stconf agent --once --dry-run`: what the agent would change now, without doing any of it. It
// reads the center (or, when the center cannot be reached, the copies this agent applied last, from
// its cache) and compares them with the files on disk. Nothing is written (not even the cache dir),
// no check or reload runs, no report is sent. Templates do not exist yet; when they come, this is
// where the dry run renders them.
import {join} from 'node:path'
import {sleep} from '../sleep.js'
import {formatErrorLine, isStconfError, unavailable} from '../errors.js'
import {createSource} from './agent.js'
import {readIfExists} from './cache.js'
import {ManagedFile} from './managed-file.js'
import type {AgentConfig} from './config.js'
import {colorDiff, describeChange, formatChangeStat, type FileChange} from './file-diff.js'
import type {Current, Logger, Source} from './types.js'

/** change: it would write the file; same: in sync; no-key: not in the center, left alone; unknown: cannot tell */
export type DryRunOutcome = 'change' | 'same' | 'no-key' | 'unknown'

export interface DryRunFile {
  key: string
  dest: string
  /** the version it would write: the center's, or the cached one */
  version: number | null
  outcome: DryRunOutcome
  /** the destination does not exist yet */
  newFile: boolean
  /** what writing it would do, with the unified diff from the file on disk (text up to 1 MiB) */
  change: FileChange | null
  /** why the outcome is unknown */
  error: string | null
}

export interface DryRunResult {
  dryRun: true
  /** where the versions come from: the center, or this agent's cache because the center is unreachable */
  from: 'center' | 'cache'
  source: string
  centerError: string | null
  /** files that would be written */
  wouldChange: number
  /** files whose outcome is unknown (no center and no cached copy, unreadable destination) */
  unknown: number
  files: DryRunFile[]
}

export interface DryRunOptions {
  config: AgentConfig
  logger: Logger
  /** how long to keep trying the center before falling back to the cache */
  timeoutMs: number
  /** inject a source (tests) */
  source?: Source
}

type CenterAnswer = {current: Map<string, Current | null>} | {error: unknown}

/** Read every key from the center; retries while it is unreachable, until the deadline. */
async function readCenter(source: Source, keys: string[], deadline: number): Promise<CenterAnswer> {
  for (;;) {
    try {
      const entries = await Promise.all(keys.map(async (key) => [key, await source.fetch(key)] as const))
      return {current: new Map(entries)}
    } catch (error) {
      if (!isStconfError(error) || error.code !== 'unavailable') throw error
      if (Date.now() >= deadline) return {error}
      await sleep(250)
    }
  }
}

/** The error's own words: its hint ("retrying in the background") speaks for a running agent. */
function messageOf(error: unknown): string {
  return isStconfError(error) ? error.message : formatErrorLine(error)
}

/** What the agent would write; null: the key is not in the center; undefined: not known */
interface Wanted {
  version: number
  content: Buffer
}

async function planFile(file: ManagedFile, wanted: Wanted | null | undefined, from: DryRunResult['from']): Promise<DryRunFile> {
  const {key, dest} = file.spec
  const base = {key, dest, version: wanted?.version ?? null, newFile: false, change: null, error: null}
  if (wanted === null) return {...base, outcome: 'no-key'}
  if (wanted === undefined) return {...base, outcome: 'unknown', error: 'the center is unreachable and the cache has no copy of this file'}
  let onDisk: Buffer | undefined
  try {
    onDisk = await readIfExists(dest)
  } catch (error) {
    return {...base, outcome: 'unknown', error: `cannot read ${dest}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`}
  }

  if (onDisk?.equals(wanted.content)) return {...base, outcome: 'same'}
  const change = await describeChange(onDisk, wanted.content, {
    before: onDisk ? `${dest} (on disk)` : `${dest} (new file)`,
    after: `${key} v${wanted.version} (${from})`,
  })
  return {...base, outcome: 'change', newFile: !onDisk, change}
}

/** What `--once` would do now, done by nobody. */
export async function dryRun(options: DryRunOptions): Promise<DryRunResult> {
  const {config, logger} = options
  const files = config.files.map((spec) => new ManagedFile(spec, join(config.cacheDir, config.env)))
  const keys = [...new Set(files.map((file) => file.key))]
  const source = options.source ?? createSource(config, logger)
  const controller = new AbortController()
  let answer: CenterAnswer
  try {
    // No keys to follow: nothing is watched or reported, the source only answers fetch().
    await source.start([], () => undefined, controller.signal)
    answer = await readCenter(source, keys, Date.now() + options.timeoutMs)
  } finally {
    controller.abort()
    await source.stop()
  }

  const from = 'current' in answer ? 'center' : 'cache'
  const planned: DryRunFile[] = []
  for (const file of files) {
    let wanted: Wanted | null | undefined
    if ('current' in answer) {
      const current = answer.current.get(file.key)
      wanted = current ? {version: current.meta.version, content: current.content} : null
    } else {
      wanted = await file.cache.copy().catch(() => undefined) // an unreadable cache knows nothing
    }

    planned.push(await planFile(file, wanted, from))
  }

  if ('error' in answer && planned.every((file) => file.outcome === 'unknown')) {
    // Nothing to compare with at all: that is "unreachable", not "would change".
    throw unavailable(`${messageOf(answer.error)}, and the cache has no copy of any file`, 'a dry run needs the center, or the cache of an earlier run of the agent')
  }

  return {
    dryRun: true,
    from,
    source: source.description,
    centerError: 'error' in answer ? messageOf(answer.error) : null,
    wouldChange: planned.filter((file) => file.outcome === 'change').length,
    unknown: planned.filter((file) => file.outcome === 'unknown').length,
    files: planned,
  }
}

/** The dry run for a terminal: a header, one line per file, the diffs, a summary. */
export function formatDryRun(result: DryRunResult, color = false): string {
  const lines: string[] = []
  lines.push(
    result.from === 'center'
      ? `dry run against ${result.source}: nothing was written, run, reloaded or reported`
      : `dry run: the center is unreachable (${result.centerError}); comparing with the versions this agent applied last (its cache)`,
  )
  for (const file of result.files) {
    const head = `${file.key}${file.version === null ? '' : ` v${file.version}`} -> ${file.dest}`
    if (file.outcome === 'same') lines.push(`${head}: no change`)
    else if (file.outcome === 'no-key') lines.push(`${head}: not in the center; the file is left as it is`)
    else if (file.outcome === 'unknown') lines.push(`${head}: unknown, ${file.error}`)
    else {
      lines.push(`${head}: would change, ${formatChangeStat(file.change!)}`)
      const diff = file.change?.diff?.replace(/\n$/, '')
      if (diff) lines.push(color ? colorDiff(diff) : diff)
    }
  }

  lines.push(summarizeDryRun(result))
  return lines.join('\n')
}

/** `no file would change`, `2 of 3 files would change`, `..., 1 cannot be compared`. */
export function summarizeDryRun(result: DryRunResult): string {
  const total = result.files.length
  const unknown = result.unknown > 0 ? `, ${result.unknown} cannot be compared` : ''
  return result.wouldChange === 0
    ? `no file would change${unknown}`
    : `${result.wouldChange} of ${total} ${total === 1 ? 'file' : 'files'} would change${unknown}`
}
