// What every stage of the pipeline is given: the log, the subprocess runner, the clock, the signal
// that stops running checks and reloads, and the hook that says "a file's report changed". Tests
// inject the runner and the clock; the agent passes the real ones.
import {formatErrorLine} from '../../errors.js'
import {runShell, type RunOptions, type RunResult} from '../../exec.js'
import type {ManagedFile} from '../managed-file.js'
import type {Logger} from '../types.js'

/** Runs a check or reload command: exec.ts's runShell, or a fake in unit tests. */
export type Runner = (command: string, options: RunOptions) => Promise<RunResult>

export interface Clock {
  now(): number
  setTimeout(run: () => void, ms: number): unknown
  clearTimeout(timer: unknown): void
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
}

export interface PipelineContext {
  logger: Logger
  run: Runner
  clock: Clock
  /** aborts running checks and reloads (their process trees are killed) */
  signal?: AbortSignal
  /** called whenever a file's report changed */
  onReport: () => void
  /** work after a file settled (the diff stat for the log), awaited by idle() */
  background: Set<Promise<void>>
}

export const defaultRunner: Runner = runShell

/** Run `work` after the current step, in the background that idle() awaits; a failure is a warning. */
export function later(context: PipelineContext, failed: string, key: string, work: () => Promise<void>): void {
  const task: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
    .then(work)
    .catch((error: unknown) => context.logger.warn(failed, {key, error: formatErrorLine(error)}))
    .finally(() => context.background.delete(task))
  context.background.add(task)
}

/** The file as it was before the change; undefined when there was none. */
export interface OldFile {
  bytes: Buffer
  mode: number
  uid: number
  gid: number
}

/** One version on its way to one file. */
export interface Change {
  file: ManagedFile
  version: number
  sha256: string
  content: Buffer
  /** where the bytes go: the destination, or the target of a symlinked one */
  target: string
  /** what is at the target now */
  old?: OldFile
}

/** A change that is in place, waiting for its reload (one entry of a reload batch). */
export interface Installed extends Change {
  /** the file as it was before the first change of this batch: what a rollback puts back */
  backup?: OldFile
}
