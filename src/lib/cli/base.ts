// The one place where errors become output and exit codes (see errors.ts for the codes).
import {Command} from '@oclif/core/command'
import * as Flags from '@oclif/core/flags'
import {EXIT_CODES, exitCodeOf, formatErrorLine, isStconfError, type StconfError} from '../errors.js'

export const clientFlags = {
  server: Flags.string({
    description: 'URL of the stconf server',
    env: 'STCONF_SERVER',
    default: 'http://127.0.0.1:7070',
    helpGroup: 'CONNECTION',
  }),
  token: Flags.string({description: 'API token (else $STCONF_TOKEN)', env: 'STCONF_TOKEN', helpGroup: 'CONNECTION'}),
  env: Flags.string({char: 'e', description: 'environment (else $STCONF_ENV, else "default")', env: 'STCONF_ENV', default: 'default'}),
}

export abstract class StconfCommand extends Command {
  /**
   * A result that is not a success (a fleet that has not converged, a failed reload) but still a
   * result: one line on stderr and the error's exit code, without throwing, so the table or the
   * --json output that run() returns is still printed.
   */
  protected exitWith(error: StconfError | undefined): void {
    if (!error) return
    process.stderr.write(`stconf: ${formatErrorLine(error)}\n`)
    process.exitCode = error.exitCode
  }

  protected override async catch(error: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    // oclif's own parse errors (unknown flag, missing argument): first line only, exit 2.
    if (!isStconfError(error) && error.oclif?.exit !== undefined) {
      if (error.oclif.exit === 0) return
      const lines = error.message.split('\n').map((line) => line.trim()).filter(Boolean)
      // "Missing 1 required arg:" is followed by the argument's name on the next line.
      // "Parsing --port" is followed by what is wrong with its value: "Expected an integer but received: abc".
      const parsing = /^Parsing (--\S+)$/.exec(lines[0] ?? '')
      const first = parsing && lines[1]
        ? `invalid ${parsing[1]}: ${lines[1].charAt(0).toLowerCase()}${lines[1].slice(1)}`
        : (lines[0]?.endsWith(':') ? `${lines[0]} ${lines[1] ?? ''}` : (lines[0] ?? '')).replace(/^Error:\s*/, '')
      process.stderr.write(`stconf: ${first} - see \`stconf ${this.id?.replaceAll(':', ' ') ?? ''} --help\`\n`)
      process.exitCode = EXIT_CODES['bad-input']
      return
    }

    process.stderr.write(`stconf: ${formatErrorLine(error)}\n`)
    process.exitCode = exitCodeOf(error)
  }
}
