// Entry of the bundled CLI (dist/stconf.js and the single executable; scripts/bundle.js builds it).
// oclif gets the command classes from the bundle's own table: it never imports a file by path, which
// is what lets the same code run from one file on disk and from inside a single executable.
import type {Command} from '@oclif/core/command'
import {Plugin} from '@oclif/core/config'
import {flush} from '@oclif/core/flush'
import {handle} from '@oclif/core/handle'
import type {PJSON} from '@oclif/core/interfaces'
import {run} from '@oclif/core/run'
import {unknownCommand} from './lib/cli/unknown-command.js'
import {exitCodeOf, formatErrorLine} from './lib/errors.js'

/**
 * `stconf versoin`, `stconf tokn list`, `stconf token creat`: the words as typed when they name no
 * command (nor a topic alone, which oclif answers with its help); else undefined. Decided here, from
 * the bundle's own table, rather than in an oclif hook: a hook is imported by path, which the single
 * executable cannot do.
 */
export function unknownCommandOf(argv: string[], ids: string[]): string | undefined {
  const words: string[] = []
  for (const arg of argv) {
    if (arg.startsWith('-')) break
    words.push(arg)
  }

  if (words.length === 0) return undefined
  const known = (id: string) => ids.includes(id)
  const topic = (id: string) => ids.some((c) => c.startsWith(`${id}:`))
  if (known(words[0])) return undefined
  if (topic(words[0]) && (words.length === 1 || known(`${words[0]}:${words[1]}`))) return undefined
  return words.join(' ')
}

export async function main(commands: Record<string, Command.Class>, pjson: PJSON, root: string, argv: string[]): Promise<void> {
  // npm enforces package.json "engines"; oclif's own check loads semver (~20 ms) on every run.
  process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
  const typo = unknownCommandOf(argv, Object.keys(commands))
  if (typo !== undefined) {
    const error = unknownCommand(typo, Object.keys(commands))
    process.stderr.write(`stconf: ${formatErrorLine(error)}\n`)
    process.exitCode = exitCodeOf(error)
    return
  }

  try {
    const plugin = new Plugin({root, isRoot: true, pjson, type: 'core'})
    // The table oclif would import from the "explicit" target (package.json); set before load(), so
    // neither the manifest nor a command lookup imports anything by path.
    Object.assign(plugin, {commandCache: commands})
    await plugin.load()
    await run(argv, {root, pjson, plugins: new Map([[plugin.name, plugin]])})
    await flush()
  } catch (error) {
    await handle(error as Error)
  }
}
