// `stconf tui` end to end: the built CLI in a real pseudo-terminal (tmux), against real serve
// processes (embedded and ZooKeeper) and real agents. Every step waits for its frame.
import assert from 'node:assert/strict'
import {rmSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {push, startAgent, writeAgentConfig} from '../helpers/agent-harness.js'
import {ADMIN_TOKEN, runCli, startServe, tempDir, type Proc, type ServeHandle} from '../helpers/cli.js'
import {hasTmux, TmuxTerminal} from '../helpers/tmux.js'
import {startZk, type TestZk} from '../helpers/zk-server.js'

assert.ok(hasTmux(), 'tmux is needed for the TUI tests: apt-get install tmux (.ci/run installs it)')

async function history(serve: ServeHandle, env: string, key: string): Promise<Array<{version: number; kind: string; sha256: string}>> {
  const result = await runCli(['history', key, '--env', env, '--json', '--server', serve.url, '--token', ADMIN_TOKEN])
  assert.equal(result.code, 0, result.stderr)
  return JSON.parse(result.stdout)
}

/** Moves the env picker's cursor down to `env` (the other cases' envs are listed too). */
async function pickEnv(tui: TmuxTerminal, env: string): Promise<void> {
  for (let step = 0; step < 20; step++) {
    const current = /│ ▸ (\S+)/.exec(await tui.waitScreen(/│ ▸ \S+/, 'the env picker'))![1]
    if (current === env) return
    tui.press('Down')
    await tui.waitScreen(new RegExp(`│ ▸ (?!${current}\\b)\\S+`), `the cursor past ${current}`)
  }

  assert.fail(`no ${env} in the env picker:\n${tui.screen()}`)
}

function suite(mode: 'embedded' | 'zookeeper') {
  describe(`stconf tui against ${mode} serve and a real agent`, () => {
    let zk: TestZk | undefined
    let serve: ServeHandle
    let agent: Proc
    let dir: string
    const terminals: TmuxTerminal[] = []
    const source = () => (zk ? `zk://${zk.connect}/stconf` : serve.url)
    const open = (args: string[], size: {cols?: number; rows?: number} = {}, env: Record<string, string> = {}) => {
      // CI=true as in many operators' shells (and on CI machines): Ink would then draw only its last
      // frame, a blank screen; stconf tui must draw anyway, because it runs only on a terminal.
      const terminal = TmuxTerminal.start(['tui', ...args], {...size, env: {CI: 'true', STCONF_SERVER: serve.url, STCONF_TOKEN: ADMIN_TOKEN, STCONF_ENV: 'prod', ...env}})
      terminals.push(terminal)
      return terminal
    }

    before(async () => {
      dir = tempDir('stconf-tui-')
      if (mode === 'zookeeper') zk = await startZk()
      serve = await startServe(zk ? {zk: zk.connect, zkSessionTimeoutMs: 4000} : {})
      await push(serve.url, 'prod', 'game/conf.ini', 'max_players = 100\n', 'first')
      await push(serve.url, 'prod', 'game/conf.ini', 'max_players = 200\n', 'double the players')
      await push(serve.url, 'prod', 'game/rates.ini', 'xp = 1\n')
      await push(serve.url, 'staging', 'game/conf.ini', 'max_players = 50\n')
      agent = startAgent(writeAgentConfig(dir, {source: source(), token: ADMIN_TOKEN, env: 'prod', host: `gs-${mode}`, files: [{key: 'game/conf.ini', dest: join(dir, 'conf.ini')}]}))
    })
    after(async () => {
      for (const terminal of terminals) terminal.close()
      await agent?.stop('SIGKILL')
      await serve?.stop()
      await zk?.destroy()
      rmSync(dir, {recursive: true, force: true})
    })

    it('shows the keys with their versions, the versions of the selected key and the instance, on the alternate screen', async () => {
      const tui = open([])
      await tui.waitScreen(/▸game\/conf\.ini +v2 [^\n]*1\/1/, 'the key with its version and the agent applied')
      await tui.waitScreen(new RegExp(`gs-${mode} +v2 +ok`), 'the instance row')
      await tui.waitScreen(/v2 +push +admin [^\n]*double the players/, 'the versions')
      assert.ok(tui.alternateScreen(), 'on the alternate screen')
    })

    it('a push appears in Keys, Versions, Activity and the agent\'s row without a key press', async () => {
      const agentDir = tempDir('stconf-tui-')
      await push(serve.url, 'live', 'game/conf.ini', 'max_players = 200\n', 'before')
      const live = startAgent(writeAgentConfig(agentDir, {source: source(), token: ADMIN_TOKEN, env: 'live', host: `gs-live-${mode}`, files: [{key: 'game/conf.ini', dest: join(agentDir, 'conf.ini')}]}))
      try {
        const tui = open([], {}, {STCONF_ENV: 'live'})
        await tui.waitScreen(new RegExp(`gs-live-${mode} +v1 +ok`), 'the agent on version 1')
        await push(serve.url, 'live', 'game/conf.ini', 'max_players = 300\n', 'from the CLI')
        await tui.waitScreen(/▸game\/conf\.ini +v2 /, 'the pushed version, with no key pressed')
        await tui.waitScreen(/v2 +push +admin [^\n]*from the CLI/, 'the new version in Versions')
        await tui.waitScreen(/admin +push +live\/game\/conf\.ini v2/, 'the push in Activity')
        await tui.waitScreen(new RegExp(`gs-live-${mode} +v2 +ok`), 'the agent applying it')
      } finally {
        await live.stop('SIGKILL')
      }
    })

    it('tab ↓ r y rolls back to the selected version, after a confirmation that shows the diff', async () => {
      await push(serve.url, 'rollback', 'game/conf.ini', 'max_players = 200\n', 'first')
      await push(serve.url, 'rollback', 'game/conf.ini', 'max_players = 300\n', 'second')
      const tui = open([], {}, {STCONF_ENV: 'rollback'})
      await tui.waitScreen(/▸game\/conf\.ini +v2 /, 'the key')
      tui.press('Tab')
      await tui.waitScreen(/r roll back/, 'Versions focused (its hint bar)')
      tui.press('Down')
      await tui.waitScreen(/▸v1 /, 'v1 selected')
      tui.press('r')
      await tui.waitScreen(/Roll back game\/conf\.ini in rollback to version 1\? \(y\/N\)/, 'the confirmation')
      const dialog = tui.screen()
      assert.match(dialog, /-max_players = 300/)
      assert.match(dialog, /\+max_players = 200/)
      tui.press('y')
      await tui.waitScreen(/rolled back rollback\/game\/conf\.ini to the bytes of v1: now v3/, 'the result line')
      await tui.waitScreen(/v3 +rollback/, 'the rollback version on screen')
      const versions = await history(serve, 'rollback', 'game/conf.ini')
      assert.equal(versions[0].version, 3)
      assert.equal(versions[0].kind, 'rollback')
      assert.equal(versions[0].sha256, versions.find((v) => v.version === 1)!.sha256)
    })

    it('q exits 0 and puts the terminal back on its normal screen', async () => {
      const tui = open([])
      await tui.waitScreen(/▸game\/conf\.ini/, 'the keys')
      assert.ok(tui.alternateScreen())
      tui.press('q')
      assert.equal(await tui.exitCode(), 0)
      assert.equal(tui.alternateScreen(), false)
    })

    if (mode === 'embedded') {
      it('at 80x24 the panes stack, Versions below Keys, Activity left out, no line wider than 80', async () => {
        const tui = open([], {cols: 80, rows: 24})
        await tui.waitScreen(/Keys 2/, 'the keys')
        await tui.waitScreen(/Versions · game\/conf\.ini/, 'Versions below Keys')
        assert.doesNotMatch(tui.screen(), /Activity/)
        assert.ok(tui.screen().split('\n').every((line) => [...line].length <= 80))
      })

      it('D picks another env and shows the diff of the selected key against it', async () => {
        const tui = open([], {cols: 80, rows: 24})
        await tui.waitScreen(/Keys 2/, 'the keys')
        tui.press('D')
        await pickEnv(tui, 'staging')
        tui.press('Enter')
        await tui.waitScreen(/\+max_players = 50/, 'the diff against staging')
        tui.press('Escape')
        await tui.waitScreen(/Keys 2/, 'the diff closed')
      })

      it('/ filters the keys as you type; esc clears the filter and keeps the selection', async () => {
        const tui = open([], {cols: 80, rows: 24})
        await tui.waitScreen(/Keys 2/, 'the keys')
        tui.press('/', 'r', 'a', 't')
        await tui.waitScreen(/Keys 1\/2/, 'the filter applied')
        assert.doesNotMatch(tui.screen(), /▸game\/conf\.ini/)
        tui.press('Escape')
        await tui.waitScreen(/Keys 2 [\s\S]*▸game\/rates\.ini/, 'the filter cleared, the selection kept')
      })

      it('d in Versions shows the diff of the newest version against the one before it', async () => {
        const tui = open([], {cols: 80, rows: 24})
        await tui.waitScreen(/▸game\/conf\.ini/, 'the first key')
        tui.press('Tab')
        await tui.waitScreen(/d diff/, 'Versions focused')
        tui.press('d')
        await tui.waitScreen(/@@ -1(,1)? \+1(,1)? @@/, 'a version diff')
      })

      it('Ctrl-C exits 0 and puts the terminal back on its normal screen', async () => {
        const tui = open([], {cols: 80, rows: 24})
        await tui.waitScreen(/Keys 2/, 'the keys')
        tui.press('C-c')
        assert.equal(await tui.exitCode(), 0)
        assert.equal(tui.alternateScreen(), false)
      })

      const refusals: Array<[string, Record<string, string>, number, RegExp]> = [
        ['a wrong token', {STCONF_TOKEN: 'wrong-token'}, 5, /^stconf: .*token/m],
        ['an unknown env', {STCONF_ENV: 'nope'}, 3, /^stconf: no env nope - envs: [^\n]*\bprod\b[^\n]*\bstaging\b/m],
        ['an unreachable server', {STCONF_SERVER: 'http://127.0.0.1:9'}, 6, /^stconf: cannot reach the stconf server/m],
      ]
      for (const [what, env, code, message] of refusals) {
        it(`${what}: one line and exit ${code}, before any screen`, async () => {
          const tui = open([], {}, env)
          assert.equal(await tui.exitCode(), code, tui.screen())
          assert.match(tui.screen(), message)
          assert.equal(tui.screen().trim().split('\n').length, 2, 'one line, then EXITED')
        })
      }

      it('a viewer gets a one-line message instead of the roll-back dialog', async () => {
        const created = await runCli(['token', 'create', 'watcher', '--role', 'viewer', '--json'], {env: {STCONF_SERVER: serve.url, STCONF_TOKEN: ADMIN_TOKEN}})
        const token = (JSON.parse(created.stdout) as {token: string}).token
        const tui = open([], {}, {STCONF_TOKEN: token})
        await tui.waitScreen(/watcher \(viewer\)/, 'the header names the viewer')
        tui.press('Tab')
        await tui.waitScreen(/▸v\d+ +rollback|▸v\d+ +push/, 'versions')
        tui.press('Down', 'r')
        await tui.waitScreen(/rolling back needs an operator token; watcher is a viewer/, 'the refusal')
        assert.doesNotMatch(tui.screen(), /\(y\/N\)/)
        tui.press('q')
        assert.equal(await tui.exitCode(), 0)
      })
    }
  })
}

describe('stconf tui without a terminal', () => {
  it('exits 2 with one line naming the commands for scripts', async () => {
    const result = await runCli(['tui', '--server', 'http://127.0.0.1:9'])
    assert.equal(result.code, 2)
    assert.equal(result.stderr, 'stconf: `stconf tui` needs an interactive terminal (stdin and stdout are not both a TTY) - in scripts use `stconf status --json` or `stconf ls --json`\n')
  })
})

suite('embedded')
suite('zookeeper')
