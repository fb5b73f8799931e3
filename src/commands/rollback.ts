import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {StconfCommand, clientFlags} from '../lib/cli/base.js'
import {ApiClient, type PushAnswer} from '../lib/client/api-client.js'
import {target} from '../lib/client/operations.js'
import type {RolloutResult} from '../lib/client/rollout.js'
import {waitAndReport, waitFlags, waitTimeout} from '../lib/cli/wait.js'

export default class Rollback extends StconfCommand {
  static override summary = "Publish an old version's bytes as a new version (kind rollback)"
  static override examples = [
    '<%= config.bin %> rollback game/conf.ini --env prod --to 3 -m "v4 broke logins"',
    '<%= config.bin %> rollback game/conf.ini --env prod --to 3 --wait',
  ]
  static override enableJsonFlag = true
  static override args = {key: Args.string({description: 'key, a relative path like game/conf.ini', required: true})}
  static override flags = {
    ...clientFlags,
    to: Flags.integer({description: 'version whose bytes to publish again', required: true, min: 1}),
    message: Flags.string({char: 'm', description: 'why (default: "rollback to version N")'}),
    ...waitFlags,
  }

  async run(): Promise<PushAnswer & {wait?: RolloutResult}> {
    const {args, flags} = await this.parse(Rollback)
    const {env, key} = target(flags.env, args.key)
    const client = new ApiClient({server: flags.server, token: flags.token})
    const wait = waitTimeout(flags)
    const result = await client.rollback(env, key, flags.to, flags.message)
    this.log(
      result.changed
        ? `rolled back ${env}/${key} to the bytes of version ${flags.to}: now version ${result.version}`
        : `unchanged: ${env}/${key} version ${result.version} already has the bytes of version ${flags.to}`,
    )
    if (!wait) return result
    const waited = await waitAndReport(client, result, wait)
    this.log(waited.lines)
    this.exitWith(waited.error)
    return {...result, wait: waited.result}
  }
}
