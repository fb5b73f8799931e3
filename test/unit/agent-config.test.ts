import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parseAgentConfig, parseDuration, parseSource} from '../../src/lib/agent/config.js'
import {isStconfError} from '../../src/lib/errors.js'

const good = `
source: zk://zk1:2181,zk2:2181/stconf
env: prod
host: gs-101
cacheDir: /var/lib/stconf
pollInterval: 2s
files:
  - key: game/conf.ini
    dest: /etc/game/conf.ini
    mode: "0644"
    check: "gameserver --check-config {{path}}"
    reload: "systemctl restart game"
    reloadTimeout: 30s
    wait: 500ms
    logDiff: true
`

function problems(text: string): string[] {
  try {
    parseAgentConfig(text, 'agent.yml')
  } catch (error) {
    assert.ok(isStconfError(error) && error.code === 'bad-input', `a bad-input error, got ${String(error)}`)
    return error.message.split('\n')
  }

  assert.fail('expected the config to be refused')
}

describe('agent config', () => {
  it('reads the issue example', () => {
    const config = parseAgentConfig(good)
    assert.deepEqual(config.source, {kind: 'zk', connect: 'zk1:2181,zk2:2181', root: '/stconf', url: 'zk://zk1:2181,zk2:2181/stconf'})
    assert.equal(config.pollIntervalMs, 2000)
    assert.equal(config.host, 'gs-101')
    assert.deepEqual(config.files[0], {
      key: 'game/conf.ini',
      dest: '/etc/game/conf.ini',
      mode: 0o644,
      check: 'gameserver --check-config {{path}}',
      reload: 'systemctl restart game',
      reloadTimeoutMs: 30_000,
      waitMs: 500,
      logDiff: true,
    })
  })

  it('reads JSON and applies defaults', () => {
    const config = parseAgentConfig(
      JSON.stringify({source: 'http://127.0.0.1:7070', token: 't', env: 'dev', cacheDir: '/tmp/c', files: [{key: 'a/b', dest: '/tmp/b'}]}),
    )
    assert.equal(config.source.kind, 'http')
    assert.equal(config.files[0].mode, undefined)
    assert.equal(config.files[0].waitMs, 0)
    assert.equal(config.files[0].reloadTimeoutMs, 30_000)
    assert.equal(config.files[0].logDiff, false, 'diffs stay out of the log unless asked for (secrets)')
    assert.ok(config.host.length > 0)
  })

  it('gives one line per mistake, naming the field', () => {
    const lines = problems(`
source: ftp://x
env: Prod
cacheDir: relative/dir
pollInterval: soon
colour: blue
files:
  - key: ../etc/passwd
    dest: etc/game.ini
    mode: "999"
  - key: game/a.ini
    dest: /etc/a.ini
    wait: 2 weeks
    logDiff: sometimes
`)
    const expected = ['source:', 'env:', 'cacheDir:', 'pollInterval:', 'colour: unknown field', 'files[0].key:', 'files[0].dest:', 'files[0].mode:', 'files[1].wait:', 'files[1].logDiff: must be boolean']
    for (const field of expected) assert.ok(lines.some((line) => line.startsWith(`agent.yml: ${field}`)), `a line for ${field} in:\n${lines.join('\n')}`)
    assert.equal(lines.length, expected.length)
  })

  it('refuses missing fields, duplicate destinations, http without a token, bad YAML', () => {
    assert.deepEqual(problems('env: prod'), [
      'agent.yml: source: is required',
      'agent.yml: cacheDir: is required',
      'agent.yml: files: is required',
    ])
    const dup = problems(`source: http://h:7070\nenv: prod\ncacheDir: /c\nfiles:\n  - {key: a/b, dest: /x}\n  - {key: a/c, dest: /x}\n`)
    assert.ok(dup.some((line) => line.includes('files[1].dest') && line.includes('files[0]')))
    assert.ok(dup.some((line) => line.startsWith('agent.yml: token:')))
    assert.match(problems('files: [')[0], /^agent.yml: not valid YAML/)
    assert.match(problems('- a\n- b')[0], /expected a mapping/)
  })

  it('parses durations and sources', () => {
    assert.equal(parseDuration('500ms'), 500)
    assert.equal(parseDuration('2s'), 2000)
    assert.equal(parseDuration('1m'), 60_000)
    assert.equal(parseDuration('1.5s'), 1500)
    assert.equal(parseDuration(250), 250)
    assert.equal(parseDuration('2 weeks'), undefined)
    assert.deepEqual(parseSource('zk://127.0.0.1:2181'), {kind: 'zk', connect: '127.0.0.1:2181', root: '/stconf', url: 'zk://127.0.0.1:2181'})
    assert.equal(typeof parseSource('zk://nohostport/x'), 'string')
  })
})
