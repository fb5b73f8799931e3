import * as Flags from '@oclif/core/flags'
import {StconfCommand, clientFlags} from '../lib/cli/base.js'
import {ApiClient, type AuditEntry} from '../lib/client/api-client.js'
import {formatTable} from '../lib/client/operations.js'

export default class Audit extends StconfCommand {
  static override summary = 'Show the audit log: who changed what, when'
  static override examples = ['<%= config.bin %> audit', '<%= config.bin %> audit --since 2026-11-01 --json']
  static override enableJsonFlag = true
  static override flags = {
    server: clientFlags.server,
    token: clientFlags.token,
    since: Flags.string({description: 'only entries at or after this ISO date/time'}),
    limit: Flags.integer({char: 'n', description: 'at most the newest N entries', default: 1000, min: 1}),
  }

  async run(): Promise<AuditEntry[]> {
    const {flags} = await this.parse(Audit)
    const entries = await new ApiClient({server: flags.server, token: flags.token}).audit(flags.since, flags.limit)
    this.log(
      formatTable([
        ['TIME', 'ACTOR', 'ACTION', 'TARGET', 'VERSION', 'DETAIL'],
        ...entries.map((e) => [e.time, e.actor, e.action, e.env ? `${e.env}/${e.key}` : '', e.version ? String(e.version) : '', e.detail ?? '']),
      ]),
    )
    return entries
  }
}
