import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {fetchStatus, forgetInstance, statusTable, verdictError, type StatusRow} from '../lib/agent/status.js'
import {StconfCommand, clientFlags} from '../lib/cli/base.js'
import {ApiClient} from '../lib/client/api-client.js'
import {formatTable} from '../lib/client/operations.js'

export default class Status extends StconfCommand {
  static override summary = 'Show what every instance applied, whether it is in sync, and whether the fleet has converged'
  static override description = `One row per (instance, file), grouped by host. State: ok, pending (a newer version not applied yet), failed (check or reload failed; the old file was kept), offline (vanished without a clean stop: crashed, host lost), stopped (withdrew cleanly). Offline and stopped instances stay listed with their last report until they return, --forget, or serve's --instance-retention passes.

Exit 0: every instance online and in sync (stopped ones do not count); 7: an instance failed; 8: not converged (pending or offline instances).`

  static override examples = [
    '<%= config.bin %> status --env prod',
    '<%= config.bin %> status game/conf.ini --env prod --json',
    '<%= config.bin %> status --env prod --forget gs-17',
  ]

  static override enableJsonFlag = true
  // ignoreStdin: oclif fills a missing optional argument from piped stdin (`... | stconf status`).
  static override args = {key: Args.string({description: 'only this key', ignoreStdin: true})}
  static override flags = {
    ...clientFlags,
    forget: Flags.string({description: 'drop an offline or stopped instance from the list (audited; operator)', helpValue: '<instance>'}),
  }

  async run(): Promise<StatusRow[] | {forgotten: string; env: string}> {
    const {args, flags} = await this.parse(Status)
    const client = new ApiClient({server: flags.server, token: flags.token})
    if (flags.forget !== undefined) {
      const result = await forgetInstance(client, flags.env, flags.forget)
      this.log(`forgot ${result.forgotten} in env ${result.env}`)
      return result
    }

    const {rows, verdict} = await fetchStatus(client, flags.env, args.key)
    if (rows.length === 0) this.log(`no agents report for env ${flags.env}${args.key ? ` and key ${args.key}` : ''}`)
    else this.log(formatTable(statusTable(rows)))
    this.exitWith(verdictError(verdict, flags.env))
    return rows
  }
}
