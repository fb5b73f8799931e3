// The error for a command stconf does not have, with the closest one it does.
import {badInput, type StconfError} from '../errors.js'
import {closest} from '../suggest.js'

/** `typed` as the operator wrote it ("tokn list"); `commandIds` as oclif spells them ("token:list"). */
export function unknownCommand(typed: string, commandIds: string[]): StconfError {
  const commands = commandIds.map((c) => c.replaceAll(':', ' '))
  // `stconf tokn list` -> "token list"; `stconf versoin extra` -> "version" (its first word).
  const near = closest(typed, commands) ?? closest(typed.split(' ')[0], commands.filter((c) => !c.includes(' ')))
  return badInput(`unknown command "${typed}"`, `${near ? `did you mean ${near}? ` : ''}see \`stconf help\` for every command`)
}
