// The esbuild set-up shared by the npm build (scripts/build.js) and the single executable
// (scripts/package.js): one entry made from every file under src/commands, whose table of command
// classes oclif reads (package.json oclif.commands, strategy "explicit") instead of importing one
// file per command.
import {readdirSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {dirname, join, relative, sep} from 'node:path'
import {fileURLToPath} from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

/** oclif's ids for the files under src/commands: token/create.ts -> token:create, x/index.ts -> x. */
export function commandFiles() {
  const dir = join(ROOT, 'src', 'commands')
  const found = []
  const walk = (at) => {
    for (const entry of readdirSync(at, {withFileTypes: true})) {
      const path = join(at, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
        const id = relative(dir, path).replace(/\.tsx?$/, '').split(sep).filter((part, i, all) => !(part === 'index' && i === all.length - 1)).join(':')
        found.push({id, path})
      }
    }
  }

  walk(dir)
  return found.sort((a, b) => a.id.localeCompare(b.id))
}

/**
 * The entry's source. `root` is an expression for the package root: oclif reads oclif.manifest.json
 * there (the npm build; the single executable has none and builds its manifest from the classes).
 * `autorun`: the module runs the CLI itself (the executable's script) instead of exporting `run`.
 */
function entrySource(root, autorun) {
  const commands = commandFiles()
  return [
    `import {fileURLToPath} from 'node:url'`,
    `import {main} from ${JSON.stringify(join(ROOT, 'src', 'main.ts'))}`,
    `import pjson from ${JSON.stringify(join(ROOT, 'package.json'))}`,
    ...commands.map((command, i) => `import C${i} from ${JSON.stringify(command.path)}`),
    `export const COMMANDS = {${commands.map((command, i) => `${JSON.stringify(command.id)}: C${i}`).join(', ')}}`,
    `export const run = (argv = process.argv.slice(2)) => main(COMMANDS, pjson, ${root}, argv)`,
    autorun ? 'run()' : '',
  ].join('\n')
}

/** An esbuild plugin that serves the entry as the virtual module `stconf:entry`. */
export function entryPlugin(root, {autorun = false} = {}) {
  return {
    name: 'stconf-entry',
    setup(build) {
      build.onResolve({filter: /^stconf:entry$/}, () => ({path: 'stconf:entry', namespace: 'stconf'}))
      build.onLoad({filter: /.*/, namespace: 'stconf'}, () => ({contents: entrySource(root, autorun), loader: 'js', resolveDir: ROOT}))
    },
  }
}

/**
 * yaml's "node" export is CommonJS; a dynamic import() of CommonJS from a split ES module chunk gets
 * only a default export (content-check.ts imports yaml lazily). Its ES module build is the same code.
 */
export const yamlAsModule = {
  name: 'yaml-esm',
  setup(build) {
    build.onResolve({filter: /^yaml$/}, () => ({path: join(ROOT, 'node_modules', 'yaml', 'browser', 'index.js')}))
  },
}

/**
 * oclif requires every module it might need at the top of each file (the help system, plugin
 * discovery with its glob libraries, spinners, templates), so a `pull` evaluated most of oclif before
 * running. This turns oclif's top-level `const x = require("...")` into a lazy module: required on
 * first use of one of its exports. What a run never touches is then never evaluated.
 *
 * `unbundled`: oclif's own dependencies that no command's run uses (help, plugin discovery, spinners:
 * ~320 KiB that V8 would still have to parse at every start-up). The npm build leaves them in
 * node_modules and requires them, on first use, from where @oclif/core is installed (so npm's
 * hoisting does not matter); the single executable has no node_modules and bundles them.
 */
export function lazyOclifRequires({unbundled = []} = {}) {
  const outside = new Set(unbundled)
  return {
    name: 'lazy-oclif-requires',
    setup(build) {
      build.onResolve({filter: /^stconf:lazy$/}, () => ({path: 'stconf:lazy', namespace: 'stconf-lazy'}))
      build.onLoad({filter: /.*/, namespace: 'stconf-lazy'}, () => ({contents: LAZY_SOURCE, loader: 'js'}))
      build.onLoad({filter: /[\\/]node_modules[\\/]@oclif[\\/]core[\\/]lib[\\/].*\.js$/}, async (args) => {
        const source = await readFile(args.path, 'utf8')
        let count = 0
        const contents = source.replace(/^(const|var|let) (\w+) = ((?:__importDefault|__importStar)\()?require\(("[^"]+"|'[^']+')\)(\))?;$/gm, (whole, kind, name, wrap, spec, close) => {
          if ((wrap === undefined) !== (close === undefined)) return whole
          count++
          const load = outside.has(spec.slice(1, -1)) ? '__stconfLazy.fromOclif' : 'require'
          return `${kind} ${name} = __stconfLazy(() => ${wrap ?? ''}${load}(${spec})${close ?? ''});`
        })
        return {contents: count ? `const {lazy: __stconfLazy} = require("stconf:lazy");\n${contents}` : contents, loader: 'js'}
      })
    },
  }
}

// A function target so that a module whose export is itself a function can still be called.
const LAZY_SOURCE = `
exports.lazy = function lazy(load) {
  let loaded = false, value
  const real = () => (loaded ? value : ((loaded = true), (value = load())))
  return new Proxy(function () {}, {
    get: (_, key) => real()[key],
    set: (_, key, v) => ((real()[key] = v), true),
    has: (_, key) => key in real(),
    apply: (_, self, args) => Reflect.apply(real(), self, args),
    construct: (_, args) => Reflect.construct(real(), args),
  })
}
let oclifRequire
exports.lazy.fromOclif = (spec) => {
  oclifRequire ??= require('node:module').createRequire(require.resolve('@oclif/core'))
  return oclifRequire(spec)
}
`
