import {StconfCommand, clientFlags} from '../../lib/cli/base.js'
import {ApiClient} from '../../lib/client/api-client.js'
import {formatTable} from '../../lib/client/operations.js'

export default class TokenList extends StconfCommand {
  static override summary = 'List API tokens by name and role (admin); tokens themselves are never shown again'
  static override examples = ['<%= config.bin %> token list']
  static override enableJsonFlag = true
  static override flags = {server: clientFlags.server, token: clientFlags.token}

  async run(): Promise<Array<{name: string; role: string; created: string}>> {
    const {flags} = await this.parse(TokenList)
    const tokens = await new ApiClient({server: flags.server, token: flags.token}).listTokens()
    this.log(formatTable([['NAME', 'ROLE', 'CREATED'], ...tokens.map((t) => [t.name, t.role, t.created])]))
    return tokens
  }
}
