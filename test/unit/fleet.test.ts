// Pure parts of the fleet view: instance names, states and verdicts, receipts, and the registry's
// presence rules (heartbeat deadline, clean withdraw, forget, retention, persistence).
import assert from 'node:assert/strict'
import {rmSync} from 'node:fs'
import {after, describe, it} from 'node:test'
import type {FileReport, InstanceReport} from '../../src/lib/agent/types.js'
import {isStconfError} from '../../src/lib/errors.js'
import {receiptOf, verdictOf, type InstanceView} from '../../src/lib/fleet.js'
import {parseInstanceName} from '../../src/lib/model.js'
import {Registry} from '../../src/lib/server/instance-registry.js'
import {JsonLastSeenStore} from '../../src/lib/server/last-seen.js'
import {tempDir, waitUntil} from '../helpers/cli.js'

const file = (over: Partial<FileReport> = {}): FileReport => ({
  key: 'game/conf.ini',
  dest: '/etc/game/conf.ini',
  version: 3,
  sha256: 'a'.repeat(64),
  status: 'ok',
  appliedAt: '2026-12-01T00:00:00.000Z',
  error: null,
  failedVersion: null,
  ...over,
})

const report = (instance: string, over: Partial<InstanceReport> = {}): InstanceReport => ({
  instance,
  host: parseInstanceName(instance).host,
  pid: 1,
  agentVersion: 't',
  startedAt: '2026-12-01T00:00:00.000Z',
  updatedAt: new Date().toISOString(),
  files: [file()],
  ...over,
})

describe('instance names', () => {
  it('parses <host>, <host>@<app>, <host>@<app>.<n>; hosts keep their dots', () => {
    assert.deepEqual(parseInstanceName('gs-01.example.com'), {host: 'gs-01.example.com'})
    assert.deepEqual(parseInstanceName('gs-01@lobby'), {host: 'gs-01', app: 'lobby'})
    assert.deepEqual(parseInstanceName('gs-01.dc1@game.2'), {host: 'gs-01.dc1', app: 'game', n: 2})
    for (const bad of ['', '@game', 'gs 1', 'gs-1@', 'gs-1@game.x', 'gs-1@ga.me.2', 'gs-1~stopped', 'a@b@c']) {
      assert.throws(() => parseInstanceName(bad), (error) => isStconfError(error) && error.code === 'bad-input', bad)
    }
  })
})

describe('states, verdicts and receipts', () => {
  it('exit 7 if any failed, else 8 if any pending or offline, else 0; stopped does not count', () => {
    assert.equal(verdictOf([{instance: 'a', state: 'ok'}, {instance: 'b', state: 'stopped'}]).exitCode, 0)
    assert.equal(verdictOf([{instance: 'a', state: 'ok'}, {instance: 'b', state: 'offline'}]).exitCode, 8)
    assert.equal(verdictOf([{instance: 'a', state: 'pending'}, {instance: 'b', state: 'failed'}]).exitCode, 7)
    assert.deepEqual(verdictOf([{instance: 'a', state: 'pending'}, {instance: 'b', state: 'offline'}]).notConverged, ['a', 'b'])
  })

  it('a receipt says failed only for a failure of this version or a newer one', () => {
    const view = (f: FileReport): InstanceView => ({...report('gs-1'), online: true, state: 'failed', since: '', lastSeen: '', via: 'zk', files: [{...f, centerVersion: 4, inSync: false}]})
    assert.equal(receiptOf(view(file({version: 3, status: 'reload-failed', failedVersion: 3})), 'game/conf.ini', 4)?.status, 'pending', 'an old failure')
    assert.equal(receiptOf(view(file({version: 3, status: 'reload-failed', failedVersion: 4})), 'game/conf.ini', 4)?.status, 'failed')
    assert.equal(receiptOf(view(file({version: 4, status: 'ok'})), 'game/conf.ini', 4)?.status, 'ok')
    assert.equal(receiptOf(view(file({version: 4, status: 'pending'})), 'game/conf.ini', 4)?.status, 'pending', 'applied, reload not done')
    assert.equal(receiptOf(view(file()), 'other/key.ini', 4), null, 'does not follow the key')
  })
})

