import * as Args from '@oclif/core/args'
import {StconfCommand, clientFlags} from '../../lib/cli/base.js'
import {ApiClient} from '../../lib/client/api-client.js'

export default class TokenRevoke extends StconfCommand {
  static override summary = 'Revoke an API token by name (admin)'
  static override examples = ['<%= config.bin %> token revoke ci-deploy']
  static override args = {name: Args.string({description: 'token name', required: true})}
  static override flags = {server: clientFlags.server, token: clientFlags.token}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(TokenRevoke)
    await new ApiClient({server: flags.server, token: flags.token}).revokeToken(args.name)
    this.log(`revoked token "${args.name}"`)
  }
}
