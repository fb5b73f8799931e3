// Entry of the bundled CLI (dist/stconf.js and the single executable; scripts/bundle.js builds it).
// oclif gets the command classes from the bundle's own table: it never imports a file by path, which
// is what lets the same code run from one file on disk and from inside a single executable.
import type {Command} from '@oclif/core/command'
import {Plugin} from '@oclif/core/config'
import {flush} from '@oclif/core/flush'
import {handle} from '@oclif/core/handle'
import type {PJSON} from '@oclif/core/interfaces'
import {run} from '@oclif/core/run'

export async function main(commands: Record<string, Command.Class>, pjson: PJSON, root: string, argv: string[]): Promise<void> {
  // npm enforces package.json "engines"; oclif's own check loads semver (~20 ms) on every run.
  process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
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
