import * as Args from '@oclif/core/args'
import {loadHelpClass} from '@oclif/core/help'
import {StconfCommand} from '../lib/cli/base.js'
import {unknownCommand} from '../lib/cli/unknown-command.js'

export default class Help extends StconfCommand {
  static override summary = 'Show help for stconf or for one command (the same as --help)'
  static override examples = ['<%= config.bin %> help', '<%= config.bin %> help push', '<%= config.bin %> help token recover']
  static override strict = false
  static override args = {command: Args.string({description: 'the command, e.g. push or token create', ignoreStdin: true})}

  async run(): Promise<void> {
    const {argv} = (await this.parse(Help)) as {argv: string[]}
    const id = argv.join(':')
    if (id && !this.config.findCommand(id) && !this.config.findTopic(id)) throw unknownCommand(argv.join(' '), this.config.commandIDs)
    const HelpClass = await loadHelpClass(this.config)
    await new HelpClass(this.config, this.config.pjson.oclif.helpOptions).showHelp(argv)
  }
}
