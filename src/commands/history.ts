import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {StconfCommand, clientFlags} from '../lib/cli/base.js'
import {ApiClient} from '../lib/client/api-client.js'
import {formatTable, keyHistory, target} from '../lib/client/operations.js'
import type {VersionMeta} from '../lib/model.js'

export default class History extends StconfCommand {
  static override summary = 'List the versions of a key, newest first'
  static override examples = ['<%= config.bin %> history game/conf.ini --env prod', '<%= config.bin %> history game/conf.ini --env prod --json --limit 5']
  static override enableJsonFlag = true
  static override args = {key: Args.string({description: 'key, a relative path like game/conf.ini', required: true})}
  static override flags = {...clientFlags, limit: Flags.integer({char: 'n', description: 'at most N versions', default: 100, min: 1})}

  async run(): Promise<VersionMeta[]> {
    const {args, flags} = await this.parse(History)
    const versions = await keyHistory(new ApiClient({server: flags.server, token: flags.token}), target(flags.env, args.key), flags.limit)
    this.log(
      formatTable([
        ['VERSION', 'TIME', 'AUTHOR', 'KIND', 'SIZE', 'SHA256', 'MESSAGE'],
        ...versions.map((v) => [String(v.version), v.time, v.author, v.kind, String(v.size), v.sha256.slice(0, 12), v.message]),
      ]),
    )
    return versions
  }
}
