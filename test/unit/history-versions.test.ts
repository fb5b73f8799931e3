// Version history (src/lib/server/history.ts) at the unit level: what append accepts and what list,
// get, lastVersion and keys read back. A History on a temp dir, one claim per case; every append goes
// through add(). The segment log under it has its own tests (segment-log.test.ts).
import assert from 'node:assert/strict'
import {readdirSync} from 'node:fs'
import type {FileHandle} from 'node:fs/promises'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import type {VersionMeta} from '../../src/lib/model.js'
import {encodeKey, History, historyDir} from '../../src/lib/server/history.js'
import {tempDir} from '../helpers/cli.js'

const meta = (version: number, message = `v${version}`): VersionMeta => ({
  version,
  sha256: 'a'.repeat(64),
  size: 1,
  author: 'ci',
  message,
  time: '2026-01-01T00:00:00.000Z',
  kind: 'push',
})

/** The one place a test appends: version `version` of `key` (message "v<version>" unless given). */
const add = (history: History, env: string, key: string, version: number, message?: string) => history.append(env, key, meta(version, message), Buffer.from(`v${version}`))

async function filled(versions: number, options: ConstructorParameters<typeof History>[1] = {}): Promise<{history: History; dir: string}> {
  const dir = tempDir('stconf-history-')
  const history = new History(dir, options)
  for (let v = 1; v <= versions; v++) await add(history, 'prod', 'game/conf.ini', v)
  return {history, dir}
}

describe('History: append and read', () => {
  it('knows nothing of a key never appended to', async () => {
    const history = new History(tempDir('stconf-history-'))
    assert.equal(await history.lastVersion('prod', 'game/none.ini'), 0)
    assert.deepEqual(await history.list('prod', 'game/none.ini'), [])
    assert.equal(await history.get('prod', 'game/none.ini', 1), null)
  })

  it('lists newest first, at most `limit` entries', async () => {
    const {history} = await filled(5)
    assert.deepEqual((await history.list('prod', 'game/conf.ini')).map((m) => m.version), [5, 4, 3, 2, 1])
    assert.deepEqual((await history.list('prod', 'game/conf.ini', 2)).map((m) => m.version), [5, 4])
    assert.deepEqual(await history.list('prod', 'game/conf.ini', 0), [])
  })

  it('refuses a version that is not after the last one, and keeps the history as it was', async () => {
    const {history} = await filled(3)
    await assert.rejects(add(history, 'prod', 'game/conf.ini', 3, 'again'), /version 3 is not after 3/)
    await assert.rejects(add(history, 'prod', 'game/conf.ini', 1, 'older'), /version 1 is not after 3/)
    assert.deepEqual((await history.list('prod', 'game/conf.ini')).map((m) => m.message), ['v3', 'v2', 'v1'])
  })

  it('takes a gap in the versions (a version made out of band and then lost is not invented)', async () => {
    const {history} = await filled(2)
    await add(history, 'prod', 'game/conf.ini', 7)
    assert.equal(await history.lastVersion('prod', 'game/conf.ini'), 7)
    assert.equal(await history.get('prod', 'game/conf.ini', 5), null)
  })

  it('gets any version across many segments, from either end of its segment', async () => {
    const {history, dir} = await filled(80, {maxSegmentBytes: 600})
    const segments = readdirSync(join(historyDir(dir), 'prod', encodeKey('game/conf.ini'))).filter((name) => name.endsWith('.jsonl'))
    assert.ok(segments.length > 5, `the history spans segments (${segments.length})`)
    for (const version of [1, 2, 39, 40, 41, 79, 80]) assert.equal((await history.get('prod', 'game/conf.ini', version))?.message, `v${version}`)
    assert.equal(await history.get('prod', 'game/conf.ini', 0), null)
    assert.equal(await history.get('prod', 'game/conf.ini', 81), null)
  })

  it('keeps keys and envs apart: each has its own versions', async () => {
    const history = new History(tempDir('stconf-history-'))
    await add(history, 'prod', 'game/a.ini', 1)
    await add(history, 'prod', 'game/a.ini', 2)
    await add(history, 'prod', 'game/b.ini', 1)
    await add(history, 'staging', 'game/a.ini', 1)
    assert.equal(await history.lastVersion('prod', 'game/a.ini'), 2)
    assert.equal(await history.lastVersion('prod', 'game/b.ini'), 1)
    assert.equal(await history.lastVersion('staging', 'game/a.ini'), 1)
  })

  it('reads back after a restart what an earlier process appended', async () => {
    const {dir} = await filled(4)
    const again = new History(dir)
    assert.equal(await again.lastVersion('prod', 'game/conf.ini'), 4)
    await add(again, 'prod', 'game/conf.ini', 5)
    assert.deepEqual((await again.list('prod', 'game/conf.ini', 2)).map((m) => m.version), [5, 4])
  })

  it('syncs once per append (the injected fsync), before the append is acknowledged', async () => {
    let syncs = 0
    const {history} = await filled(3, {
      sync: async (handle: FileHandle) => {
        syncs++
        await handle.sync()
      },
    })
    assert.equal(syncs, 3)
    assert.equal(await history.lastVersion('prod', 'game/conf.ini'), 3)
  })

  it('names every key it holds, nested paths and odd characters decoded', async () => {
    const history = new History(tempDir('stconf-history-'))
    const keys = ['game/conf.d/rates.ini', 'game/with space.ini', 'game/ümlaut%.ini']
    for (const key of keys) await add(history, 'prod', key, 1)
    await add(history, 'staging', 'game/conf.ini', 1)
    assert.deepEqual(
      (await history.keys()).map(({env, key}) => `${env} ${key}`).sort(),
      [...keys.map((key) => `prod ${key}`), 'staging game/conf.ini'].sort(),
    )
  })

  it('names no key in a data dir without history', async () => {
    assert.deepEqual(await new History(tempDir('stconf-history-')).keys(), [])
  })
})

