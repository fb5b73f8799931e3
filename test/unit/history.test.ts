// History keeps each version's content: small content inline in the version's line (text when the
// bytes survive UTF-8, else base64), large content in a blob; lines written before content went inline
// still read through their blob. The embedded store's current version is the newest line.
import assert from 'node:assert/strict'
import {appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {sha256, type VersionMeta} from '../../src/lib/model.js'
import {AuditLog} from '../../src/lib/server/audit.js'
import {Center} from '../../src/lib/server/center.js'
import {History, INLINE_MAX_BYTES} from '../../src/lib/server/history.js'
import {EmbeddedStore} from '../../src/lib/store/embedded.js'
import {tempDir} from '../helpers/cli.js'

const dirs: string[] = []
after(() => {
  for (const dir of dirs) rmSync(dir, {recursive: true, force: true})
})

function dir(): string {
  const d = tempDir('stconf-history-')
  dirs.push(d)
  return d
}

const meta = (version: number, content: Buffer): VersionMeta => ({
  version,
  sha256: sha256(content),
  size: content.length,
  author: 'ci',
  message: `v${version}`,
  time: new Date(0).toISOString(),
  kind: 'push',
})

const segment = (d: string, env: string, key: string) => join(d, 'journal', 'history', env, encodeURIComponent(key), '0000000001.jsonl')
const lines = (path: string) => readFileSync(path, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)

describe('history content', () => {
  it('keeps text inline as text, other small bytes as base64, and gives back the same bytes', async () => {
    const d = dir()
    const history = new History(d)
    const text = Buffer.from('[game]\r\nname = "Ünïcode"\n')
    const binary = Buffer.from([0xef, 0xbb, 0xbf, 0x61, 0x0d, 0x0a, 0xff, 0xfe])
    await history.append('prod', 'game/conf.ini', meta(1, text), text)
    await history.append('prod', 'game/conf.ini', meta(2, binary), binary)
    const [first, second] = lines(segment(d, 'prod', 'game/conf.ini'))
    assert.equal(first.text, text.toString('utf8'))
    assert.equal(first.base64, undefined)
    assert.equal(second.base64, binary.toString('base64'))
    assert.equal(second.text, undefined)
    assert.equal(existsSync(join(d, 'blobs')), false, 'no blob for small content')

    const again = new History(d)
    assert.deepEqual((await again.read('prod', 'game/conf.ini', 1))?.content, text)
    assert.deepEqual((await again.read('prod', 'game/conf.ini', 2))?.content, binary)
    // Metas go out without the content fields.
    assert.deepEqual(await again.list('prod', 'game/conf.ini'), [meta(2, binary), meta(1, text)])
    assert.deepEqual(await again.get('prod', 'game/conf.ini', 1), meta(1, text))
  })

  it('keeps content over the inline limit in a blob, written before its line', async () => {
    const d = dir()
    const history = new History(d)
    const large = Buffer.alloc(INLINE_MAX_BYTES + 1, 'x')
    await history.append('prod', 'game/big.bin', meta(1, large), large)
    const [line] = lines(segment(d, 'prod', 'game/big.bin'))
    assert.equal(line.text, undefined)
    assert.equal(line.base64, undefined)
    const hash = sha256(large)
    assert.deepEqual(readFileSync(join(d, 'blobs', hash.slice(0, 2), hash)), large)
    assert.deepEqual((await new History(d).read('prod', 'game/big.bin', 1))?.content, large)
  })

  it('reads a line written before content went inline through its blob', async () => {
    const d = dir()
    const bytes = Buffer.from('old = 1\n')
    const hash = sha256(bytes)
    mkdirSync(join(d, 'blobs', hash.slice(0, 2)), {recursive: true})
    writeFileSync(join(d, 'blobs', hash.slice(0, 2), hash), bytes)
    mkdirSync(join(segment(d, 'prod', 'game/old.ini'), '..'), {recursive: true})
    writeFileSync(segment(d, 'prod', 'game/old.ini'), JSON.stringify(meta(1, bytes)) + '\n')
    const store = new EmbeddedStore(new History(d))
    assert.deepEqual(await store.get('prod', 'game/old.ini'), {meta: meta(1, bytes), content: bytes})
  })
})

describe('the embedded store on history', () => {
  it('reads the current version from the newest whole line, after a restart too, and lists an env from those lines', async () => {
    const d = dir()
    const store = new EmbeddedStore(new History(d))
    for (let v = 1; v <= 3; v++) {
      const bytes = Buffer.from(`rev = ${v}\n`)
      await store.commit('prod', 'game/conf.ini', bytes, meta(v, bytes), v - 1)
    }

    const other = Buffer.from('other\n')
    await store.commit('prod', 'app/b.ini', other, meta(1, other), 0)
    assert.equal((await store.getMeta('prod', 'game/conf.ini'))?.version, 3)

    // A torn last line (a crash mid-append) is not the current version.
    appendFileSync(segment(d, 'prod', 'game/conf.ini'), '{"version":4,"sha256":"')
    const restarted = new EmbeddedStore(new History(d))
    assert.deepEqual((await restarted.get('prod', 'game/conf.ini'))?.content, Buffer.from('rev = 3\n'))
    assert.deepEqual((await restarted.list('prod')).map((k) => [k.key, k.meta.version]), [
      ['app/b.ini', 1],
      ['game/conf.ini', 3],
    ])
    assert.deepEqual(await restarted.envs(), ['prod'])
    assert.deepEqual(await restarted.list('staging'), [])

    // The next commit follows the whole lines, and the listing sees it.
    const four = Buffer.from('rev = 4\n')
    await assert.rejects(restarted.commit('prod', 'game/conf.ini', four, meta(4, four), 4), /conflict/)
    await restarted.commit('prod', 'game/conf.ini', four, meta(4, four), 3)
    assert.deepEqual((await restarted.list('prod')).map((k) => [k.key, k.meta.version]), [
      ['app/b.ini', 1],
      ['game/conf.ini', 4],
    ])
    assert.deepEqual((await new EmbeddedStore(new History(d)).get('prod', 'game/conf.ini'))?.content, four)
  })
})

describe('an embedded push whose history line fails', () => {
  it('answers the error, stores nothing, and the audit says the version was not stored', async () => {
    const d = dir()
    let failing = false
    const history = new History(d, {
      sync: async (handle) => {
        if (failing) throw Object.assign(new Error('ENOSPC: no space left on device'), {code: 'ENOSPC'})
        await handle.datasync()
      },
    })
    const audit = new AuditLog(d)
    const center = new Center(new EmbeddedStore(history), history, audit)
    await center.start()
    await center.push({env: 'prod', key: 'game/conf.ini', content: Buffer.from('a=1\n'), author: 'ci', message: ''})
    failing = true
    await assert.rejects(center.push({env: 'prod', key: 'game/conf.ini', content: Buffer.from('a=2\n'), author: 'ci', message: ''}), /ENOSPC/)
    failing = false
    assert.deepEqual((await center.current('prod', 'game/conf.ini'))?.content, Buffer.from('a=1\n'))
    assert.deepEqual((await audit.list()).map((e) => [e.action, e.version, e.detail]), [
      ['push', 1, undefined],
      ['push', 2, undefined],
      ['push-failed', 2, 'not stored: ENOSPC: no space left on device'],
    ])
    // The line was cut back: the next push is whole and takes the free number.
    const next = await center.push({env: 'prod', key: 'game/conf.ini', content: Buffer.from('a=3\n'), author: 'ci', message: ''})
    assert.equal(next.meta.version, 2)
    assert.deepEqual((await new EmbeddedStore(new History(d)).get('prod', 'game/conf.ini'))?.content, Buffer.from('a=3\n'))
    await center.close()
  })
})
