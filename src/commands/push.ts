import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {StconfCommand, clientFlags} from '../lib/cli/base.js'
import {ApiClient, type PushAnswer} from '../lib/client/api-client.js'
import {pushFile, target} from '../lib/client/operations.js'
import type {RolloutResult} from '../lib/client/rollout.js'
import {waitAndReport, waitFlags, waitTimeout} from '../lib/cli/wait.js'

export default class Push extends StconfCommand {
  static override summary = 'Publish a local file as the next version of a key'
  static override description = `The file defaults to ./<key>. Identical bytes make no new version; an empty file is refused
unless --allow-empty. The first key of an env creates it ("created env <env>" on stderr).
.json/.yaml/.yml/.ini/.toml/.properties files are syntax-checked first (skip with --no-validate).`

  static override examples = [
    '<%= config.bin %> push game/conf.ini --env prod -m "raise max players"',
    '<%= config.bin %> push game/conf.ini --file build/conf.ini --env staging',
    'cat conf.ini | <%= config.bin %> push game/conf.ini --file - --expect-version 7',
    '<%= config.bin %> push game/maintenance.flag --env prod --allow-empty',
    '<%= config.bin %> push game/conf.ini --env prod --wait --wait-timeout 2m',
  ]

  static override enableJsonFlag = true
  static override args = {key: Args.string({description: 'key, a relative path like game/conf.ini', required: true})}
  static override flags = {
    ...clientFlags,
    file: Flags.string({char: 'f', description: 'local file to publish ("-" = stdin; default ./<key>)'}),
    message: Flags.string({char: 'm', description: 'why this change (kept in history and audit)'}),
    'expect-version': Flags.integer({description: 'refuse unless the current version is N (0 = new key)', min: 0}),
    validate: Flags.boolean({description: 'syntax-check known formats before pushing', default: true, allowNo: true}),
    ...waitFlags,
    'allow-empty': Flags.boolean({description: 'publish an empty (0-byte) file; refused without it'}),
  }

  async run(): Promise<PushAnswer & {wait?: RolloutResult}> {
    const {args, flags} = await this.parse(Push)
    const client = new ApiClient({server: flags.server, token: flags.token})
    const wait = waitTimeout(flags)
    const result = await pushFile(client, target(flags.env, args.key), {
      file: flags.file,
      message: flags.message,
      expectVersion: flags['expect-version'],
      validate: flags.validate,
      allowEmpty: flags['allow-empty'],
    })
    // stderr also with --json: a new env is news either way (an --env typo would otherwise be silent).
    if (result.createdEnv) process.stderr.write(`created env ${result.env}\n`)
    this.log(
      result.changed
        ? `pushed ${result.env}/${result.key} as version ${result.version} (${result.size} bytes, sha256 ${result.sha256.slice(0, 12)})`
        : `unchanged: ${result.env}/${result.key} is already these bytes (version ${result.version}); no new version`,
    )
    if (!wait) return result
    const waited = await waitAndReport(client, result, wait)
    this.log(waited.lines)
    this.exitWith(waited.error)
    return {...result, wait: waited.result}
  }
}
