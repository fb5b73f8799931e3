// A/B (temporary): list() of 5,000 keys, main's pointer files vs this branch's history lines, interleaved.
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {tempDir} from '../test/helpers/cli.js'
import {sha256} from '../src/lib/model.js'
const OLD = '/tmp/pushfast-main'
const oldEmb = await import(`${OLD}/src/lib/store/embedded.ts`)
const oldHist = await import(`${OLD}/src/lib/server/history.ts`)
const newEmb = await import('../src/lib/store/embedded.js')
const newHist = await import('../src/lib/server/history.js')
const dA = tempDir('pf-list-old-'), dB = tempDir('pf-list-new-')
const content = Buffer.from('[game]\nmax_players = 100\n')
for (let k = 0; k < 5000; k++) {
  const key = encodeURIComponent(`app${k % 50}/file-${k}.ini`)
  const meta = {version: 1, sha256: sha256(content), size: content.length, author: 'bench', message: '', time: new Date().toISOString(), kind: 'push' as const}
  mkdirSync(join(dA, 'current', 'bench'), {recursive: true}); writeFileSync(join(dA, 'current', 'bench', `${key}.json`), JSON.stringify(meta) + '\n')
  mkdirSync(join(dB, 'journal', 'history', 'bench', key), {recursive: true}); writeFileSync(join(dB, 'journal', 'history', 'bench', key, '0000000001.jsonl'), JSON.stringify(newHist.historyRecord(meta, content)) + '\n')
}
const t = async (f: () => Promise<unknown>) => { const s = performance.now(); await f(); return performance.now() - s }
const oldStore = new oldEmb.EmbeddedStore(dA, new oldHist.History(dA))
const rows: Record<string, number[]> = {oldEveryCall: [], newFirst: [], newLater: []}
for (let i = 0; i < 6; i++) {
  rows.oldEveryCall.push(await t(() => oldStore.list('bench')))
  const fresh = new newEmb.EmbeddedStore(new newHist.History(dB))
  rows.newFirst.push(await t(() => fresh.list('bench')))
  rows.newLater.push(await t(() => fresh.list('bench')))
}
const os = await import('node:os')
console.log('load', os.loadavg().map((n) => n.toFixed(1)).join(' '))
for (const [k, v] of Object.entries(rows)) console.log(k.padEnd(14), v.map((x) => x.toFixed(0)).join(' '), 'median', [...v].sort((a, b) => a - b)[3].toFixed(0))
process.exit(0)
