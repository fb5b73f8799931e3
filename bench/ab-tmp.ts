// A/B (temporary): Center.push in-process and HTTP push, main (before) vs this branch (after), interleaved.
import {join} from 'node:path'
import {open} from 'node:fs/promises'
import {spawn} from 'node:child_process'
import {percentile} from './core.js'
import {tempDir, ADMIN_TOKEN, startServe} from '../test/helpers/cli.js'
const OLD = '/tmp/pushfast-main'
const oldStorage = await import(`${OLD}/src/lib/server/storage.ts`)
const oldCenterM = await import(`${OLD}/src/lib/server/center.ts`)
const oldEmb = await import(`${OLD}/src/lib/store/embedded.ts`)
const newStorage = await import('../src/lib/server/storage.js')
const newCenterM = await import('../src/lib/server/center.js')
const newEmb = await import('../src/lib/store/embedded.js')
const dA = tempDir('pf-ab-old-'), dB = tempDir('pf-ab-new-')
const sA = await oldStorage.openStorage(dA), sB = await newStorage.openStorage(dB)
const cA = new oldCenterM.Center(new oldEmb.EmbeddedStore(dA, sA.history), sA.history, sA.audit)
const cB = new newCenterM.Center(new newEmb.EmbeddedStore(sB.history), sB.history, sB.audit)
await cA.start(); await cB.start()
const t = async (f: () => Promise<unknown>) => { const s = performance.now(); await f(); return performance.now() - s }
const h = await open(join(dA, 'base.log'), 'a'); const blk = Buffer.alloc(4096, 'x')
const rows: Record<string, number[]> = {append: [], oldCenter: [], newCenter: []}
for (let i = 0; i < 400; i++) {
  rows.append.push(await t(async () => { await h.write(blk); await h.datasync() }))
  rows.oldCenter.push(await t(() => cA.push({env: 'b', key: 'game/conf.ini', content: Buffer.from(`rev=${i}\n`), author: 'b', message: ''})))
  rows.newCenter.push(await t(() => cB.push({env: 'b', key: 'game/conf.ini', content: Buffer.from(`rev=${i}\n`), author: 'b', message: ''})))
}
// HTTP: an old serve (main's dist) and a new one.
const oldServe = await startServe({dataDir: tempDir('pf-ab-old-http-'), exec: [process.execPath, '/tmp/pushfast-main/bin/run.js']})
const newServe = await startServe({dataDir: tempDir('pf-ab-new-http-')})
const put = async (url: string, i: number) => { const r = await fetch(`${url}/api/v1/config/b/game/conf.ini`, {method: 'PUT', headers: {authorization: `Bearer ${ADMIN_TOKEN}`}, body: `rev=${i}\n`}); await r.arrayBuffer(); if (r.status !== 201) throw new Error(String(r.status)) }
rows.oldHttp = []; rows.newHttp = []; rows.append2 = []
for (let i = 0; i < 400; i++) {
  rows.append2.push(await t(async () => { await h.write(blk); await h.datasync() }))
  rows.oldHttp.push(await t(() => put(oldServe.url, i)))
  rows.newHttp.push(await t(() => put(newServe.url, i)))
}
await oldServe.stop(); await newServe.stop()
const os = await import('node:os')
console.log('load', os.loadavg().map((n) => n.toFixed(1)).join(' '))
for (const [k, v] of Object.entries(rows)) console.log(k.padEnd(10), 'p50', percentile(v, 50).toFixed(2), 'p99', percentile(v, 99).toFixed(2))
process.exit(0)
