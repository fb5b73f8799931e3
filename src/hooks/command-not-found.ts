// `stconf versoin`: one line in the house format, the closest command, exit 2 (oclif's own answer is
// several lines in another format).
import type {Hook} from '@oclif/core/interfaces'
import {unknownCommand} from '../lib/cli/unknown-command.js'
import {exitCodeOf, formatErrorLine} from '../lib/errors.js'

const hook: Hook.CommandNotFound = async function ({id}) {
  const error = unknownCommand(id.replaceAll(':', ' '), this.config.commandIDs)
  process.stderr.write(`stconf: ${formatErrorLine(error)}\n`)
  process.exitCode = exitCodeOf(error)
}

export default hook
