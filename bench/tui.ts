// `stconf tui` against a serve holding 5,000 keys and 500 reporting instances:
// - first frame: the built CLI in tmux (120x32), from launch until the screen shows keys, versions
//   and instances (capture-pane polled every 10 ms, so figures are up to ~10 ms late);
// - key press -> next frame and push -> frame: the same dashboard (runTui) in this process on a
//   fake 120x32 terminal, timed from the key bytes / the push to the next frame Ink writes;
// - idle CPU of the tmux-run process over 10 s with nothing changing;
// - the parts of the first frame on their own: node, node + oclif (`stconf version`), importing the
//   TUI chunk (Ink, React, yoga), and each initial read as the dashboard makes it (serve + transfer +
//   JSON parse). The first tmux run is the first listing of the env since serve started (the seeding
//   pushes do not fill serve's listing); the other runs find it kept.
// Run: npm run build && node --import tsx bench/tui.ts
import {execFileSync} from 'node:child_process'
import {EventEmitter} from 'node:events'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {ApiClient} from '../src/lib/client/api-client.js'
import {ADMIN_TOKEN, BIN, ROOT, startServe, waitUntil} from '../test/helpers/cli.js'
import {TmuxTerminal} from '../test/helpers/tmux.js'
import {percentile} from './core.js'

const KEYS = 5000
const INSTANCES = 500
const FILES_PER_INSTANCE = 10
const ms = (n: number) => Math.round(n * 10) / 10

async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({length: limit}, async () => {
    while (next < items.length) await fn(items[next++])
  }))
}

class FakeStdout extends EventEmitter {
  readonly isTTY = true
  columns = 120
  rows = 32
  frames: Array<{at: number; text: string}> = []
  write = (text: string) => {
    this.frames.push({at: performance.now(), text})
    this.emit('frame', text)
    return true
  }
}

class FakeStdin extends EventEmitter {
  readonly isTTY = true
  private data: string | null = null
  send(data: string) {
    this.data = data
    this.emit('readable')
    this.emit('data', data)
  }
  read = () => {
    const data = this.data
    this.data = null
    return data
  }
  setEncoding() {}
  setRawMode() {}
  resume() {}
  pause() {}
  ref() {}
  unref() {}
}

function nextFrame(stdout: FakeStdout, match: (text: string) => boolean, timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no such frame')), timeoutMs)
    const onFrame = (text: string) => {
      if (!match(text)) return
      clearTimeout(timer)
      stdout.off('frame', onFrame)
      resolve(performance.now())
    }
    stdout.on('frame', onFrame)
  })
}

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return Number(fields[11]) + Number(fields[12]) // utime + stime, in clock ticks (1/100 s)
}

