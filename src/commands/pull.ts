import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import type {PullResult} from '../lib/api/contract.js'
import {StconfCommand, clientFlags} from '../lib/cli/base.js'
import {ApiClient} from '../lib/client/api-client.js'
import {pullFile, target} from '../lib/client/operations.js'
import {badInput} from '../lib/errors.js'

export default class Pull extends StconfCommand {
  static override summary = 'Fetch a key (current or one version) byte-exact'
  static override description = `Writes ./<key> by default (atomically: a reader never sees a partial file); -o - prints to stdout.
A local file whose bytes are none of the key's versions holds local edits: pull refuses (exit 4) unless --force.
--json prints what was pulled and where it was written (so it needs a file, not -o -).`
  static override examples = [
    '<%= config.bin %> pull game/conf.ini --env prod',
    '<%= config.bin %> pull game/conf.ini --env prod --version 3 -o /tmp/conf.v3.ini',
    '<%= config.bin %> pull game/conf.ini -o -',
    '<%= config.bin %> pull game/conf.ini --env prod --force   # overwrite local edits',
    '<%= config.bin %> pull game/conf.ini --env prod --json',
  ]

  static override enableJsonFlag = true

  static override args = {key: Args.string({description: 'key, a relative path like game/conf.ini', required: true})}
  static override flags = {
    ...clientFlags,
    version: Flags.integer({char: 'v', description: 'version to fetch (default: current)', min: 1}),
    output: Flags.string({char: 'o', description: 'output path ("-" = stdout; default ./<key>)'}),
    force: Flags.boolean({description: 'overwrite the output file even when it holds local edits'}),
  }

  async run(): Promise<PullResult | void> {
    const {args, flags} = await this.parse(Pull)
    if (this.jsonEnabled() && flags.output === '-') throw badInput('pull --json prints its answer on stdout, so the content cannot go there too', 'write the content to a file: -o <path>, or leave out -o for ./<key>')
    const client = new ApiClient({server: flags.server, token: flags.token})
    const {env, key} = target(flags.env, args.key)
    const result = await pullFile(client, {env, key}, {version: flags.version, output: flags.output, force: flags.force})
    if (!result.path) {
      process.stdout.write(result.content)
      return
    }

    this.logToStderr(`pulled ${env}/${key} version ${result.meta.version} (${result.content.length} bytes) to ${result.path}`)
    return {env, key, ...result.meta, path: result.path}
  }
}
