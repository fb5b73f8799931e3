// npm build: the CLI as one ES module, dist/stconf.js, which bin/run.js imports. What only some
// commands need is split into chunks under dist/chunks, evaluated on first use (the agent, serve, the
// ZooKeeper wrapper, execa). The packages below stay outside the bundle and are loaded from
// node_modules when a command needs them: test/integration/startup.test.ts watches that client
// commands never load them. The single executable bundles them too (scripts/package.js).
import {build} from 'esbuild'
import {rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {ROOT, entryPlugin, lazyOclifRequires, yamlAsModule} from './bundle.js'

// oclif's dependencies that only help, plugin discovery and spinners use (see lazyOclifRequires)
const OCLIF_UNBUNDLED = ['ansi-escapes', 'ansis', 'clean-stack', 'cli-spinners', 'ejs', 'get-package-type', 'indent-string', 'lilconfig', 'minimatch', 'string-width', 'tinyglobby', 'widest-line', 'wordwrap', 'wrap-ansi']
export const EXTERNAL = ['fastify', '@fastify/*', 'node-zookeeper-client', 'react', 'react/*', 'react-dom', 'ink', 'ink/*', 'yoga-layout', 'typescript', 'ts-node']

rmSync(join(ROOT, 'dist'), {recursive: true, force: true})
const result = await build({
  entryPoints: {stconf: 'stconf:entry'},
  plugins: [entryPlugin('fileURLToPath(new URL("..", import.meta.url))'), yamlAsModule, lazyOclifRequires({unbundled: OCLIF_UNBUNDLED})],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.5',
  outdir: join(ROOT, 'dist'),
  chunkNames: 'chunks/[name]-[hash]',
  external: EXTERNAL,
  // Bundled CommonJS (oclif) calls require() for Node's own modules: give ES module chunks one.
  banner: {js: "import {createRequire as __stconfRequire} from 'node:module'; const require = __stconfRequire(import.meta.url);"},
  sourcemap: 'linked',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
})
writeFileSync(join(ROOT, 'dist', 'meta.json'), JSON.stringify(result.metafile))
const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith('.js'))
const kib = (bytes) => `${Math.round(bytes / 1024)} KiB`
console.log(`bundled dist/stconf.js (${kib(result.metafile.outputs['dist/stconf.js'].bytes)}) and ${outputs.length - 1} chunks`)
