import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {checkSyntax} from '../../src/lib/content-check.js'
import {EXIT_CODES, exitCodeOf, formatErrorLine, fromHttp, StconfError} from '../../src/lib/errors.js'
import {checkSize, parseVersion, validateEnv, validateKey} from '../../src/lib/model.js'
import {KeyedLock} from '../../src/lib/keyed-lock.js'
import {settled} from '../helpers/promises.js'

describe('keys and envs', () => {
  it('accepts app/file paths', () => {
    for (const key of ['game/conf.ini', 'game/conf.d/rates.ini', 'a/b', 'App-1/x_y.z']) assert.equal(validateKey(key), key)
  })

  it('refuses unsafe or malformed keys with one line each', () => {
    for (const key of ['', 'conf.ini', '/etc/passwd', '../x', 'a/../b', 'a//b', 'a/./b', 'a/.hidden', 'a/b/', 'a/b c', 'a/b\\c']) {
      assert.throws(() => validateKey(key), (error: unknown) => error instanceof StconfError && error.code === 'bad-input' && !error.message.includes('\n'), key)
    }
  })

  it('checks env names', () => {
    assert.equal(validateEnv('prod'), 'prod')
    assert.equal(validateEnv('eu-west_1'), 'eu-west_1')
    for (const env of ['', 'Prod', '-x', 'a'.repeat(33), 'a/b']) assert.throws(() => validateEnv(env), /invalid env/)
  })

  it('parses versions and the size limit', () => {
    assert.equal(parseVersion('3'), 3)
    for (const raw of ['0', '-1', '1.5', 'x', '']) assert.throws(() => parseVersion(raw), /invalid version/)
    assert.throws(() => checkSize(Buffer.alloc(11), 10), /over the limit of 10 bytes/)
    checkSize(Buffer.alloc(10), 10)
  })
})

describe('errors', () => {
  it('maps codes to exit codes and HTTP statuses in one place', () => {
    assert.equal(exitCodeOf(new StconfError('conflict', 'x')), 4)
    assert.equal(exitCodeOf(new Error('boom')), 1)
    assert.equal(new StconfError('unavailable', 'x').status, 503)
    assert.equal(EXIT_CODES['bad-input'], 2)
    assert.equal(exitCodeOf(new StconfError('not-converged', 'x')), 8)
    assert.equal(fromHttp(409, {message: 'stale'}).code, 'conflict', 'a bare 409 is a conflict, not "not converged"')
    assert.equal(fromHttp(403, {error: 'forbidden', message: 'no'}).code, 'forbidden')
    assert.equal(fromHttp(404, {message: 'gone'}).code, 'not-found')
    // serve's internal error is a bug (exit 1), not "a check or reload failed" (7)
    assert.equal(fromHttp(500, {error: 'internal', message: 'internal error: boom'}).exitCode, 1)
    assert.equal(fromHttp(502, {message: 'bad gateway'}).exitCode, 1)
    assert.match(formatErrorLine(fromHttp(500, {error: 'internal', message: 'internal error: boom'})), /bug in stconf serve/)
    assert.equal(formatErrorLine(new StconfError('bad-input', 'bad', 'try this')), 'bad - try this')
    assert.match(formatErrorLine(new Error('boom')), /bug in stconf/)
  })
})

describe('syntax checks', () => {
  const ok = async (key: string, text: string) => checkSyntax(key, Buffer.from(text))
  it('passes valid files and unknown types', async () => {
    await ok('a/x.json', '{"a": [1, 2]}')
    await ok('a/x.yaml', 'a: 1\nb: [1, 2]\n')
    await ok('a/x.toml', 'a = 1\n[b]\nc = "d"\n')
    await ok('a/x.ini', '; comment\n[server]\nport = 1\nflag\n')
    await ok('a/x.properties', 'a=b\nc=\\u00e9\n')
    await ok('a/x.conf', '{{{ anything')
    await ok('a/x.json', '\uFEFF{"bom": true}')
  })

  it('refuses broken files, naming the key and format', async () => {
    for (const [key, text] of [
      ['a/x.json', '{"a":'],
      ['a/x.yml', 'a: [1\n'],
      ['a/x.toml', 'a ='],
      ['a/x.ini', '[server\nport=1'],
      ['a/x.ini', '= value'],
      ['a/x.properties', 'a=\\uXYZW'],
    ]) {
      await assert.rejects(ok(key, text), new RegExp(`${key.replace('.', '\\.')} is not valid`), key)
    }
  })
})

describe('KeyedLock', () => {
  /** Work that records its start, then waits for `gate` before it records its end. */
  const work = (events: string[], name: string, gate: Promise<void> = Promise.resolve()) => async () => {
    events.push(`start ${name}`)
    await gate
    events.push(`end ${name}`)
  }

  it('runs work for one key one at a time, in order', async () => {
    const lock = new KeyedLock()
    const events: string[] = []
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    const first = lock.run('k', work(events, 'a', gate))
    const second = lock.run('k', work(events, 'b'))
    // b is queued while a holds the key: a lock that let it run would have started (and ended) it by now.
    assert.equal(await settled(second), false)
    assert.deepEqual(events, ['start a'])
    open()
    await Promise.all([first, second])
    assert.deepEqual(events, ['start a', 'end a', 'start b', 'end b'])
  })

  it('runs work for another key while one key is held', async () => {
    const lock = new KeyedLock()
    const events: string[] = []
    let open!: () => void
    const held = lock.run('k', work(events, 'a', new Promise<void>((resolve) => (open = resolve))))
    const other = lock.run('other', work(events, 'c'))
    assert.equal(await settled(other), true, 'the other key waits for nothing')
    assert.deepEqual(events, ['start a', 'start c', 'end c'])
    open()
    await held
  })
})

describe('unknown commands (src/main.ts)', () => {
  it('names the words as typed when they name no command, and leaves commands, topics and flags to oclif', async () => {
    const {unknownCommandOf} = await import('../../src/main.js')
    const ids = ['push', 'version', 'token:create', 'token:list', 'env:ls']
    assert.equal(unknownCommandOf(['versoin'], ids), 'versoin')
    assert.equal(unknownCommandOf(['tokn', 'list', '--json'], ids), 'tokn list')
    assert.equal(unknownCommandOf(['token', 'creat'], ids), 'token creat')
    assert.equal(unknownCommandOf(['push', 'game/conf.ini'], ids), undefined)
    assert.equal(unknownCommandOf(['token'], ids), undefined)
    assert.equal(unknownCommandOf(['token', 'list'], ids), undefined)
    assert.equal(unknownCommandOf(['--version'], ids), undefined)
    assert.equal(unknownCommandOf([], ids), undefined)
  })

  it('names the command argv runs, whose class alone is loaded; none for a topic, flags alone or a typo', async () => {
    const {commandOf} = await import('../../src/main.js')
    const ids = ['push', 'version', 'token:create', 'token:list', 'env:ls']
    assert.equal(commandOf(['push', 'game/conf.ini', '-m', 'x'], ids), 'push')
    assert.equal(commandOf(['token', 'list', '--json'], ids), 'token:list')
    assert.equal(commandOf(['env', 'ls'], ids), 'env:ls')
    assert.equal(commandOf(['token'], ids), undefined)
    assert.equal(commandOf(['--help'], ids), undefined)
    assert.equal(commandOf(['pusj'], ids), undefined)
  })
})
