import {join} from 'node:path'
import {openStorage} from '../../src/lib/server/storage.js'
import {Center} from '../../src/lib/server/center.js'
import {ZkStore} from '../../src/lib/store/zk-store.js'
import {ZkClient} from '../../src/lib/zk/zk-client.js'
import {tempDir} from '../../test/helpers/cli.js'
import {startZk} from '../../test/helpers/zk-server.js'
import {percentile} from '../core.js'
const zkServer = await startZk()
const zk = new ZkClient({connect: zkServer.connect}); zk.start(); await zk.waitConnected(10000)
await zk.mkdirp('/raw')
const dir = tempDir('pf-zk-')
const s = await openStorage(dir)
const store = new ZkStore(zk, '/b')
if (process.env.NOSCAN) (store as any).watchForeign = () => undefined
const center = new Center(store, s.history, s.audit)
await center.start()
const timings: Record<string, number[]> = {}
const wrap = (obj: any, name: string, label: string) => { const f = obj[name].bind(obj); obj[name] = async (...a: any[]) => { const t = performance.now(); try { return await f(...a) } finally { (timings[label] ??= []).push(performance.now() - t) } } }
wrap(zk, 'multi', 'zk.multi'); wrap(zk, 'getData', 'zk.getData'); wrap(zk, 'exists', 'zk.exists'); wrap(zk, 'getChildren', 'zk.getChildren')
wrap(store, 'getMeta', 'store.getMeta'); wrap(store, 'commit', 'store.commit'); wrap(store, 'envs', 'store.envs')
wrap(s.history, 'append', 'history.append'); wrap(s.audit, 'record', 'audit.record'); wrap(s.history, 'lastVersion', 'history.lastVersion')
const set: number[] = [], push: number[] = []
for (let i = 0; i < 300; i++) {
  let t = performance.now(); await zk.setData('/raw', Buffer.from(`r${i}`)); set.push(performance.now() - t)
  t = performance.now(); await center.push({env: 'bench', key: 'game/conf.ini', content: Buffer.from(`rev = ${i}\n`), author: 'b', message: ''}); push.push(performance.now() - t)
}
const p = (x: number[]) => `${percentile(x, 50).toFixed(2)} n=${x.length}`
console.log('setData', p(set), 'push', p(push))
for (const [k, v] of Object.entries(timings)) console.log(k, p(v))
await center.close(); zk.close(); await zkServer.destroy(); process.exit(0)
