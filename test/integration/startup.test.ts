// Start-up is a feature: client commands must not load the ZooKeeper client, the HTTP server or React.
// The CLI runs as bundled CommonJS files (scripts/build.js), one chunk per command: a run loads its
// own command's chunk and nothing from node_modules (the outside packages, and the oclif
// dependencies that only help uses, are loaded from there when a command needs them); the recorder
// sees every CommonJS file loaded. The bundle's metafile shows what start-up evaluates (the entry
// and the chunks it imports statically).
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {ADMIN_TOKEN, BIN, ROOT, startServe, tempDir, type ServeHandle} from '../helpers/cli.js'

describe('what a client command loads', () => {
  let serve: ServeHandle
  before(async () => {
    serve = await startServe()
    await fetch(`${serve.url}/api/v1/config/prod/game/conf.ini`, {method: 'PUT', headers: {authorization: `Bearer ${ADMIN_TOKEN}`}, body: 'k=v\n'})
  })
  after(async () => serve.stop())

  const recoverable = () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'tokens.json'), '{"tokens": []}\n')
    return dir
  }

  const loadedBy = (args: string[], expectStatus = 0) => {
    const record = join(tempDir(), 'modules.txt')
    const result = spawnSync(process.execPath, ['--require', join(ROOT, 'test/helpers/record-modules.cjs'), BIN, ...args], {
      env: {...process.env, STCONF_RECORD_MODULES: record, STCONF_SERVER: serve.url, STCONF_TOKEN: ADMIN_TOKEN, STCONF_ENV: 'prod'},
      encoding: 'utf8',
      input: 'k=v\n', // push --file - reads it (an empty file is refused)
    })
    assert.equal(result.status, expectStatus, result.stderr)
    return readFileSync(record, 'utf8').split('\n')
  }

  type Output = {imports: Array<{path: string; kind: string; external?: boolean}>; inputs: Record<string, unknown>; entryPoint?: string}
  const meta = () => JSON.parse(readFileSync(join(ROOT, 'dist', 'meta.json'), 'utf8')) as {outputs: Record<string, Output>}
  /** Each command's chunk (dist/chunks/pull-XXXX.cjs) by the command's source file. */
  const commandChunks = () =>
    Object.entries(meta().outputs)
      .filter(([, output]) => output.entryPoint?.startsWith('src/commands/'))
      .map(([file, output]) => ({file: join(ROOT, file), source: output.entryPoint!}))

  const commands = [['pull', 'game/conf.ini', '-o', '-'], ['push', 'game/conf.ini', '--file', '-'], ['history', 'game/conf.ini'], ['ls'], ['status'], ['audit'], ['env', 'ls'], ['version'], ['token', 'recover', '--data', recoverable()]]
  for (const args of commands) {
    it(`stconf ${args.slice(0, 2).join(' ')} loads its own command's code and nothing from node_modules`, () => {
      const modules = loadedBy(args)
      // oclif, the client and every command come from the bundle; neither node-zookeeper-client,
      // fastify, React nor oclif's help libraries are loaded at all
      assert.deepEqual(modules.filter((m) => m.includes('/node_modules/')), [], `${args.slice(0, 2).join(' ')} loaded from node_modules`)
      const source = `src/commands/${args[0] === 'env' || args[0] === 'token' ? `${args[0]}/${args[1]}` : args[0]}.ts`
      const loaded = commandChunks().filter((chunk) => modules.includes(chunk.file)).map((chunk) => chunk.source)
      assert.deepEqual(loaded, [source], `${args.slice(0, 2).join(' ')} evaluated other commands`)
    })
  }

  it('the bundle evaluates none of them at start-up, and serve and the agent load them lazily', () => {
    const {outputs} = meta()
    const heavy = /^(fastify|@fastify\/|node-zookeeper-client|react|ink|yoga-layout)/
    const seen = new Set<string>()
    const visit = (file: string) => {
      if (seen.has(file)) return
      seen.add(file)
      for (const imported of outputs[file].imports) {
        if (imported.kind !== 'import-statement') continue // dynamic import(): evaluated on first use
        assert.ok(!heavy.test(imported.path), `${file} imports ${imported.path} at start-up`)
        if (!imported.external) visit(imported.path)
      }
    }

    visit('dist/stconf.cjs')
    const inputs = [...seen].flatMap((file) => Object.keys(outputs[file].inputs))
    assert.ok(inputs.some((input) => input.includes('node_modules/@oclif/core/')), 'oclif is not in the start-up bundle')
    // zod too: the API contract's schemas are loaded by serve and the agent, never by a client command's start-up
    assert.ok(!inputs.some((input) => /node_modules\/(fastify|node-zookeeper-client|react|ink|zod)\//.test(input)))
    for (const lazy of ['src/commands/pull.ts', 'src/commands/serve.ts', 'src/lib/server/serve.ts', 'src/lib/zk/zk-client.ts', 'src/lib/agent/agent.ts', 'src/lib/api/contract.ts', 'node_modules/execa/index.js']) {
      assert.ok(!inputs.includes(lazy), `${lazy} is evaluated at start-up`)
      assert.ok(Object.values(outputs).some((output) => lazy in output.inputs), `${lazy} is not in the bundle at all`)
    }
  })

  it('stconf tui without a terminal refuses before loading React or Ink', () => {
    const modules = loadedBy(['tui'], 2)
    assert.ok(!modules.some((m) => m.includes('node_modules/react/')), 'tui loaded React before checking for a terminal')
  })

  // React is CommonJS, so the recorder sees it; Ink is ESM (not in require.cache) but loads React,
  // so "no React" also means "no Ink". These prove the recorder would notice.
  it('the recorder does see React when a process loads the dashboard (Ink)', () => {
    const record = join(tempDir(), 'modules.txt')
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--require', join(ROOT, 'test/helpers/record-modules.cjs'), '-e', "import('./src/tui/run.tsx').then(() => process.exit(0))"], {
      cwd: ROOT,
      env: {...process.env, STCONF_RECORD_MODULES: record},
    })
    assert.equal(result.status, 0, String(result.stderr))
    assert.match(readFileSync(record, 'utf8'), /node_modules\/react\//)
  })

  it('the recorder does see node-zookeeper-client when a process loads it', () => {
    const record = join(tempDir(), 'modules.txt')
    const result = spawnSync(process.execPath, ['--require', join(ROOT, 'test/helpers/record-modules.cjs'), '-e', "require('node-zookeeper-client')"], {
      cwd: ROOT,
      env: {...process.env, STCONF_RECORD_MODULES: record},
    })
    assert.equal(result.status, 0)
    assert.match(readFileSync(record, 'utf8'), /node_modules\/node-zookeeper-client\//)
  })
})
