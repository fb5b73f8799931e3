import * as Flags from '@oclif/core/flags'
import {rmSync, writeFileSync} from 'node:fs'
import {resolve} from 'node:path'
import {setFlagsFromString} from 'node:v8'
import type {OnceResult} from '../lib/agent/agent.js'
import type {DryRunResult} from '../lib/agent/dry-run.js'
import {createLogger, type LogFormat} from '../lib/agent/log.js'
import {StconfCommand} from '../lib/cli/base.js'
import {badInput, EXIT_CODES, StconfError} from '../lib/errors.js'
import {singleExecutable} from '../lib/runtime.js'

/**
 * V8 flags for the long-running agent: a 1 MiB young generation and size-optimised code keep its
 * resident memory flat while it applies changes (without them V8 grows a 32 MiB new space on the
 * first busy minute and keeps it), and no compiler past the interpreter (TurboFan, Maglev on Node
 * >= 22, Sparkplug): the agent waits on ZooKeeper, the disk and its reloads, not on JavaScript, and
 * the compilers' own code pages (4-9 MiB of the `node` binary) and the optimised code they make (a
 * few MiB more over the first thousand changes) are most of what it grew by (docs/bench.md, "Agent
 * memory"). Heap sizes are only read at start-up, and a V8 started without its compilers never
 * touches their pages (2.5 MiB less for the single executable than the same flags set after start),
 * so the agent re-executes itself with them in place (same pid, for service managers and pid files)
 * where Node can (process.execve, Node >= 22.15 / 23.11): npm's agent with the flags on node's
 * command line, the single executable with them in `--node-options=` (its execArgvExtension "cli",
 * scripts/package.js).
 */
export const AGENT_NODE_FLAGS = ['--max-semi-space-size=1', '--optimize-for-size', '--no-opt', '--no-maglev', '--no-sparkplug']

/**
 * What a Node that cannot re-execute itself (Node 20) still takes after start: V8 reads these when it
 * decides, not at start-up. A young generation that never grows past its first 1 MiB semi-space is
 * the semi-space flag's effect; the same flags measured on the command line and set here gave the
 * same figures (docs/bench.md, "Agent memory").
 */
export const AGENT_RUNTIME_FLAGS = ['--semi-space-growth-factor=1', ...AGENT_NODE_FLAGS.slice(1)]

/** The command line that runs this same agent again with AGENT_NODE_FLAGS at start-up. */
export function agentReexecArgv(): string[] {
  return singleExecutable
    ? [process.execPath, `--node-options=${AGENT_NODE_FLAGS.join(' ')}`, ...process.argv.slice(2)]
    : [process.execPath, ...AGENT_NODE_FLAGS, ...process.execArgv, ...process.argv.slice(1)]
}

/**
 * glibc's malloc for the agent, set in the environment of its re-execution (the dynamic loader reads it
 * at start): a fixed 16 KiB mmap threshold. By default the threshold follows the largest block freed
 * (up to 32 MiB), so after the first 64 KiB socket read buffer every larger block comes from the main
 * heap, which keeps the pages of blocks freed in its middle: +3.3 MiB of heap over 2,000 changes
 * against +1.0-1.3 with this (/proc/<pid>/smaps, docs/bench.md, "Agent memory", sixth round). An
 * operator's own GLIBC_TUNABLES is left as it is; ours is not passed on to checks and reloads.
 */
export const AGENT_GLIBC_TUNABLES = 'glibc.malloc.mmap_threshold=16384'

function applyAgentFlags(): void {
  const flagged = AGENT_NODE_FLAGS.every((flag) => process.execArgv.includes(flag))
  if (flagged && process.env.GLIBC_TUNABLES !== undefined) {
    if (process.env.GLIBC_TUNABLES === AGENT_GLIBC_TUNABLES) delete process.env.GLIBC_TUNABLES
    return
  }

  const execve = (process as {execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never}).execve
  if (typeof execve === 'function') {
    execve(process.execPath, agentReexecArgv(), {GLIBC_TUNABLES: AGENT_GLIBC_TUNABLES, ...process.env})
  }

  if (!flagged) for (const flag of AGENT_RUNTIME_FLAGS) setFlagsFromString(flag)
}

export default class AgentCommand extends StconfCommand {
  static override summary = 'Keep this server\'s config files equal to the center\'s: check, apply atomically, reload, roll back, report'
  static override description =
    'Runs in the foreground until SIGTERM (clean stop) and re-reads its config file on SIGHUP. Each applied file gets one log line ' +
    '(version, diff stat, reload result); `logDiff: true` on a file adds the diff. ' +
    '--once --dry-run shows what would change and changes nothing (exit 0: nothing would, 8: something would). See docs/agent.md.'