describe('History: a withdrawn version (written beside a commit that failed)', () => {
  const key = 'game/conf.ini'
  const versions = async (history: History) => (await history.list('prod', key)).map((m) => m.version)

  it('is read by no one, in this process and after a restart, and its number stays used', async () => {
    const {history, dir} = await filled(3)
    await history.withdraw('prod', key, meta(3), 'not stored: conflict')
    for (const reader of [history, new History(dir)]) {
      assert.deepEqual(await versions(reader), [2, 1])
      assert.equal((await reader.latest('prod', key))?.version, 2)
      assert.equal(await reader.get('prod', key, 3), null)
      assert.equal(await reader.read('prod', key, 3), null)
      assert.equal((await reader.read('prod', key, 2))?.content.toString(), 'v2')
      assert.equal(await reader.lastVersion('prod', key), 3)
    }

    await assert.rejects(add(history, 'prod', key, 3, 'again'), /version 3 is not after 3/)
    await add(history, 'prod', key, 4)
    assert.deepEqual(await versions(history), [4, 2, 1])
    assert.equal((await new History(dir).latest('prod', key))?.version, 4)
  })

  it('stays withdrawn when the log rotated between the line and its withdrawal', async () => {
    const {history, dir} = await filled(1, {maxSegmentBytes: 600})
    const segmentsOf = () => readdirSync(join(historyDir(dir), 'prod', encodeKey(key))).filter((name) => name.endsWith('.jsonl')).length
    // A standing version, then one withdrawn, until a withdrawal is the line that starts a new segment.
    let version = 1
    let rotatedAtWithdrawal = false
    while (!rotatedAtWithdrawal && version < 200) {
      await add(history, 'prod', key, ++version)
      await add(history, 'prod', key, ++version)
      const before = segmentsOf()
      await history.withdraw('prod', key, meta(version), 'not stored')
      rotatedAtWithdrawal = segmentsOf() > before
    }

    assert.ok(rotatedAtWithdrawal, 'a withdrawal started a new segment')
    for (const reader of [history, new History(dir)]) {
      assert.equal(await reader.get('prod', key, version), null)
      assert.equal((await reader.get('prod', key, version - 1))?.message, `v${version - 1}`)
      assert.equal((await reader.latest('prod', key))?.version, version - 1)
      const standing = [1, ...Array.from({length: (version - 1) / 2}, (_, i) => 2 * (i + 1))].reverse()
      assert.deepEqual((await reader.list('prod', key)).map((m) => m.version), standing)
    }
  })
})
