import * as Args from '@oclif/core/args'
import {fetchStatus, statusTable, type StatusRow} from '../lib/agent/status.js'
import {StconfCommand, clientFlags} from '../lib/cli/base.js'
import {ApiClient} from '../lib/client/api-client.js'
import {formatTable} from '../lib/client/operations.js'

export default class Status extends StconfCommand {
  static override summary = 'Show what every agent applied and whether it is in sync with the center'
  static override description = 'One row per (instance, file). An agent that stopped cleanly disappears; one that went silent is shown offline.'
  static override examples = ['<%= config.bin %> status --env prod', '<%= config.bin %> status game/conf.ini --env prod --json']
  static override enableJsonFlag = true
  static override args = {key: Args.string({description: 'only this key'})}
  static override flags = {...clientFlags}

  async run(): Promise<StatusRow[]> {
    const {args, flags} = await this.parse(Status)
    const rows = await fetchStatus(new ApiClient({server: flags.server, token: flags.token}), flags.env, args.key)
    if (rows.length === 0) this.log(`no agents report for env ${flags.env}${args.key ? ` and key ${args.key}` : ''}`)
    else this.log(formatTable(statusTable(rows)))
    return rows
  }
}
