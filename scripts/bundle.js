// The esbuild set-up shared by the npm build (scripts/build.js) and the single executable
// (scripts/package.js): one entry made from every file under src/commands, whose table of command
// classes oclif reads (package.json oclif.commands, strategy "explicit") instead of importing one
// file per command.
import {transform} from 'esbuild'
import {readdirSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {basename, dirname, join, relative, sep} from 'node:path'
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
        // sortWithoutIcu below relies on it
        if (!/^[a-z]+(-[a-z]+)*(:[a-z]+(-[a-z]+)*)*$/.test(id)) throw new Error(`${path}: a command id is lowercase words (${id})`)
        found.push({id, path})
      }
    }
  }

  walk(dir)
  return found.sort((a, b) => a.id.localeCompare(b.id))
}

/**
 * The entry's source: the table of command loaders that src/main.ts hands to oclif. `root` is an
 * expression for the package root: oclif reads oclif.manifest.json
 * there (the npm build; the single executable has none and builds its manifest from the classes).
 * `autorun`: the module runs the CLI itself (the executable's script) instead of exporting `run`.
 */
function entrySource(root, autorun) {
  const commands = commandFiles()
  return [
    `import {fileURLToPath} from 'node:url'`,
    `import {main} from ${JSON.stringify(join(ROOT, 'src', 'main.ts'))}`,
    `import pjson from ${JSON.stringify(join(ROOT, 'package.json'))}`,
    // one dynamic import() per command: esbuild puts each in its own chunk, evaluated when it runs
    `export const COMMANDS = {${commands.map((command) => `${JSON.stringify(command.id)}: () => import(${JSON.stringify(command.path)})`).join(', ')}}`,
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
        return {contents: `${count ? 'const {lazy: __stconfLazy} = require("stconf:lazy");\n' : ''}${sortWithoutIcu(args.path, contents)}`, loader: 'js'}
      })
    },
  }
}

/**
 * Plugin.load() sorts the command ids with localeCompare, whose first call sets up ICU's collator:
 * 5-7 ms of every start-up, more than the rest of loading the plugin. The ids are lowercase ASCII
 * words joined by ':', which code-unit order sorts the same way. The build fails if oclif changes.
 */
function sortWithoutIcu(path, contents) {
  if (!/[\\/]config[\\/]plugin\.js$/.test(path)) return contents
  const icu = '.sort((a, b) => a.id.localeCompare(b.id));'
  if (!contents.includes(icu)) throw new Error(`${path} no longer sorts command ids as scripts/bundle.js expects`)
  return contents.replace(icu, '.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));')
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

/**
 * import() of a Node built-in (the client's `import('node:http')`) as a require, for CommonJS output.
 * The first import() sets up Node's ES module loader (2-6 ms), and the facade it builds for a
 * built-in reads every export: on Node 24 `http`'s lazy WebSocket getter then loads undici, ~25 ms.
 * What import() would give: the built-in's exports (read through the prototype: copying them would
 * call that getter too), and all of them as `default`.
 */
export function requireBuiltins(code) {
  const replaced = code.replace(/\bimport\(("node:[a-z/_]+")\)/g, 'Promise.resolve().then(() => __stconfBuiltin($1))')
  if (replaced === code) return code
  return `const __stconfBuiltin = (id) => { const m = require(id); return Object.create(m, {default: {value: m, enumerable: true}}) };\n${replaced}`
}

// Files that hold or import Ink (ES modules only, with a top-level await: Node 20 cannot require it)
// stay ES modules, and so does every file that imports one of them statically.
const ESM_ONLY = /^(ink|yoga-layout)(\/|$)/
const ESM_ONLY_INPUT = /node_modules\/(ink|yoga-layout)\//
const esmOutputs = new WeakMap()
function staysEsm(result) {
  if (esmOutputs.has(result)) return esmOutputs.get(result)
  const esm = new Set()
  for (let grew = true; grew; ) {
    grew = false
    for (const [out, {imports}] of Object.entries(result.metafile.outputs)) {
      const holdsInk = Object.keys(result.metafile.outputs[out].inputs).some((input) => ESM_ONLY_INPUT.test(input))
      if (esm.has(out) || (!holdsInk && !imports.some((i) => i.kind === 'import-statement' && (i.external ? ESM_ONLY.test(i.path) : esm.has(i.path))))) continue
      esm.add(out)
      grew = true
    }
  }

  esmOutputs.set(result, esm)
  return esm
}

/** Where an output of esbuild's ES module build goes: x.js -> x.cjs, or x.mjs if it stays an ES module. */
export function outputName(result, path) {
  return path.replace(/\.js$/, staysEsm(result).has(relative(ROOT, path)) ? '.mjs' : '.cjs')
}

/**
 * The files of an esbuild build (format esm, splitting, write: false) as CommonJS, [{path, code}].
 * esbuild splits ES modules only; on Node 20, loading ES modules cost every start-up about 10 ms
 * more than the same code as CommonJS (the ES module loader's resolve and link steps per file and a
 * facade per Node built-in imported; docs/bench.md, "CLI start-up").
 */
export async function commonJsFiles(result) {
  const names = new Map(result.outputFiles.map((file) => [basename(file.path), basename(outputName(result, file.path))]))
  // Only specifiers naming one of the outputs: `"./chunks/pull-X.js"` -> `"./chunks/pull-X.cjs"`.
  const renamed = (text) => text.replace(/"(\.\.?\/(?:chunks\/)?)([^"/]+\.js)"/g, (whole, dir, name) => (names.has(name) ? `"${dir}${names.get(name)}"` : whole))
  return Promise.all(result.outputFiles.map(async (file) => {
    const path = outputName(result, file.path)
    // Bundled CommonJS (oclif) calls require() for Node's own modules: an ES module file gets one.
    if (path.endsWith('.mjs')) return {path, code: REQUIRE + renamed(file.text)}
    // import() of a CommonJS file would give its exports as `default`: such a chunk is required
    // instead (still on first use), and so is a Node built-in (requireBuiltins). import() of an ES
    // module file or of an outside package stays.
    const esm = renamed(file.text).replace(/\bimport\(("\.\.?\/[^"]+\.cjs")\)/g, 'Promise.resolve().then(() => require($1))')
    const {code} = await transform(esm, {format: 'cjs', platform: 'node', target: 'node20.5', logLevel: 'warning'})
    return {path, code: requireBuiltins(code)}
  }))
}

const REQUIRE = "import {createRequire as __stconfRequire} from 'node:module'; const require = __stconfRequire(import.meta.url);\n"
