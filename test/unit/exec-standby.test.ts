// The standby shell against real shells: each command runs in a /bin/sh started before it was asked
// for (its own process group, a child of this process), the next one waits once it exited, commands
// run side by side with their own output, quotes and newlines survive, and a standby that dies before
// it read its command hands it to a fresh shell.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {shellWord, standbyPid, startCommand} from '../../src/lib/exec-standby.js'
import {ExecError, runShell} from '../../src/lib/exec.js'
import {waitUntil} from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'stconf-exec-standby-'))
after(() => rmSync(dir, {recursive: true, force: true}))

const gone = (pid: number) => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].startsWith('Z')


/** A process that runs one command and then stays (or exits); it prints the standby waiting after it. */
function commandRunner(then: 'exit' | 'stay') {
  const source = `import {runShell} from ${JSON.stringify(new URL('../../src/lib/exec.ts', import.meta.url).pathname)}
const {standbyPid} = await import(${JSON.stringify(new URL('../../src/lib/exec-standby.ts', import.meta.url).pathname)})
await runShell('true', {timeoutMs: 10_000})
while (standbyPid() === undefined) await new Promise((resolve) => setTimeout(resolve, 10))
console.log(String(standbyPid()))
${then === 'stay' ? 'setInterval(() => {}, 1000)' : ''}`
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', source], {stdio: ['ignore', 'pipe', 'inherit']})
  const line = new Promise<number>((resolve) => {
    let out = ''
    child.stdout.on('data', (chunk) => {
      out += chunk
      if (out.includes('\n')) resolve(Number(out.trim()))
    })
  })
  return {child, line}
}

const statField = (pid: number, field: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[field])
const pgidOf = (pid: number) => statField(pid, 2)

describe('the standby shell', () => {
  it('runs a command in the shell that was waiting before it was asked for: a child of this process, in a group of its own', async () => {
    await runShell('true', {timeoutMs: 10_000})
    await waitUntil('a standby waits after the first command', () => standbyPid() !== undefined)
    const waiting = standbyPid()!
    const result = await runShell('echo $$ $PPID', {timeoutMs: 10_000})
    const [shell, parent] = result.output.split(' ').map(Number)
    assert.equal(shell, waiting)
    assert.equal(parent, process.pid, 'started by this process (through execa)')
  })

  it('the command leads its own process group, and the next standby waits once it exited', async () => {
    const pidFile = join(dir, 'group.pid')
    const running = runShell(`echo $$ > ${pidFile}; sleep 60`, {timeoutMs: 60_000})
    await waitUntil('the command running', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8') !== '')
    const shell = Number(readFileSync(pidFile, 'utf8'))
    assert.equal(pgidOf(shell), shell)
    assert.notEqual(pgidOf(shell), pgidOf(process.pid))
    process.kill(-shell, 'SIGTERM')
    await running.catch(() => undefined)
    await waitUntil('a new standby waits', () => standbyPid() !== undefined)
    assert.notEqual(standbyPid(), shell)
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
    const next = await runShell('echo fine', {timeoutMs: 10_000}) // the next command is not held up either
    assert.equal(next.output, 'fine')
  })

  for (const how of ['exits', 'is killed with SIGKILL'] as const) {
    it(`when the agent ${how}, its standby shell exits (end of file on its stdin)`, async () => {
      const {child, line} = commandRunner(how === 'exits' ? 'exit' : 'stay')
      const standby = await line
      assert.ok(standby > 0, 'a standby waited')
      if (how !== 'exits') child.kill('SIGKILL')
      await waitUntil('the standby exited', () => gone(standby))
    })
  }

  it('a standby killed before it read its command hands the command to a fresh shell', async () => {
    await runShell('true', {timeoutMs: 10_000})
    await waitUntil('a standby waits', () => standbyPid() !== undefined)
    const waiting = standbyPid()!
    process.kill(waiting, 'SIGKILL') // this process has not seen it die when the command is handed over
    const result = await runShell('echo $$', {timeoutMs: 10_000})
    assert.notEqual(Number(result.output), waiting)
    assert.ok(Number(result.output) > 0)
  })

  it('an abort that comes while the command is being started stops it before it runs', async () => {
    const marker = join(dir, 'never')
    const controller = new AbortController()
    const running = runShell(`touch ${marker}`, {timeoutMs: 10_000, signal: controller.signal})
    controller.abort()
    const error = await running.then(
      () => assert.fail('the command succeeded'),
      (failure: unknown) => failure,
    )
    assert.ok(error instanceof ExecError)
    assert.equal(error.reason, 'aborted')
    await runShell('true', {timeoutMs: 10_000})
    assert.equal(existsSync(marker), false)
  })

  it('a command killed as it is handed over is not started again in another shell', async () => {
    await runShell('true', {timeoutMs: 10_000})
    const marker = join(dir, 'not-again')
    const started = startCommand(`sleep 0.3; touch ${marker}`, {maxOutput: 1024})
    started.kill('SIGKILL') // before or after the shell read it: either way it must not run
    const outcome = await started.done
    assert.ok(outcome.kind === 'nostart' || outcome.exitCode === 137, JSON.stringify(outcome))
    await runShell('sleep 0.5', {timeoutMs: 10_000})
    assert.equal(existsSync(marker), false)
  })
})
