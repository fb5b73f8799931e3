// The command helper against real shells: commands are forked by it (not by this process), run
// side by side with their own output, survive quotes and newlines, and a helper that dies fails its
// running commands with a clear line and is started again for the next one.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {helperPid, shellWord} from '../../src/lib/exec-helper.js'
import {ExecError, runShell} from '../../src/lib/exec.js'
import {waitUntil} from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'stconf-exec-helper-'))
after(() => rmSync(dir, {recursive: true, force: true}))

const gone = (pid: number) => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].startsWith('Z')


/** A process that runs one command and then stays (or exits); it prints its helper's pid and FIFO dir. */
function commandRunner(then: 'exit' | 'stay') {
  const source = `import {runShell} from ${JSON.stringify(new URL('../../src/lib/exec.ts', import.meta.url).pathname)}
const {helperPid} = await import(${JSON.stringify(new URL('../../src/lib/exec-helper.ts', import.meta.url).pathname)})
const result = await runShell('echo "$STCONF_EXEC_DIR"', {timeoutMs: 10_000})
console.log(helperPid() + ' ' + result.output)
${then === 'stay' ? 'setInterval(() => {}, 1000)' : ''}`
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', source], {stdio: ['ignore', 'pipe', 'inherit']})
  const line = new Promise<{helper: number; fifoDir: string}>((resolve) => {
    let out = ''
    child.stdout.on('data', (chunk) => {
      out += chunk
      if (out.includes('\n')) {
        const [helper, fifoDir] = out.trim().split(' ')
        resolve({helper: Number(helper), fifoDir})
      }
    })
  })
  return {child, line}
}

const ppidOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1])

describe('the command helper', () => {
  it('forks each command: its parent is a subshell of the helper, never this process', async () => {
    // $PPID of `sh -c` is the helper's subshell; that subshell's parent is the helper
    const result = await runShell('echo $PPID; echo $$', {timeoutMs: 10_000})
    const [subshell] = result.output.split('\n').map(Number)
    const helper = helperPid()
    assert.ok(helper, 'a helper runs')
    assert.notEqual(subshell, process.pid)
    assert.equal(ppidOf(subshell), helper)
    assert.equal(ppidOf(helper), process.pid)
  })

  it('runs commands side by side, each with its own output and exit code', async () => {
    const results = await Promise.allSettled(
      Array.from({length: 12}, (_, i) => runShell(`for n in 1 2 3; do echo "${i}-$n"; sleep 0.01; done; exit ${i % 3}`, {timeoutMs: 20_000})),
    )
    results.forEach((result, i) => {
      if (i % 3 === 0) {
        assert.equal(result.status, 'fulfilled')
        assert.equal((result as PromiseFulfilledResult<{output: string}>).value.output, `${i}-1\n${i}-2\n${i}-3`)
      } else {
        assert.equal(result.status, 'rejected')
        const error = (result as PromiseRejectedResult).reason as ExecError
        assert.equal(error.commandExitCode, i % 3)
        assert.equal(error.output, `${i}-1\n${i}-2\n${i}-3`)
      }
    })
  })

  it('passes quotes, $, backslashes and newlines through unchanged', async () => {
    const text = `it's "quoted" $HOME \\n \`x\``
    const result = await runShell(`printf '%s\\n' ${shellWord(text).replaceAll('"$nl"', '')}\necho second line`, {timeoutMs: 10_000})
    assert.equal(result.output, `${text}\nsecond line`)
    const env = await runShell('printf "%s" "$STCONF_ODD"', {timeoutMs: 10_000, env: {STCONF_ODD: "a'b\nc $d"}})
    assert.equal(env.output, "a'b\nc $d")
    await assert.rejects(runShell('true', {timeoutMs: 10_000, env: {'NOT-A-NAME': 'x'}}), /could not start: "NOT-A-NAME" is not an environment variable name/)
  })

  it('waits for a background child that keeps the output open, then returns all of it', async () => {
    const result = await runShell('(sleep 0.3; echo late) & echo early', {timeoutMs: 10_000})
    assert.equal(result.output, 'early\nlate')
  })

  it('a timeout is not held up by a process that left the group but keeps the output open', async () => {
    const pidFile = join(dir, 'escaped.pid')
    const started = runShell(`setsid sleep 60 & echo $! > ${pidFile}; wait`, {timeoutMs: 300, killGraceMs: 200})
    const error = await started.then(
      () => assert.fail('the command succeeded'),
      (failure: unknown) => failure,
    )
    const escaped = Number(readFileSync(pidFile, 'utf8'))
    process.kill(escaped, 'SIGKILL') // outside the group, so ours to clean up
    assert.ok(error instanceof ExecError)
    assert.equal(error.reason, 'timeout')
    const next = await runShell('echo fine', {timeoutMs: 10_000}) // its output FIFO was not handed on
    assert.equal(next.output, 'fine')
  })

  for (const how of ['exits', 'is killed with SIGKILL'] as const) {
    it(`when the agent ${how}, the helper stops and its FIFO dir is removed`, async () => {
      const {child, line} = commandRunner(how === 'exits' ? 'exit' : 'stay')
      const {helper, fifoDir} = await line
      assert.match(fifoDir, /stconf-exec-/)
      if (how !== 'exits') child.kill('SIGKILL')
      await waitUntil('the helper stopped', () => gone(helper))
      await waitUntil('the FIFO dir is gone', () => !existsSync(fifoDir))
    })
  }

  it('a helper that dies fails its running command with a clear line, and the next command starts a new one', async () => {
    await runShell('true', {timeoutMs: 10_000})
    const first = helperPid()!
    const pidFile = join(dir, 'running.pid')
    const running = runShell(`echo $$ > ${pidFile}; sleep 60`, {timeoutMs: 60_000})
    const failed = running.then(
      () => assert.fail('the command succeeded'),
      (error: unknown) => error,
    )
    await waitUntil('the command running', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8') !== '')
    process.kill(first, 'SIGKILL')
    const error = await failed
    assert.ok(error instanceof ExecError)
    assert.equal(error.reason, 'spawn')
    assert.match(error.message, /could not start: the command helper \(\/bin\/sh\) stopped: killed by SIGKILL$/)
    const next = await runShell('echo again', {timeoutMs: 10_000})
    assert.equal(next.output, 'again')
    assert.notEqual(helperPid(), first)
  })
})