describe('instance registry', () => {
  const dirs: string[] = []
  after(() => {
    for (const dir of dirs) rmSync(dir, {recursive: true, force: true})
  })

  async function registry(dir: string, retentionMs = 7 * 86_400_000, now?: () => number): Promise<Registry> {
    const r = new Registry({store: await JsonLastSeenStore.open(dir), retentionMs, now})
    await r.start()
    return r
  }

  async function freshRegistry() {
    const dir = tempDir('stconf-registry-')
    dirs.push(dir)
    const r = await registry(dir)
    const changes: string[] = []
    r.onChange((change) => changes.push(`${change.env}/${change.instance}`))
    return {dir, r, changes}
  }

  it('a missed heartbeat deadline makes an instance offline, one change when it came and one when it went', async () => {
    const {r, changes} = await freshRegistry()
    await r.heartbeat('prod', report('gs-1'), 20) // offline after 3 x 20 ms without a heartbeat
    await waitUntil('gs-1 offline', () => r.get('prod', 'gs-1')?.presence === 'offline')
    assert.deepEqual(changes, ['prod/gs-1', 'prod/gs-1'])
    await r.close()
  })

  it('a withdraw makes an instance stopped with its final report, one change when it came and one when it went', async () => {
    const {r, changes} = await freshRegistry()
    await r.heartbeat('prod', report('gs-2@lobby'), 60_000)
    assert.ok(await r.withdraw('prod', 'gs-2@lobby', report('gs-2@lobby', {files: [file({version: 9})]})))
    assert.equal(r.get('prod', 'gs-2@lobby')?.presence, 'stopped')
    assert.equal(r.get('prod', 'gs-2@lobby')?.report.files[0].version, 9, 'the final report is kept')
    assert.deepEqual(changes, ['prod/gs-2@lobby', 'prod/gs-2@lobby'])
    await r.close()
  })

  it('offline and stopped instances persist across a restart of the registry', async () => {
    const {dir, r} = await freshRegistry()
    await r.heartbeat('prod', report('gs-1'), 20)
    await r.heartbeat('prod', report('gs-2@lobby'), 60_000)
    await waitUntil('gs-1 offline', () => r.get('prod', 'gs-1')?.presence === 'offline')
    await r.withdraw('prod', 'gs-2@lobby')
    await r.close()
    const again = await registry(dir)
    assert.deepEqual((await again.list('prod')).map((e) => [e.instance, e.presence]), [
      ['gs-1', 'offline'],
      ['gs-2@lobby', 'stopped'],
    ])
    await again.close()
  })

  it('forget removes an offline instance, and refuses an online or unknown one', async () => {
    const {r} = await freshRegistry()
    await r.heartbeat('prod', report('gs-1'), 20)
    await r.heartbeat('prod', report('gs-3'), 60_000)
    await waitUntil('gs-1 offline', () => r.get('prod', 'gs-1')?.presence === 'offline')
    await assert.rejects(r.forget('prod', 'gs-3'), (error) => isStconfError(error) && error.code === 'conflict')
    await assert.rejects(r.forget('prod', 'gs-9'), (error) => isStconfError(error) && error.code === 'not-found')
    await r.forget('prod', 'gs-1')
    assert.deepEqual((await r.list('prod')).map((e) => e.instance), ['gs-3'])
    await r.close()
  })

  it('drops offline and stopped instances after the retention period, never online ones', async () => {
    const dir = tempDir('stconf-registry-')
    dirs.push(dir)
    let clock = Date.parse('2026-12-01T00:00:00Z')
    const r = await registry(dir, 86_400_000, () => clock)
    await r.heartbeat('prod', report('gs-1'), 60_000)
    await r.heartbeat('prod', report('gs-2'), 60_000)
    await r.withdraw('prod', 'gs-2')
    clock += 2 * 86_400_000
    await r.heartbeat('prod', report('gs-1'), 60_000)
    assert.deepEqual((await r.list('prod')).map((e) => e.instance), ['gs-1'])
    await r.close()
  })
})
