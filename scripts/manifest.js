// Writes oclif.manifest.json (what `oclif manifest` does) without pulling in the whole oclif CLI
// and its cloud SDK dependencies: oclif reads the manifest instead of importing every command.
import {Plugin} from '@oclif/core/config'
import {writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const plugin = new Plugin({root, type: 'core', isRoot: true, ignoreManifest: true, errorOnManifestCreate: true})
await plugin.load()
writeFileSync(join(root, 'oclif.manifest.json'), JSON.stringify(plugin.manifest, null, 2) + '\n')
console.log(`wrote oclif.manifest.json (${Object.keys(plugin.manifest.commands).length} commands)`)
