import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {StconfCommand, clientFlags} from '../../lib/cli/base.js'
import {ApiClient} from '../../lib/client/api-client.js'

export default class TokenCreate extends StconfCommand {
  static override summary = 'Create an API token (admin); the token is printed once, on the last line'
  static override description = 'Roles: viewer (read), operator (push, rollback), admin (also tokens). Agents need viewer.'
  static override examples = ['<%= config.bin %> token create ci-deploy --role operator', '<%= config.bin %> token create agents --role viewer']
  static override enableJsonFlag = true
  static override args = {name: Args.string({description: 'a name for the token (shown in history and audit)', required: true})}
  static override flags = {
    server: clientFlags.server,
    token: clientFlags.token,
    role: Flags.string({description: 'role', options: ['viewer', 'operator', 'admin'], required: true}),
  }

  async run(): Promise<{name: string; role: string; token: string}> {
    const {args, flags} = await this.parse(TokenCreate)
    const created = await new ApiClient({server: flags.server, token: flags.token}).createToken(args.name, flags.role)
    this.log(`created token "${created.name}" with role ${created.role} (shown once):`)
    this.log(created.token)
    return created
  }
}
