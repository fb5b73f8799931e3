import * as Flags from '@oclif/core/flags'
import {StconfCommand} from '../../lib/cli/base.js'
import {recoverAdminToken} from '../../lib/server/token-recover.js'

export default class TokenRecover extends StconfCommand {
  static override summary = 'Make a new admin token straight in a data dir (the admin token was lost); printed once, on the last line'
  static override description = `For whoever can write the data dir, on the machine that holds it: no server, no token needed.
Refused while a stconf serve runs on that data dir (stop it first). Audited as token-recover.`

  static override examples = [
    '<%= config.bin %> token recover --data /var/lib/stconf-center',
    '<%= config.bin %> token recover --data ./stconf-data --name alice-admin',
  ]

  static override enableJsonFlag = true
  static override flags = {
    data: Flags.string({description: 'the data dir of the center (what `stconf serve --data` uses)', required: true}),
    name: Flags.string({description: 'name of the new admin token', default: 'recovered'}),
  }

  async run(): Promise<{name: string; role: string; token: string}> {
    const {flags} = await this.parse(TokenRecover)
    const created = await recoverAdminToken(flags.data, flags.name)
    this.log(`created admin token "${created.name}" in ${flags.data} (shown once; audited as token-recover):`)
    this.log(created.token)
    return created
  }
}
