// Writes oclif.manifest.json (what `oclif manifest` does) without pulling in the whole oclif CLI
// and its cloud SDK dependencies: oclif reads the manifest instead of importing every command.
// The bundle's COMMANDS table holds loaders (src/main.ts): every class is loaded here and handed to
// oclif the way main() does, so oclif imports nothing by path.
import {Plugin} from '@oclif/core/config'
import {readFileSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const {COMMANDS} = createRequire(import.meta.url)(join(root, pjson.oclif.commands.target))
const commands = Object.fromEntries(await Promise.all(Object.entries(COMMANDS).map(async ([id, load]) => [id, (await load()).default])))
const plugin = new Plugin({root, pjson, type: 'core', isRoot: true, ignoreManifest: true, errorOnManifestCreate: true})
Object.assign(plugin, {commandCache: commands})
await plugin.load()
writeFileSync(join(root, 'oclif.manifest.json'), JSON.stringify(plugin.manifest, null, 2) + '\n')
console.log(`wrote oclif.manifest.json (${Object.keys(plugin.manifest.commands).length} commands)`)
