import * as Flags from '@oclif/core/flags'
import {spawn} from 'node:child_process'
import {openSync, writeFileSync, rmSync} from 'node:fs'
import {resolve} from 'node:path'
import {Agent} from '../lib/agent/agent.js'
import {loadAgentConfig} from '../lib/agent/config.js'
import {createLogger, type LogFormat} from '../lib/agent/log.js'
import {StconfCommand} from '../lib/cli/base.js'
import {formatErrorLine, StconfError} from '../lib/errors.js'

export default class AgentCommand extends StconfCommand {
  static override summary = 'Keep this server\'s config files equal to the center\'s: check, apply atomically, reload, roll back, report'
  static override description =
    'Runs in the foreground until SIGTERM (clean stop) and re-reads its config file on SIGHUP. See docs/agent.md.'

  static override examples = [
    '<%= config.bin %> agent --config /etc/stconf/agent.yml',
    '<%= config.bin %> agent --config agent.yml --once',
    '<%= config.bin %> agent --config agent.yml --daemon --pid-file /run/stconf-agent.pid --log-file /var/log/stconf-agent.log',
  ]

  static override flags = {
    config: Flags.string({char: 'c', description: 'agent config file (YAML or JSON)', required: true}),
    once: Flags.boolean({description: 'apply the current state and exit: 0 when every file is in sync'}),
    'once-timeout': Flags.integer({description: 'with --once: seconds to wait for the center', default: 30, min: 1}),
    'log-format': Flags.string({description: 'log line format', options: ['text', 'json'], default: 'text'}),
    daemon: Flags.boolean({description: 'detach and run in the background'}),
    'pid-file': Flags.string({description: 'write the agent\'s pid here (removed on clean stop)'}),
    'log-file': Flags.string({description: 'with --daemon: append log lines here (default: discard)'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(AgentCommand)
    const configPath = resolve(flags.config)
    let config = await loadAgentConfig(configPath) // invalid at start: one line per mistake, exit 2
    const logger = createLogger(flags['log-format'] as LogFormat, process.stdout, process.stderr)
    const agentVersion = this.config.version

    if (flags.daemon) {
      const out = flags['log-file'] ? openSync(resolve(flags['log-file']), 'a') : 'ignore'
      const args = process.argv.slice(2).filter((arg) => arg !== '--daemon')
      const child = spawn(process.execPath, [...process.execArgv, process.argv[1], ...args], {detached: true, stdio: ['ignore', out, out]})
      child.unref()
      this.log(`stconf agent started in the background (pid ${child.pid})`)
      return
    }

    const pidFile = flags['pid-file'] ? resolve(flags['pid-file']) : undefined
    if (pidFile) writeFileSync(pidFile, `${process.pid}\n`)

    if (flags.once) {
      const result = await new Agent({config, logger, agentVersion}).runOnce(flags['once-timeout'] * 1000)
      if (pidFile) rmSync(pidFile, {force: true})
      for (const file of result.files) {
        this.log(`${file.key} -> ${file.dest}: ${file.status} version ${file.version ?? '-'} (center ${file.centerVersion ?? '-'})${file.error ? ` ${file.error}` : ''}`)
      }

      if (!result.inSync) throw new StconfError('failed', 'not every file is in sync with the center')
      return
    }

    let agent = new Agent({config, logger, agentVersion})
    await agent.start()
    let busy: Promise<void> = Promise.resolve()
    let stopping = false
    const stopped = new Promise<void>((done) => {
      const stop = (signal: string) => {
        logger.info('stopping', {signal})
        stopping = true
        busy = busy.then(() => agent.stop()).then(done, done)
      }

      process.once('SIGTERM', () => stop('SIGTERM'))
      process.once('SIGINT', () => stop('SIGINT'))
    })
    process.on('SIGHUP', () => {
      busy = busy.then(async () => {
        if (stopping) return
        try {
          const next = await loadAgentConfig(configPath)
          await agent.stop()
          const failed = agent.failedVersions() // after stop: includes a failure of the change that was in flight
          let candidate: Agent | undefined
          try {
            candidate = new Agent({config: next, logger, agentVersion, inheritFailed: failed})
            await candidate.start()
          } catch (error) {
            // Valid but cannot start (e.g. its cacheDir cannot be created): go back to the old config.
            await candidate?.stop().catch(() => undefined)
            agent = new Agent({config, logger, agentVersion, inheritFailed: failed})
            await agent.start()
            throw error
          }

          agent = candidate
          config = next
          logger.info('config reloaded', {config: configPath, files: config.files.length})
        } catch (error) {
          logger.error('config reload failed, keeping the old config', {config: configPath, error: formatErrorLine(error).replaceAll('\n', '; ')})
        }
      })
    })
    await stopped
    if (pidFile) rmSync(pidFile, {force: true})
    // Nothing should be left running; if a library holds a handle, do not hang a service manager.
    setTimeout(() => process.exit(0), 2000).unref()
  }
}
