import {StconfCommand, clientFlags} from '../../lib/cli/base.js'
import {ApiClient} from '../../lib/client/api-client.js'
import {formatTable, listEnvs, type EnvSummary} from '../../lib/client/operations.js'

export default class EnvLs extends StconfCommand {
  static override summary = 'List every env with its number of keys and of instances (agents) reporting'
  static override description = 'An env exists once a key was pushed to it; `stconf push <key> --env <new-env>` creates one.'
  static override examples = ['<%= config.bin %> env ls', '<%= config.bin %> env ls --json']
  static override enableJsonFlag = true
  static override flags = {server: clientFlags.server, token: clientFlags.token}

  async run(): Promise<EnvSummary[]> {
    const {flags} = await this.parse(EnvLs)
    const envs = await listEnvs(new ApiClient({server: flags.server, token: flags.token}))
    if (envs.length === 0) this.log('no envs yet; `stconf push <key> --env <env>` creates one')
    else this.log(formatTable([['ENV', 'KEYS', 'INSTANCES'], ...envs.map((e) => [e.env, String(e.keys), String(e.instances)])]))
    return envs
  }
}
