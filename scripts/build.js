// npm build: the CLI as CommonJS files, dist/stconf.cjs and dist/chunks/*.cjs, which bin/run.js
// requires. What only some commands need is split into chunks, evaluated on first use: each command
// (src/main.ts loads only the one that runs), the agent, serve, the ZooKeeper wrapper, execa. The
// packages in EXTERNAL stay outside the bundle and are loaded from node_modules when a command needs
// them: test/integration/startup.test.ts watches that client commands never load them. The single
// executable bundles them too (scripts/package.js).
//
// esbuild splits ES modules only, so it bundles to ES modules in memory and each file is then turned
// into CommonJS: on Node 20, loading ES modules cost every start-up about 10 ms more than the same
// code as CommonJS (the ESM loader's resolve/link steps per file and a facade per Node built-in
// imported; docs/bench.md, "CLI start-up").
import {build, transform} from 'esbuild'
import {mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {basename, dirname, join, relative} from 'node:path'
import {ROOT, entryPlugin, lazyOclifRequires, requireBuiltins, yamlAsModule} from './bundle.js'

// oclif's dependencies that only help, plugin discovery and spinners use (see lazyOclifRequires)
const OCLIF_UNBUNDLED = ['ansi-escapes', 'ansis', 'clean-stack', 'cli-spinners', 'ejs', 'get-package-type', 'indent-string', 'lilconfig', 'minimatch', 'string-width', 'tinyglobby', 'widest-line', 'wordwrap', 'wrap-ansi']
export const EXTERNAL = ['fastify', '@fastify/*', 'node-zookeeper-client', 'react', 'react/*', 'react-dom', 'ink', 'ink/*', 'yoga-layout', 'typescript', 'ts-node']

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
  chunkNames: 'chunks/[name]-[hash]',
  external: EXTERNAL,
  write: false,
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
})

// Files that import Ink (ES modules only, with a top-level await: Node 20 cannot require it) stay ES
// modules (.mjs), and so does every file that imports one of them statically.
const ESM_ONLY = /^(ink|yoga-layout)(\/|$)/
const staysEsm = new Set()
for (let grew = true; grew; ) {
  grew = false
  for (const [out, {imports}] of Object.entries(result.metafile.outputs)) {
    if (staysEsm.has(out) || !imports.some((i) => i.kind === 'import-statement' && (i.external ? ESM_ONLY.test(i.path) : staysEsm.has(i.path)))) continue
    staysEsm.add(out)
    grew = true
  }
}

const outName = (path) => path.replace(/\.js$/, staysEsm.has(relative(ROOT, path)) ? '.mjs' : '.cjs')
const names = new Map(result.outputFiles.map((file) => [basename(file.path), basename(outName(file.path))]))
// Only specifiers naming one of the outputs: `"./chunks/pull-X.js"` -> `"./chunks/pull-X.cjs"`.
const renamed = (text) => text.replace(/"(\.\.?\/(?:chunks\/)?)([^"/]+\.js)"/g, (whole, dir, name) => (names.has(name) ? `"${dir}${names.get(name)}"` : whole))
// Bundled CommonJS (oclif) calls require() for Node's own modules: an ES module file gets one.
const REQUIRE = "import {createRequire as __stconfRequire} from 'node:module'; const require = __stconfRequire(import.meta.url);\n"
for (const file of result.outputFiles) {
  const out = outName(file.path)
  mkdirSync(dirname(out), {recursive: true})
  if (out.endsWith('.mjs')) {
    writeFileSync(out, REQUIRE + renamed(file.text))
    continue
  }

  // import() of a CommonJS file would give its exports as `default`: such a chunk is required
  // instead (still on first use), and so is a Node built-in (requireBuiltins). import() of an ES
  // module file or of an outside package stays.
  const esm = renamed(file.text).replace(/\bimport\(("\.\.?\/[^"]+\.cjs")\)/g, 'Promise.resolve().then(() => require($1))')
  const {code} = await transform(esm, {format: 'cjs', platform: 'node', target: 'node20.5', logLevel: 'warning'})
  writeFileSync(out, requireBuiltins(code))
}

// dist/meta.json: what each file imports, read by test/integration/startup.test.ts
const meta = JSON.parse(JSON.stringify(result.metafile).replaceAll(/"(dist\/[^"]+\.js)"/g, (whole, path) => JSON.stringify(relative(ROOT, outName(join(ROOT, path))))))
writeFileSync(join(DIST, 'meta.json'), JSON.stringify(meta))
const kib = (bytes) => `${Math.round(bytes / 1024)} KiB`
console.log(`bundled dist/stconf.cjs (${kib(meta.outputs['dist/stconf.cjs'].bytes)}) and ${names.size - 1} chunks (${staysEsm.size} of them ES modules)`)
