// `stconf versoin`: one line in the house format, the closest command, exit 2 (oclif's own answer is
// several lines in another format, and exit 2 only by chance).
import type {Hook} from '@oclif/core/interfaces'
import {badInput, EXIT_CODES, formatErrorLine} from '../lib/errors.js'
import {closest} from '../lib/suggest.js'

const hook: Hook.CommandNotFound = async function ({id}) {
  const typed = id.replaceAll(':', ' ')
  const commands = this.config.commandIDs.map((c) => c.replaceAll(':', ' '))
  // `stconf tokn list` -> "token list"; `stconf versoin extra` -> "version" (its first word).
  const near = closest(typed, commands) ?? closest(typed.split(' ')[0], commands.filter((c) => !c.includes(' ')))
  const error = badInput(`unknown command "${typed}"`, `${near ? `did you mean ${near}? ` : ''}see \`stconf help\` for every command`)
  process.stderr.write(`stconf: ${formatErrorLine(error)}\n`)
  process.exitCode = EXIT_CODES['bad-input']
}

export default hook
