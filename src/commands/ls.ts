import * as Args from '@oclif/core/args'
import {StconfCommand, clientFlags} from '../lib/cli/base.js'
import {ApiClient, type KeyEntry} from '../lib/client/api-client.js'
import {formatTable, listKeys} from '../lib/client/operations.js'

export default class Ls extends StconfCommand {
  static override summary = 'List the keys of an env (optionally of one app)'
  static override examples = ['<%= config.bin %> ls --env prod', '<%= config.bin %> ls game --env prod --json']
  static override enableJsonFlag = true
  static override args = {app: Args.string({description: 'only keys under this app (first path segment)', ignoreStdin: true})}
  static override flags = {...clientFlags}

  async run(): Promise<KeyEntry[]> {
    const {args, flags} = await this.parse(Ls)
    const keys = await listKeys(new ApiClient({server: flags.server, token: flags.token}), flags.env, args.app)
    if (keys.length === 0) this.log(`no keys in env ${flags.env}${args.app ? ` under ${args.app}/` : ''}`)
    else this.log(formatTable([['KEY', 'VERSION', 'SIZE', 'TIME', 'AUTHOR'], ...keys.map((k) => [k.key, String(k.version), String(k.size), k.time, k.author])]))
    return keys
  }
}
