import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {StconfCommand, clientFlags} from '../../lib/cli/base.js'
import {ApiClient, type CreatedToken} from '../../lib/client/api-client.js'
import {splitList} from '../../lib/client/operations.js'

export default class TokenCreate extends StconfCommand {
  static override summary = 'Create an API token (admin); the token is printed once, on the last line'
  static override description = [
    'Roles: viewer (read configs, history, status, audit), agent (read configs, watch, write and withdraw instance reports: for http-source agents and apps), operator (also push and rollback), admin (also tokens).',
    '--env limits a token to envs (403 in any other); --hosts limits an agent token to hosts matching patterns (* and ?). See docs/security.md.',
  ].join('\n\n')

  static override examples = [
    '<%= config.bin %> token create ci-deploy --role operator',
    '<%= config.bin %> token create fleet-prod --role agent --env prod',
    "<%= config.bin %> token create gs-fleet --role agent --env prod,staging --hosts 'gs-*'",
    '<%= config.bin %> token create dashboards --role viewer',
  ]

  static override enableJsonFlag = true
  static override args = {name: Args.string({description: 'a name for the token (shown in history and audit)', required: true})}
  static override flags = {
    server: clientFlags.server,
    token: clientFlags.token,
    role: Flags.string({description: 'role', options: ['viewer', 'agent', 'operator', 'admin'], required: true}),
    env: Flags.string({char: 'e', description: 'only these envs (repeat, or a comma list; default: every env)', multiple: true}),
    hosts: Flags.string({description: 'role agent: only report for hosts matching these patterns, like gs-* (repeat, or a comma list)', multiple: true}),
  }

  async run(): Promise<CreatedToken> {
    const {args, flags} = await this.parse(TokenCreate)
    const scope = {envs: splitList(flags.env), hosts: splitList(flags.hosts)}
    const created = await new ApiClient({server: flags.server, token: flags.token}).createToken(args.name, flags.role, scope)
    const limits = [created.envs ? `envs ${created.envs.join(', ')}` : '', created.hosts ? `hosts ${created.hosts.join(', ')}` : ''].filter(Boolean)
    this.log(`created token "${created.name}" with role ${created.role}${limits.length > 0 ? ` for ${limits.join(' and ')}` : ''} (shown once):`)
    this.log(created.token)
    return created
  }
}
