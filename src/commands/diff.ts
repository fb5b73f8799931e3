import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {StconfCommand, clientFlags} from '../lib/cli/base.js'
import {ApiClient} from '../lib/client/api-client.js'
import {diffKey, target, type DiffMode, type DiffResult} from '../lib/client/operations.js'

export default class Diff extends StconfCommand {
  static override summary = 'Show a unified diff: center vs local file, two versions, or two envs'
  static override description = `The center is "-", the other side "+". Exit status 0 when equal, 1 when different (like diff), also with --json
(which prints both sides and the patch).`
  static override examples = [
    '<%= config.bin %> diff game/conf.ini --env prod',
    '<%= config.bin %> diff game/conf.ini --env prod --from 3 --to 5',
    '<%= config.bin %> diff game/conf.ini --env prod --against-env staging',
    '<%= config.bin %> diff game/conf.ini --env prod --json',
  ]

  static override enableJsonFlag = true

  static override args = {key: Args.string({description: 'key, a relative path like game/conf.ini', required: true})}
  static override flags = {
    ...clientFlags,
    file: Flags.string({char: 'f', description: 'local file (default ./<key>)', exclusive: ['from', 'against-env']}),
    from: Flags.integer({description: 'compare version N ...', min: 1, exclusive: ['against-env']}),
    to: Flags.integer({description: '... with version M (default: current)', min: 1, dependsOn: ['from']}),
    'against-env': Flags.string({description: 'compare with the same key in another env'}),
  }

  async run(): Promise<DiffResult> {
    const {args, flags} = await this.parse(Diff)
    const client = new ApiClient({server: flags.server, token: flags.token})
    const mode: DiffMode =
      flags.from !== undefined
        ? {kind: 'versions', from: flags.from, to: flags.to}
        : flags['against-env']
          ? {kind: 'envs', against: flags['against-env']}
          : {kind: 'local', file: flags.file}
    const result = await diffKey(client, target(flags.env, args.key), mode)
    if (!result.equal) {
      if (!this.jsonEnabled()) process.stdout.write(result.patch)
      process.exitCode = 1
    }

    return result
  }
}
