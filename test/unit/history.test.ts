// Version history and content blobs (src/lib/server/history.ts) at the unit level: a History on a
// temp dir, one claim per case. The segment log under it has its own tests (segment-log.test.ts).
import assert from 'node:assert/strict'
import {readdirSync, statSync} from 'node:fs'
import type {FileHandle} from 'node:fs/promises'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {sha256, type VersionMeta} from '../../src/lib/model.js'
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

async function filled(versions: number, options: ConstructorParameters<typeof History>[1] = {}): Promise<{history: History; dir: string}> {
  const dir = tempDir('stconf-history-')
  const history = new History(dir, options)
  for (let v = 1; v <= versions; v++) await history.append('prod', 'game/conf.ini', meta(v))
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
    await assert.rejects(history.append('prod', 'game/conf.ini', meta(3, 'again')), /version 3 is not after 3/)
    await assert.rejects(history.append('prod', 'game/conf.ini', meta(1, 'older')), /version 1 is not after 3/)
    assert.deepEqual((await history.list('prod', 'game/conf.ini')).map((m) => m.message), ['v3', 'v2', 'v1'])
  })

  it('takes a gap in the versions (a version made out of band and then lost is not invented)', async () => {
    const {history} = await filled(2)
    await history.append('prod', 'game/conf.ini', meta(7))
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
    await history.append('prod', 'game/a.ini', meta(1))
    await history.append('prod', 'game/a.ini', meta(2))
    await history.append('prod', 'game/b.ini', meta(1))
    await history.append('staging', 'game/a.ini', meta(1))
    assert.equal(await history.lastVersion('prod', 'game/a.ini'), 2)
    assert.equal(await history.lastVersion('prod', 'game/b.ini'), 1)
    assert.equal(await history.lastVersion('staging', 'game/a.ini'), 1)
  })

  it('reads back after a restart what an earlier process appended', async () => {
    const {dir} = await filled(4)
    const again = new History(dir)
    assert.equal(await again.lastVersion('prod', 'game/conf.ini'), 4)
    await again.append('prod', 'game/conf.ini', meta(5))
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
    for (const key of keys) await history.append('prod', key, meta(1))
    await history.append('staging', 'game/conf.ini', meta(1))
    assert.deepEqual(
      (await history.keys()).map(({env, key}) => `${env} ${key}`).sort(),
      [...keys.map((key) => `prod ${key}`), 'staging game/conf.ini'].sort(),
    )
  })

  it('names no key in a data dir without history', async () => {
    assert.deepEqual(await new History(tempDir('stconf-history-')).keys(), [])
  })
})

describe('History: content blobs', () => {
  it('stores content by its sha256 and gives back the same bytes', async () => {
    const history = new History(tempDir('stconf-history-'))
    const bytes = Buffer.from([0xef, 0xbb, 0xbf, 0x61, 0x0d, 0x0a, 0xff])
    assert.equal(await history.putBlob(bytes), sha256(bytes))
    assert.deepEqual(await history.getBlob(sha256(bytes)), bytes)
  })

  it('has no blob for a hash never stored', async () => {
    assert.equal(await new History(tempDir('stconf-history-')).getBlob('0'.repeat(64)), null)
  })

  it('writes a blob once, readable by its owner only, however many times (and how concurrently) it is put', async () => {
    const dir = tempDir('stconf-history-')
    const history = new History(dir)
    const bytes = Buffer.from('same bytes\n')
    const hashes = await Promise.all([history.putBlob(bytes), history.putBlob(bytes), history.putBlob(Buffer.from(bytes))])
    assert.deepEqual(new Set(hashes), new Set([sha256(bytes)]))
    const hash = sha256(bytes)
    const blobDir = join(dir, 'blobs', hash.slice(0, 2))
    assert.deepEqual(readdirSync(blobDir), [hash], 'one file, no temp file left')
    assert.equal(statSync(join(blobDir, hash)).mode & 0o777, 0o600)
    const before = statSync(join(blobDir, hash)).mtimeMs
    await history.putBlob(bytes)
    assert.equal(statSync(join(blobDir, hash)).mtimeMs, before, 'not written again')
  })
})
