// Start-up is a feature: client commands must not load the ZooKeeper client, the HTTP server or React.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
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

  const loadedBy = (args: string[], expectStatus = 0) => {
    const record = join(tempDir(), 'modules.txt')
    const result = spawnSync(process.execPath, ['--require', join(ROOT, 'test/helpers/record-modules.cjs'), BIN, ...args], {
      env: {...process.env, STCONF_RECORD_MODULES: record, STCONF_SERVER: serve.url, STCONF_TOKEN: ADMIN_TOKEN, STCONF_ENV: 'prod'},
      encoding: 'utf8',
    })
    assert.equal(result.status, expectStatus, result.stderr)
    return readFileSync(record, 'utf8').split('\n')
  }

  for (const args of [['pull', 'game/conf.ini', '-o', '-'], ['push', 'game/conf.ini', '--file', '-'], ['history', 'game/conf.ini'], ['ls'], ['status'], ['audit']]) {
    it(`stconf ${args[0]} loads neither node-zookeeper-client, fastify nor React`, () => {
      const modules = loadedBy(args)
      assert.ok(modules.some((m) => m.includes('@oclif')), 'the recorder saw nothing')
      for (const heavy of ['node-zookeeper-client', 'fastify', 'react']) {
        assert.ok(!modules.some((m) => m.includes(`node_modules/${heavy}/`)), `${args[0]} loaded ${heavy}`)
      }
    })
  }

  it('stconf tui without a terminal refuses before loading React or Ink', () => {
    const modules = loadedBy(['tui'], 2)
    assert.ok(modules.some((m) => m.includes('@oclif')), 'the recorder saw nothing')
    assert.ok(!modules.some((m) => m.includes('node_modules/react/')), 'tui loaded React before checking for a terminal')
  })

  // React is CommonJS, so the recorder sees it; Ink is ESM (not in require.cache) but loads React,
  // so "no React" also means "no Ink". These prove the recorder would notice.
  it('the recorder does see React when a process loads the dashboard (Ink)', () => {
    const record = join(tempDir(), 'modules.txt')
    const result = spawnSync(process.execPath, ['--require', join(ROOT, 'test/helpers/record-modules.cjs'), '-e', "import('./dist/src/tui/run.js').then(() => process.exit(0))"], {
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
