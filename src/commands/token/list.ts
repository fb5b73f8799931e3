import {StconfCommand, clientFlags} from '../../lib/cli/base.js'
import {ApiClient, type TokenInfo} from '../../lib/client/api-client.js'
import {formatTable} from '../../lib/client/operations.js'

export default class TokenList extends StconfCommand {
  static override summary = 'List API tokens by name, role and scope (admin); tokens themselves are never shown again'
  static override description = 'ENVS and HOSTS show a scoped token\'s limits; * means every env or host.'
  static override examples = ['<%= config.bin %> token list', '<%= config.bin %> token list --json']
  static override enableJsonFlag = true
  static override flags = {server: clientFlags.server, token: clientFlags.token}

  async run(): Promise<TokenInfo[]> {
    const {flags} = await this.parse(TokenList)
    const tokens = await new ApiClient({server: flags.server, token: flags.token}).listTokens()
    const rows = tokens.map((t) => [t.name, t.role, t.envs?.join(',') ?? '*', t.hosts?.join(',') ?? '*', t.created])
    this.log(formatTable([['NAME', 'ROLE', 'ENVS', 'HOSTS', 'CREATED'], ...rows]))
    return tokens
  }
}
