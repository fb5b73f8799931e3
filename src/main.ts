// Entry of the bundled CLI (dist/stconf.cjs and the single executable; scripts/bundle.js builds it).
// oclif gets the command classes from the bundle's own table: it never imports a file by path, which
// is what lets the same code run from one file on disk and from inside a single executable. The table
// holds loaders: a run evaluates the code of its own command only (the rest is in chunks, docs/bench.md
// "CLI start-up").
import type {Command} from '@oclif/core/command'
import {Plugin} from '@oclif/core/config'
import {flush} from '@oclif/core/flush'
import {handle} from '@oclif/core/handle'
import type {PJSON} from '@oclif/core/interfaces'
import {run} from '@oclif/core/run'
import {unknownCommand} from './lib/cli/unknown-command.js'
import {exitCodeOf, formatErrorLine} from './lib/errors.js'

/** A command's module, evaluated on first use: `() => import('./commands/pull.ts')`. */
export type CommandLoader = () => Promise<{default: Command.Class}>

/** The words before the first flag: `push game/conf.ini -m x` -> ['push', 'game/conf.ini']. */
function wordsOf(argv: string[]): string[] {
  const words: string[] = []
  for (const arg of argv) {
    if (arg.startsWith('-')) break
    words.push(arg)
  }

  return words
}

/** The command that argv runs (`token list --json` -> token:list), or undefined (a topic, help, a typo). */
export function commandOf(argv: string[], ids: string[]): string | undefined {
  const [first, second] = wordsOf(argv)
  if (second !== undefined && ids.includes(`${first}:${second}`)) return `${first}:${second}`
  return ids.includes(first) ? first : undefined
}

/**
 * `stconf versoin`, `stconf tokn list`, `stconf token creat`: the words as typed when they name no
 * command (nor a topic alone, which oclif answers with its help); else undefined. Decided here, from
 * the bundle's own table, rather than in an oclif hook: a hook is imported by path, which the single
 * executable cannot do.
 */
export function unknownCommandOf(argv: string[], ids: string[]): string | undefined {
  const words = wordsOf(argv)
  if (words.length === 0) return undefined
  const known = (id: string) => ids.includes(id)
  const topic = (id: string) => ids.some((c) => c.startsWith(`${id}:`))
  if (known(words[0])) return undefined
  if (topic(words[0]) && (words.length === 1 || known(`${words[0]}:${words[1]}`))) return undefined
  return words.join(' ')
}

export async function main(loaders: Record<string, CommandLoader>, pjson: PJSON, root: string, argv: string[]): Promise<void> {
  // npm enforces package.json "engines"; oclif's own check loads semver (~20 ms) on every run.
  process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
  const ids = Object.keys(loaders)
  const typo = unknownCommandOf(argv, ids)
  if (typo !== undefined) {
    const error = unknownCommand(typo, ids)
    process.stderr.write(`stconf: ${formatErrorLine(error)}\n`)
    process.exitCode = exitCodeOf(error)
    return
  }

  try {
    // A command's run needs its own class only: oclif reads the others' flags and descriptions from
    // oclif.manifest.json (or, in the single executable, which has no such file, from the classes
    // loaded). Help, topics and `stconf` alone get every class.
    const id = commandOf(argv, ids)
    const wanted = id === undefined || id === 'help' ? ids : [id]
    const commands = Object.fromEntries(await Promise.all(wanted.map(async (w) => [w, (await loaders[w]()).default] as const)))
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
