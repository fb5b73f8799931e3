// Start-up is a feature: client commands must not load the ZooKeeper client, the HTTP server or React.
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

  const loadedBy = (args: string[]) => {
    const record = join(tempDir(), 'modules.txt')
    const result = spawnSync(process.execPath, ['--require', join(ROOT, 'test/helpers/record-modules.cjs'), BIN, ...args], {
      env: {...process.env, STCONF_RECORD_MODULES: record, STCONF_SERVER: serve.url, STCONF_TOKEN: ADMIN_TOKEN, STCONF_ENV: 'prod'},
      encoding: 'utf8',
      input: 'k=v\n', // push --file - reads it (an empty file is refused)
    })
    assert.equal(result.status, 0, result.stderr)
    return readFileSync(record, 'utf8').split('\n')
  }

  const commands = [['pull', 'game/conf.ini', '-o', '-'], ['push', 'game/conf.ini', '--file', '-'], ['history', 'game/conf.ini'], ['ls'], ['env', 'ls'], ['version'], ['token', 'recover', '--data', recoverable()]]
  for (const args of commands) {
    it(`stconf ${args.slice(0, 2).join(' ')} loads neither node-zookeeper-client, fastify nor React`, () => {
      const modules = loadedBy(args)
      assert.ok(modules.some((m) => m.includes('@oclif')), 'the recorder saw nothing')
      for (const heavy of ['node-zookeeper-client', 'fastify', 'react']) {
        assert.ok(!modules.some((m) => m.includes(`node_modules/${heavy}/`)), `${args.slice(0, 2).join(' ')} loaded ${heavy}`)
      }
    })
  }

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