  static override examples = [
    '<%= config.bin %> agent --config /etc/stconf/agent.yml',
    '<%= config.bin %> agent --config agent.yml --once',
    '<%= config.bin %> agent --config agent.yml --once --dry-run',
    '<%= config.bin %> agent --config agent.yml --once --dry-run --json',
    '<%= config.bin %> agent --config agent.yml --daemon --pid-file /run/stconf-agent.pid --log-file /var/log/stconf-agent.log',
  ]

  static override enableJsonFlag = true
  static override flags = {
    config: Flags.string({char: 'c', description: 'agent config file (YAML or JSON)', required: true}),
    once: Flags.boolean({description: 'apply the current state and exit: 0 when every file is in sync, 5 when the center refused a read or the report'}),
    'dry-run': Flags.boolean({
      description: 'with --once: print what would change (unified diffs) and change nothing; exit 0 when nothing would change, 8 when something would',
      dependsOn: ['once'],
      exclusive: ['daemon', 'pid-file'],
    }),
    'once-timeout': Flags.integer({description: 'with --once: seconds to wait for the center', default: 30, min: 1}),
    'log-format': Flags.string({description: 'log line format', options: ['text', 'json'], default: 'text'}),
    daemon: Flags.boolean({description: 'detach and run in the background'}),
    'pid-file': Flags.string({description: 'write the agent\'s pid here (removed on clean stop)'}),
    'log-file': Flags.string({description: 'with --daemon: append log lines here (default: discard)'}),
  }

  async run(): Promise<DryRunResult | OnceResult | void> {
    const {flags} = await this.parse(AgentCommand)
    const json = this.jsonEnabled()
    if (json && !flags.once) throw badInput('--json needs --once (with or without --dry-run)', 'a running agent logs JSON with --log-format json')
    // a running agent, not --once (a short run gains nothing from them and would pay a second start)
    if (!flags.once && !flags.daemon) applyAgentFlags()
    const configPath = resolve(flags.config)
    // Loaded here, not at the top: the bundle holds every command, and the agent's graph (zod, yaml,
    // the ZooKeeper wrapper) must not be evaluated by every other command's start-up.
    const [{loadAgentConfig}, {Agent}, {daemonize, runService}] = await Promise.all([
      import('../lib/agent/config.js'),
      import('../lib/agent/agent.js'),
      import('../lib/agent/service.js'),
    ])
    const config = await loadAgentConfig(configPath, process.env) // invalid at start: one line per mistake, exit 2
    // stdout carries the result for --json, so the log goes to stderr; a dry run's output is its
    // result, so it keeps only warnings and errors (on stderr).
    const logOut = flags['dry-run'] ? {write: () => true} : json ? process.stderr : process.stdout
    const logger = createLogger(flags['log-format'] as LogFormat, logOut, process.stderr, {color: !process.env.NO_COLOR})
    const agentVersion = this.config.version

    if (flags['dry-run']) {
      const {dryRun, formatDryRun, summarizeDryRun} = await import('../lib/agent/dry-run.js')
      const result = await dryRun({config, logger, timeoutMs: flags['once-timeout'] * 1000})
      this.log(formatDryRun(result, process.stdout.isTTY === true && !process.env.NO_COLOR))
      if (result.wouldChange + result.unknown === 0) return result
      if (json) {
        process.exitCode = EXIT_CODES['not-converged']
        return result
      }

      throw new StconfError('not-converged', summarizeDryRun(result), 'push the version this server should have, or fix the file on disk, until the dry run reports no change')
    }

    if (flags.daemon) {
      const pid = daemonize(process.argv, flags['log-file'] && resolve(flags['log-file']))
      this.log(`stconf agent started in the background (pid ${pid})`)
      return
    }

    const pidFile = flags['pid-file'] ? resolve(flags['pid-file']) : undefined
    if (flags.once) {
      if (pidFile) writeFileSync(pidFile, `${process.pid}\n`)
      const result = await new Agent({config, logger, agentVersion}).runOnce(flags['once-timeout'] * 1000)
      if (pidFile) rmSync(pidFile, {force: true})
      for (const file of result.files) {
        this.log(`${file.key} -> ${file.dest}: ${file.status} version ${file.version ?? '-'} (center ${file.centerVersion ?? '-'})${file.error ? ` ${file.error}` : ''}`)
      }

      // A refusal outranks "not in sync": nothing will converge until a setting changes (exit 5).
      if (result.refused.length > 0) throw result.refused[0]
      if (!result.inSync) throw new StconfError('failed', 'not every file is in sync with the center')
      return result
    }

    await runService({configPath, config, logger, agentVersion, pidFile})
    // Nothing should be left running; if a library holds a handle, do not hang a service manager.
    setTimeout(() => process.exit(0), 2000).unref()
  }
}
