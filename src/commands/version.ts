import {StconfCommand} from '../lib/cli/base.js'

export default class Version extends StconfCommand {
  static override summary = 'Print the version of stconf (the same as stconf --version)'
  static override examples = ['<%= config.bin %> version', '<%= config.bin %> version --json']
  static override enableJsonFlag = true

  async run(): Promise<{version: string; node: string; platform: string; arch: string}> {
    await this.parse(Version)
    this.log(this.config.userAgent)
    return {version: this.config.version, node: process.versions.node, platform: process.platform, arch: process.arch}
  }
}