export async function benchTui(): Promise<Record<string, unknown>> {
  const serve = await startServe()
  const auth = {authorization: `Bearer ${ADMIN_TOKEN}`}
  const keyName = (i: number) => `bench/k${String(i).padStart(4, '0')}.ini`
  try {
    const t0 = performance.now()
    await inParallel([...Array(KEYS).keys()], 16, (i) => fetch(`${serve.url}/api/v1/config/prod/${keyName(i)}`, {method: 'PUT', headers: auth, body: `[bench]\nkey = ${i}\n`}).then((r) => r.arrayBuffer()))
    const now = new Date().toISOString()
    await inParallel([...Array(INSTANCES).keys()], 16, (i) => {
      const files = Array.from({length: FILES_PER_INSTANCE}, (_, f) => ({key: keyName((i + f * 7) % 100), dest: `/srv/${f}.ini`, version: 1, sha256: null, status: 'ok', appliedAt: now, error: null}))
      const report = {host: `gs-${String(i).padStart(3, '0')}`, pid: 1000 + i, agentVersion: '0.1.0', startedAt: now, updatedAt: now, files, intervalMs: 3_600_000}
      return fetch(`${serve.url}/api/v1/instances/prod/${report.host}`, {method: 'PUT', headers: auth, body: JSON.stringify(report)}).then((r) => r.arrayBuffer())
    })
    const seedSeconds = ms((performance.now() - t0) / 1000)

    // First frame and idle CPU: the real process in a real terminal.
    const firstFrames: number[] = []
    let idleCpuPercent = 0
    for (let run = 0; run < 3; run++) {
      const started = performance.now()
      const tui = TmuxTerminal.start(['tui'], {env: {STCONF_SERVER: serve.url, STCONF_TOKEN: ADMIN_TOKEN, STCONF_ENV: 'prod'}})
      try {
        await waitUntil('a complete first frame', () => {
          const screen = tui.screen()
          return /Keys 5000/.test(screen) && /▸v1 +push/.test(screen) && /gs-\d+ +v1 +ok/.test(screen)
        }, 60_000)
        firstFrames.push(performance.now() - started)
        if (run === 2) {
          const shell = Number(tui.tmux('display-message', '-p', '-t', 'tui', '#{pane_pid}').trim())
          const pid = Number(execFileSync('pgrep', ['-P', String(shell)], {encoding: 'utf8'}).trim().split('\n')[0])
          await new Promise((resolve) => setTimeout(resolve, 2000)) // let the last reads settle
          const before = cpuTicks(pid)
          await new Promise((resolve) => setTimeout(resolve, 10_000))
          idleCpuPercent = (cpuTicks(pid) - before) / 10 // ticks of 10 ms over 10 s -> percent
        }
      } finally {
        tui.close()
      }
    }

    // The parts, each on its own (medians of 5).
    const median = async (fn: () => unknown) => {
      const runs: number[] = []
      for (let i = 0; i < 5; i++) {
        const start = performance.now()
        await fn()
        runs.push(performance.now() - start)
      }
      return ms(percentile(runs, 50))
    }
    const meta = JSON.parse(readFileSync(join(ROOT, 'dist', 'meta.json'), 'utf8')) as {outputs: Record<string, {inputs: Record<string, unknown>}>}
    const tuiChunk = Object.keys(meta.outputs).find((file) => /\.m?js$/.test(file) && 'src/tui/run.tsx' in meta.outputs[file].inputs)!
    const node = (...args: string[]) => execFileSync(process.execPath, args, {cwd: ROOT, env: {...process.env, NODE_ENV: 'production'}})
    const reader = new ApiClient({server: serve.url, token: ADMIN_TOKEN})
    const parts = {
      nodeStart: await median(() => node('-e', '0')),
      nodeAndOclif: await median(() => node(BIN, 'version')),
      importTuiChunk: ms((await median(() => node('--input-type=module', '-e', `await import(${JSON.stringify(join(ROOT, tuiChunk))})`))) - (await median(() => node('--input-type=module', '-e', '0')))),
      readKeys: await median(() => reader.keys('prod')),
      readInstances: await median(() => reader.json('GET', '/api/v1/instances/prod')),
      readAudit: await median(() => reader.audit({limit: 200})),
      readHistory: await median(() => reader.history('prod', keyName(0), 100)),
    }

    // Key press and push latency: the dashboard in this process.
    process.env.NODE_ENV ??= 'production'
    const {runTui} = await import('../src/tui/run.js')
    const stdout = new FakeStdout()
    const stdin = new FakeStdin()
    const client = new ApiClient({server: serve.url, token: ADMIN_TOKEN})
    const mounted = performance.now()
    const done = runTui({client, env: 'prod', colors: true, stdin: stdin as unknown as NodeJS.ReadStream, stdout: stdout as unknown as NodeJS.WriteStream})
    const inProcessFirstFrame = (await nextFrame(stdout, (text) => text.includes('Keys 5000') && /gs-\d+ +v1 +ok/.test(text), 30_000)) - mounted
    await new Promise((resolve) => setTimeout(resolve, 500))
    const keyPress: number[] = []
    for (let i = 0; i < 200; i++) {
      const key = i % 40 < 20 ? '\u001b[B' : '\u001b[A' // down 20, up 20, ...
      const frame = nextFrame(stdout, () => true)
      const sent = performance.now()
      stdin.send(key)
      keyPress.push((await frame) - sent)
      await new Promise((resolve) => setTimeout(resolve, 20)) // a fast typist, not a flood
    }

    const pushes: number[] = []
    for (let n = 2; n <= 11; n++) {
      const selected = keyName(0)
      stdin.send('g')
      await new Promise((resolve) => setTimeout(resolve, 100))
      const frame = nextFrame(stdout, (text) => new RegExp(`▸${selected.replace(/[./]/g, '\\$&')} +v${n} `).test(text))
      const sent = performance.now()
      await fetch(`${serve.url}/api/v1/config/prod/${selected}`, {method: 'PUT', headers: auth, body: `[bench]\nrev = ${n}\n`}).then((r) => r.arrayBuffer())
      pushes.push((await frame) - sent)
    }

    stdin.send('q')
    await done
    return {
      setup: {keys: KEYS, instances: INSTANCES, filesPerInstance: FILES_PER_INSTANCE, seedSeconds},
      firstFrameMs: {runs: firstFrames.map(ms), median: ms(percentile(firstFrames, 50)), target: '<= 1000', note: 'built CLI in tmux 120x32, launch to a frame with keys, versions and instances'},
      inProcessFirstFrameMs: ms(inProcessFirstFrame),
      partsMs: {...parts, note: 'each alone, medians of 5; importTuiChunk is less a bare node -e; reads include JSON parse'},
      keyPressToFrameMs: {p50: ms(percentile(keyPress, 50)), p99: ms(percentile(keyPress, 99)), target: 'p99 <= 50'},
      pushToFrameMs: {p50: ms(percentile(pushes, 50)), max: ms(Math.max(...pushes)), target: '<= 1000'},
      idleCpuPercent: {value: ms(idleCpuPercent), target: '~0', note: '10 s of the tmux-run process with nothing changing'},
    }
  } finally {
    await serve.stop()
  }
}

// Run on its own: node --import tsx bench/tui.ts
if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchTui(), null, 2))
  process.exit(0)
}
