// The running agent re-executes itself with its V8 flags (semi-space, optimize-for-size) where Node
// can replace a process in place (process.execve: the Node 24 that `npm run package` fetches): same
// pid, flags on its command line, and it goes on applying files and running reloads after it. A Node
// that cannot (Node 20) gets the flags V8 still reads after start, through v8.setFlagsFromString,
// which ignores a flag it does not know: so each must be one that V8 knows, on both Nodes. The
// re-execution also sets glibc's malloc tunables (unless the operator set their own), which the
// agent's checks and reloads do not inherit.
import assert from 'node:assert/strict'
import {execFileSync, spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {AGENT_GLIBC_TUNABLES, AGENT_NODE_FLAGS, AGENT_RUNTIME_FLAGS} from '../../src/commands/agent.js'
import {countLines, push, readText, useAgentRig, writeAgentConfig} from '../helpers/agent-harness.js'
import {ADMIN_TOKEN, BIN, Proc, ROOT, tempDir, waitUntil} from '../helpers/cli.js'
import {trackProcess} from '../helpers/cleanup.js'

/** The Node 24 that `npm run package` fetches (and builds the single executable from). */
const node24Path = () => execFileSync(process.execPath, [join(ROOT, 'scripts', 'package.js'), '--node-path'], {encoding: 'utf8'}).trim()
const environOf = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')
const cmdlineOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')

describe('stconf agent V8 flags', () => {
  const rig = useAgentRig({serve: true})

  /** An agent on Node 24 following `key` (version 1 pushed, applied and reloaded); each reload appends what it sees of GLIBC_TUNABLES. */
  async function startNode24Agent(key: string, env: NodeJS.ProcessEnv) {
    const dir = tempDir()
    const dest = join(dir, 'conf.ini')
    const reloads = join(dir, 'reloads.log')
    await push(rig.serve.url, 'prod', key, 'a=1\n')
    const config = writeAgentConfig(dir, {source: rig.serve.url, token: ADMIN_TOKEN, files: [{key, dest, reload: `echo "r \${GLIBC_TUNABLES-unset}" >> ${reloads}`}]})
    const agent = rig.track(new Proc(trackProcess(spawn(node24Path(), [BIN, 'agent', '--config', config], {stdio: ['ignore', 'pipe', 'pipe'], env}))))
    await waitUntil('version 1 applied and reloaded', () => readText(dest) === 'a=1\n' && countLines(reloads) === 1)
    return {pid: agent.pid!, dest, reloads}
  }

  it('every flag the agent sets after start is one V8 knows, on this Node and on Node 24', () => {
    for (const node of [process.execPath, node24Path()]) {
      const known = execFileSync(node, ['--v8-options'], {encoding: 'utf8', maxBuffer: 16 * 1024 * 1024})
      for (const flag of [...AGENT_RUNTIME_FLAGS, ...AGENT_NODE_FLAGS]) {
        const name = flag.replace(/^--(no-)?/, '').replace(/=.*/, '')
        assert.match(known, new RegExp(`^\\s+--${name} `, 'm'), `${node} does not know ${flag}`)
      }
    }
  })

  it('on Node 24 the agent runs with its flags and malloc tunables, under the pid it was started with; reloads do not inherit the tunables', async () => {
    const {pid, dest, reloads} = await startNode24Agent('game/conf.ini', {...process.env, GLIBC_TUNABLES: undefined})
    const argv = cmdlineOf(pid)
    for (const flag of AGENT_NODE_FLAGS) assert.ok(argv.includes(flag), `${flag} missing from ${argv.join(' ')}`)
    assert.equal(argv.filter((arg) => arg === AGENT_NODE_FLAGS[0]).length, 1) // re-executed once, not again
    assert.ok(environOf(pid).includes(`GLIBC_TUNABLES=${AGENT_GLIBC_TUNABLES}`), 'the re-executed agent started with the tunables')
    await push(rig.serve.url, 'prod', 'game/conf.ini', 'a=2\n')
    await waitUntil('version 2 applied and reloaded', () => readText(dest) === 'a=2\n' && countLines(reloads) === 2)
    assert.equal(readText(reloads), 'r unset\nr unset\n')
  })

  it("on Node 24 an operator's own GLIBC_TUNABLES is kept, for the agent and its reloads", async () => {
    const own = 'glibc.malloc.arena_max=2'
    const {pid, reloads} = await startNode24Agent('game/own.ini', {...process.env, GLIBC_TUNABLES: own})
    assert.ok(cmdlineOf(pid).includes(AGENT_NODE_FLAGS[0]), 're-executed with the flags')
    assert.ok(environOf(pid).includes(`GLIBC_TUNABLES=${own}`))
    assert.equal(readText(reloads), `r ${own}\n`)
  })
})
