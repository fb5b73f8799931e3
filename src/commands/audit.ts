import * as Flags from '@oclif/core/flags'
import {StconfCommand, clientFlags} from '../lib/cli/base.js'
import {ApiClient, type AuditEntry} from '../lib/client/api-client.js'
import {formatTable, readAudit} from '../lib/client/operations.js'

export default class Audit extends StconfCommand {
  static override summary = 'Show the audit log: who changed what, when'
  static override description = `Filters are applied by serve and combine: an entry must match every one given.
Here --env only filters and does not default to $STCONF_ENV, so token entries (which have no env) show
unless one env is asked for.`

  static override examples = [
    '<%= config.bin %> audit',
    '<%= config.bin %> audit --since 2026-11-01 --json',
    '<%= config.bin %> audit --env prod --key game/conf.ini --limit 20',
    '<%= config.bin %> audit --actor deploy-bot --action rollback',
    '<%= config.bin %> audit --action token-create --since 2026-11-01T00:00:00Z',
  ]

  static override enableJsonFlag = true
  static override flags = {
    server: clientFlags.server,
    token: clientFlags.token,
    since: Flags.string({description: 'only entries at or after this ISO date/time'}),
    limit: Flags.integer({char: 'n', description: 'at most the newest N entries', default: 1000, min: 1}),
    env: Flags.string({char: 'e', description: 'only entries of this env'}),
    key: Flags.string({char: 'k', description: 'only entries of this key (e.g. game/conf.ini)'}),
    actor: Flags.string({description: 'only entries made by this token name (e.g. admin, deploy-bot; zookeeper for out-of-band)'}),
    action: Flags.string({description: 'only entries of this action (push, rollback, out-of-band, token-create ...)'}),
  }

  async run(): Promise<AuditEntry[]> {
    const {flags} = await this.parse(Audit)
    const {since, limit, env, key, actor, action} = flags
    const entries = await readAudit(new ApiClient({server: flags.server, token: flags.token}), {since, limit, env, key, actor, action})
    this.log(
      formatTable([
        ['TIME', 'ACTOR', 'ACTION', 'TARGET', 'VERSION', 'DETAIL'],
        ...entries.map((e) => [e.time, e.actor, e.action, e.env ? `${e.env}/${e.key}` : '', e.version ? String(e.version) : '', e.detail ?? '']),
      ]),
    )
    return entries
  }
}
