// The shared test helpers clean up after a failing test: no temp dir, no JVM, no serve or agent left.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {alive} from '../helpers/cleanup.js'
import {ROOT} from '../helpers/cli.js'
import {fourLetter} from '../helpers/zk-server.js'

describe('test helpers leave nothing behind', () => {
  for (const how of ['an assertion fails', 'the test process crashes'] as const) {
    it(`when ${how}`, async () => {
      // A private temp dir for the failing file, so other tests' (and other runs') dirs do not count.
      const box = mkdtempSync(join(tmpdir(), 'stconf-helpers-'))
      try {
        const report = join(box, 'report.json')
        const privateTmp = join(box, 'tmp')
        mkdirSync(privateTmp)
        // Run as a plain script (node:test still runs its it()); NODE_TEST_CONTEXT would make it
        // report to this runner instead of exiting with its own status.
        const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/fixtures/failing-midway.fixture.ts')], {
          cwd: ROOT,
          env: {...process.env, NODE_TEST_CONTEXT: undefined, TMPDIR: privateTmp, STCONF_FIXTURE_REPORT: report, STCONF_FIXTURE_CRASH: how === 'the test process crashes' ? '1' : '', STCONF_KEEP_TMP: ''},
          stdio: ['ignore', 'pipe', 'pipe'],
        })
        let output = ''
        child.stdout.on('data', (d) => (output += d))
        child.stderr.on('data', (d) => (output += d))
        const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
        assert.notEqual(code, 0, 'the fixture was meant to fail')
        assert.ok(existsSync(report), `the fixture did not get as far as starting everything: ${output}`)
        const {zkPort, serveUrl, agentPid} = JSON.parse(readFileSync(report, 'utf8')) as {zkPort: number; serveUrl: string; agentPid: number}
        assert.deepEqual(readdirSync(privateTmp).filter((name) => name.startsWith('stconf-')), [], 'temp dirs left behind')
        assert.equal(await fourLetter(zkPort, 'ruok'), '', 'ZooKeeper still answers')
        await assert.rejects(fetch(`${serveUrl}/healthz`), 'serve still answers')
        assert.equal(alive(agentPid), false, 'the agent still runs')
      } finally {
        rmSync(box, {recursive: true, force: true})
      }
    })
  }
})
