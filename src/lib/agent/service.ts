// How `stconf agent` lives as a service: detaching (--daemon), the pid file, SIGTERM/SIGINT for a
// clean stop (a second one kills running checks and reloads) and SIGHUP to re-read the config file,
// one change of state at a time.
import {spawn} from 'node:child_process'
import {openSync, rmSync, writeFileSync} from 'node:fs'
import {formatErrorLine} from '../errors.js'
import {selfArgs} from '../runtime.js'
import {Agent} from './agent.js'
import {loadAgentConfig, type AgentConfig} from './config.js'
import type {Logger} from './types.js'

/** Start this same command again without --daemon, detached; returns the child's pid. */
export function daemonize(argv: string[], logFile?: string): number | undefined {
  const out = logFile ? openSync(logFile, 'a') : 'ignore'
  const args = argv.slice(2).filter((arg) => arg !== '--daemon')
  const child = spawn(process.execPath, [...selfArgs(argv), ...args], {detached: true, stdio: ['ignore', out, out]})
  child.unref()
  return child.pid
}

export interface ServiceOptions {
  configPath: string
  config: AgentConfig
  logger: Logger
  agentVersion: string
  pidFile?: string
}

/** Run the agent until SIGTERM/SIGINT; SIGHUP re-reads the config (an invalid one keeps the old). */
export async function runService(options: ServiceOptions): Promise<void> {
  const {configPath, logger, agentVersion} = options
  let config = options.config
  let agent: Agent | undefined
  // Signals are handled from the first moment: one arriving during start-up waits its turn.
  let busy: Promise<void> = Promise.resolve()
  let stopping = false
  const stopped = new Promise<void>((done) => {
    const stop = (signal: string) => {
      if (stopping) {
        // A second signal: do not wait for a slow check or reload, kill it (rolled back) and exit.
        logger.warn('stopping now: killing running checks and reloads', {signal})
        agent?.abortCommands()
        return
      }

      logger.info('stopping', {signal})
      stopping = true
      busy = busy.then(() => agent?.stop()).then(done, done)
    }

    process.on('SIGTERM', () => stop('SIGTERM'))
    process.on('SIGINT', () => stop('SIGINT'))
  })
  process.on('SIGHUP', () => {
    busy = busy.then(async () => {
      if (stopping || !agent) return
      const outcome = await reload(agent, configPath, config, logger, agentVersion)
      agent = outcome.agent
      if (outcome.error === undefined) {
        config = outcome.config
        logger.info('config reloaded', {config: configPath, files: config.files.length})
      } else {
        logger.error('config reload failed, keeping the old config', {config: configPath, error: formatErrorLine(outcome.error).replaceAll('\n', '; ')})
      }
    })
  })

  if (options.pidFile) writeFileSync(options.pidFile, `${process.pid}\n`)
  busy = busy.then(async () => {
    agent = new Agent({config, logger, agentVersion})
    await agent.start()
  })
  try {
    await busy
  } catch (error) {
    if (options.pidFile) rmSync(options.pidFile, {force: true})
    throw error
  }

  await stopped
  if (options.pidFile) rmSync(options.pidFile, {force: true})
}

/** Swap in an agent for the re-read config. Whatever fails, an agent runs afterwards: the new one, or the old config's. */
async function reload(
  current: Agent,
  configPath: string,
  config: AgentConfig,
  logger: Logger,
  agentVersion: string,
): Promise<{agent: Agent; config: AgentConfig; error?: unknown}> {
  let next: AgentConfig
  try {
    next = await loadAgentConfig(configPath)
  } catch (error) {
    return {agent: current, config, error} // invalid file: the running agent was never touched
  }

  await current.stop()
  const failed = current.failedVersions() // after stop: includes a failure of the change that was in flight
  const candidate = new Agent({config: next, logger, agentVersion, inheritFailed: failed})
  try {
    await candidate.start()
    return {agent: candidate, config: next}
  } catch (error) {
    // Valid but cannot start (e.g. its cacheDir cannot be created): go back to the old config.
    await candidate.stop().catch(() => undefined)
    const previous = new Agent({config, logger, agentVersion, inheritFailed: failed})
    await previous.start()
    return {agent: previous, config, error}
  }
}
