// The --wait / --wait-timeout flags of push and rollback, and how waiting looks in a terminal: a live
// line on stderr when it is a TTY (rewritten in place), plain progress lines otherwise.
import * as Flags from '@oclif/core/flags'
import type {ApiClient} from '../client/api-client.js'
import {formatTable} from '../client/operations.js'
import {progressText, receiptTable, rolloutError, waitForRollout, type RolloutResult} from '../client/rollout.js'
import {durationFlag} from '../duration.js'
import type {StconfError} from '../errors.js'

export const waitFlags = {
  wait: Flags.boolean({description: 'wait until every online instance following the key applied this version or failed it (exit 0 / 7 / 8)'}),
  'wait-timeout': Flags.string({description: 'with --wait: how long to wait', default: '30s', helpValue: '<duration>'}),
}

export interface WaitOutcome {
  result: RolloutResult
  /** lines to print on stdout: one per instance */
  lines: string
  error?: StconfError
}

/** Read --wait-timeout before anything is published: bad input changes nothing. */
export function waitTimeout(flags: {wait: boolean; 'wait-timeout': string}): {ms: number; text: string} | undefined {
  return flags.wait ? {ms: durationFlag(flags['wait-timeout'], '--wait-timeout'), text: flags['wait-timeout']} : undefined
}

export async function waitAndReport(
  client: ApiClient,
  target: {env: string; key: string; version: number},
  timeout: {ms: number; text: string},
  stderr: NodeJS.WriteStream = process.stderr,
): Promise<WaitOutcome> {
  const timeoutMs = timeout.ms
  const live = stderr.isTTY === true
  let shown = false
  const result = await waitForRollout(client, target, {
    timeoutMs,
    onProgress(progress) {
      if (live) stderr.write(`\r\u001B[2K${progressText(progress)}`)
      else stderr.write(`${progressText(progress)}\n`)
      shown = true
    },
  })
  if (live && shown) stderr.write('\n')
  const lines = result.receipts.length === 0 ? `no online instance follows ${target.key} in env ${target.env}` : formatTable(receiptTable(result.receipts))
  return {result, lines, error: rolloutError(result, timeout.text)}
}
