// Stage 3: the candidate, beside the target (same filesystem, so the rename is atomic), with the
// configured mode, else the old file's mode and owner; then `check` on it. A failed check leaves the
// old file alone; a check stopped by the agent's abort says nothing about the version.
import {mkdirSync} from 'node:fs'
import {dirname} from 'node:path'
import {formatErrorLine} from '../../errors.js'
import {ExecError} from '../../exec.js'
import {writeTemp, type TempFile} from '../../fs-atomic.js'
import type {Change, PipelineContext} from './context.js'

export type Checked = {candidate: TempFile} | {failed: string} | {aborted: true}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`
}

export async function check(change: Change, context: PipelineContext): Promise<Checked> {
  const {spec} = change.file
  const mode = spec.mode ?? change.old?.mode ?? 0o644
  mkdirSync(dirname(change.target), {recursive: true})
  const candidate = await writeTemp(change.target, change.content, {mode, exact: true, owner: change.old})
  if (!spec.check) return {candidate}
  try {
    await context.run(spec.check.replaceAll('{{path}}', shellQuote(candidate.path)), {timeoutMs: spec.reloadTimeoutMs, signal: context.signal})
    return {candidate}
  } catch (error) {
    await candidate.discard()
    if (error instanceof ExecError && error.reason === 'aborted') return {aborted: true}
    return {failed: formatErrorLine(error)}
  }
}
