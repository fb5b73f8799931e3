// npm build: the CLI as CommonJS files, dist/stconf.cjs and dist/chunks/*.cjs, which bin/run.js
// requires. What only some commands need is split into chunks, evaluated on first use: each command
// (src/main.ts loads only the one that runs), the agent, serve, the ZooKeeper wrapper, execa. The
// packages in EXTERNAL stay outside the bundle and are loaded from node_modules when a command needs
// them: test/integration/startup.test.ts watches that client commands never load them. The single
// executable bundles them too (scripts/package.js).
//
// esbuild splits ES modules only: it bundles to ES modules in memory and commonJsFiles (bundle.js)
// turns each file into CommonJS. Ink and React are bundled into the TUI's chunk, which stays an ES
// module (Ink's layout engine has a top-level await): loaded from node_modules they are ~600 modules to
// resolve and read, ~0.35 s of `stconf tui`'s start (docs/bench.md, `stconf tui`).
// react-devtools-core is Ink's optional debugger (only with DEV=true), not installed.
import {build} from 'esbuild'
import {mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'
import {ROOT, commonJsFiles, entryPlugin, lazyOclifRequires, outputName, yamlAsModule} from './bundle.js'

// oclif's dependencies that only help, plugin discovery and spinners use (see lazyOclifRequires)
const OCLIF_UNBUNDLED = ['ansi-escapes', 'ansis', 'clean-stack', 'cli-spinners', 'ejs', 'get-package-type', 'indent-string', 'lilconfig', 'minimatch', 'string-width', 'tinyglobby', 'widest-line', 'wordwrap', 'wrap-ansi']
export const EXTERNAL = ['fastify', '@fastify/*', 'node-zookeeper-client', 'react-devtools-core', 'typescript', 'ts-node']

const DIST = join(ROOT, 'dist')
rmSync(DIST, {recursive: true, force: true})
const result = await build({
  entryPoints: {stconf: 'stconf:entry'},
  plugins: [entryPlugin('require("node:path").join(__dirname, "..")'), yamlAsModule, lazyOclifRequires({unbundled: OCLIF_UNBUNDLED})],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.5',
  outdir: DIST,
  absWorkingDir: ROOT, // metafile paths relative to ROOT (outputName)
  chunkNames: 'chunks/[name]-[hash]',
  external: EXTERNAL,
  write: false,
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
})

for (const file of await commonJsFiles(result)) {
  mkdirSync(dirname(file.path), {recursive: true})
  writeFileSync(file.path, file.code)
}

// dist/meta.json: what each file imports, read by test/integration/startup.test.ts
const meta = JSON.parse(JSON.stringify(result.metafile).replaceAll(/"(dist\/[^"]+\.js)"/g, (whole, path) => JSON.stringify(relative(ROOT, outputName(result, join(ROOT, path))))))
writeFileSync(join(DIST, 'meta.json'), JSON.stringify(meta))
const kib = (bytes) => `${Math.round(bytes / 1024)} KiB`
const chunks = Object.keys(meta.outputs).filter((file) => file.startsWith('dist/chunks/'))
console.log(`bundled dist/stconf.cjs (${kib(meta.outputs['dist/stconf.cjs'].bytes)}) and ${chunks.length} chunks (${chunks.filter((file) => file.endsWith('.mjs')).length} of them ES modules)`)
