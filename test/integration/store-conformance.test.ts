// One conformance suite, run against each ConfigStore (embedded, ZooKeeper), so they cannot drift apart.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {sha256, type VersionMeta} from '../../src/lib/model.js'
import {EmbeddedStore} from '../../src/lib/store/embedded.js'
import type {ConfigStore} from '../../src/lib/store/types.js'
import {ZkStore} from '../../src/lib/store/zk-store.js'
import {History} from '../../src/lib/server/history.js'
import {tempDir} from '../helpers/cli.js'
import {connectZk, startZk, type TestZk} from '../helpers/zk-server.js'

const meta = (version: number, content: Buffer): VersionMeta => ({
  version,
  sha256: sha256(content),
  size: content.length,
  author: 'tester',
  message: `v${version}`,
  time: new Date().toISOString(),
  kind: 'push',
})

/** Makes a fresh, empty store per case (so each case can run alone); close() ends them all. */
interface Harness {
  fresh(): Promise<ConfigStore>
  close(): Promise<void>
}

const makers: Record<string, () => Promise<Harness>> = {
  embedded: async () => {
    const stores: ConfigStore[] = []
    return {
      async fresh() {
        const dir = tempDir('stconf-store-')
        const store = new EmbeddedStore(dir, new History(dir))
        await store.start()
        stores.push(store)
        return store
      },
      async close() {
        for (const store of stores) await store.close()
      },
    }
  },
  zookeeper: async () => {
    // One ZooKeeper for the suite (a JVM per case would be slow); each store gets a root of its own.
    const server: TestZk = await startZk()
    const zk = await connectZk(server)
    const stores: ConfigStore[] = []
    return {
      async fresh() {
        const store = new ZkStore(zk, `/conformance-${stores.length + 1}`)
        await store.start()
        stores.push(store)
        return store
      },
      async close() {
        for (const store of stores) await store.close()
        zk.close()
        await server.destroy()
      },
    }
  },
}

for (const [name, make] of Object.entries(makers)) {
  describe(`ConfigStore conformance: ${name}`, () => {
    let harness: Harness
    before(async () => {
      harness = await make()
    })
    after(async () => harness.close())

    it('has nothing for an unknown key', async () => {
      const store = await harness.fresh()
      assert.equal(await store.get('prod', 'game/none.ini'), null)
      assert.equal(await store.getMeta('prod', 'game/none.ini'), null)
      assert.deepEqual(await store.list('prod'), [])
    })

    it('commits content and meta together and gives back the same bytes', async () => {
      const store = await harness.fresh()
      const bytes = Buffer.from([0xef, 0xbb, 0xbf, 0x61, 0x0d, 0x0a, 0xff])
      await store.commit('prod', 'game/conf.ini', bytes, meta(1, bytes), 0)
      const current = await store.get('prod', 'game/conf.ini')
      assert.deepEqual(current?.content, bytes)
      assert.equal(current?.meta.version, 1)
      assert.equal(current?.meta.sha256, sha256(bytes))
    })

    it('refuses a commit whose previous version is not current, and keeps the old content', async () => {
      const store = await harness.fresh()
      const first = Buffer.from('one')
      await store.commit('prod', 'game/conf.ini', first, meta(1, first), 0)
      const next = Buffer.from('two')
      await assert.rejects(store.commit('prod', 'game/conf.ini', next, meta(2, next), 0), /conflict/)
      await assert.rejects(store.commit('prod', 'game/conf.ini', next, meta(2, next), 5), /conflict/)
      assert.equal((await store.getMeta('prod', 'game/conf.ini'))?.version, 1)
      await store.commit('prod', 'game/conf.ini', next, meta(2, next), 1)
      assert.equal((await store.get('prod', 'game/conf.ini'))?.content.toString(), 'two')
    })

    it('lets exactly one of two racing commits from the same version win', async () => {
      const store = await harness.fresh()
      const a = Buffer.from('a')
      const b = Buffer.from('b')
      const results = await Promise.allSettled([
        store.commit('prod', 'race/x.txt', a, meta(1, a), 0),
        store.commit('prod', 'race/x.txt', b, meta(1, b), 0),
      ])
      // Both stores hold on their own, not only behind the center's per-key lock.
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1)
      const current = await store.get('prod', 'race/x.txt')
      assert.ok(current && ['a', 'b'].includes(current.content.toString()))
      assert.equal(current.meta.sha256, sha256(current.content))
    })

    it('lists keys (nested paths too) sorted, per env, and names its envs', async () => {
      const store = await harness.fresh()
      const c = Buffer.from('c')
      await store.commit('prod', 'race/x.txt', c, meta(1, c), 0)
      await store.commit('prod', 'game/conf.ini', c, meta(1, c), 0)
      await store.commit('prod', 'game/conf.d/rates.ini', c, meta(1, c), 0)
      await store.commit('staging', 'game/conf.ini', c, meta(1, c), 0)
      const keys = (await store.list('prod')).map((k) => k.key)
      assert.deepEqual(keys, ['game/conf.d/rates.ini', 'game/conf.ini', 'race/x.txt'])
      assert.deepEqual((await store.list('staging')).map((k) => k.key), ['game/conf.ini'])
      assert.deepEqual((await store.envs()).sort(), ['prod', 'staging'])
    })
  })
}
