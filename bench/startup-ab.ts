// Start-up of two builds of the CLI, interleaved against one local serve: `pull -o <file>` and `push`
// of unchanged bytes, each next to `node -e 0`. For a change that may touch the start-up path:
//   git worktree add /tmp/stconf-base main && (cd /tmp/stconf-base && npm ci)   # or any built checkout
//   node --import tsx bench/startup-ab.ts /tmp/stconf-base [rounds]
import {spawnSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {ADMIN_TOKEN, BIN, startServe, tempDir} from '../test/helpers/cli.js'

const base = process.argv[2]
if (!base) throw new Error('usage: node --import tsx bench/startup-ab.ts <built checkout to compare with> [rounds]')
const rounds = Number(process.argv[3] ?? 25)
const serve = await startServe()
try {
  const work = tempDir('stconf-bench-ab-')
  await fetch(`${serve.url}/api/v1/config/prod/game/conf.ini`, {method: 'PUT', headers: {authorization: `Bearer ${ADMIN_TOKEN}`}, body: 'k=v\n'})
  writeFileSync(join(work, 'in.ini'), 'k=v\n')
  const env = {...process.env, STCONF_SERVER: serve.url, STCONF_TOKEN: ADMIN_TOKEN, STCONF_ENV: 'prod'}
  const bins = {base: join(resolve(base), 'bin', 'run.js'), here: BIN}
  const contenders: Record<string, string[]> = {nodeE0: ['-e', '0']}
  for (const [name, bin] of Object.entries(bins)) {
    contenders[`${name}Pull`] = [bin, 'pull', 'game/conf.ini', '-o', join(work, 'out.ini')]
    contenders[`${name}Push`] = [bin, 'push', 'game/conf.ini', '--file', join(work, 'in.ini')]
  }

  const once = (args: string[]) => {
    const started = performance.now()
    const result = spawnSync(process.execPath, args, {env, stdio: ['ignore', 'ignore', 'pipe']})
    if (result.status !== 0) throw new Error(`${args.join(' ')}: ${result.stderr}`)
    return performance.now() - started
  }

  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]))
  for (const args of Object.values(contenders)) once(args) // warm the page cache
  for (let i = 0; i < rounds; i++) for (const [name, args] of Object.entries(contenders)) samples[name].push(once(args))
  const median = (name: string) => [...samples[name]].sort((a, b) => a - b)[Math.floor(rounds / 2)]
  const round = (n: number) => Math.round(n * 100) / 100
  const result: Record<string, unknown> = {rounds, medianMs: Object.fromEntries(Object.keys(samples).map((name) => [name, round(median(name))]))}
  for (const command of ['Pull', 'Push']) {
    result[`base${command}OverNodeE0`] = round(median(`base${command}`) / median('nodeE0'))
    result[`here${command}OverNodeE0`] = round(median(`here${command}`) / median('nodeE0'))
    result[`here${command}OverBase`] = round(median(`here${command}`) / median(`base${command}`))
  }

  console.log(JSON.stringify(result, null, 2))
} finally {
  await serve.stop()
}
