import {StconfCommand, clientFlags} from '../lib/cli/base.js'
import {ApiClient} from '../lib/client/api-client.js'
import {assertKnownEnv} from '../lib/client/operations.js'
import {badInput} from '../lib/errors.js'
import {validateEnv} from '../lib/model.js'
import {singleExecutable} from '../lib/runtime.js'
import {EarlyFeed} from '../tui/feed.js'

export default class Tui extends StconfCommand {
  static override summary = 'Live dashboard in the terminal: keys, versions, instances, activity; diff and roll back from the keyboard'
  static override description = `Full screen, live (follows the center's event stream; no key press needed). Keys: tab / shift+tab
pane · ↑↓ (k j) move · g G first/last · enter view · d diff · D diff against another env · r roll back
(asks first) · e env · / filter · ? all keys · q quit. Colours follow NO_COLOR.
Needs an interactive terminal; in scripts use \`stconf status --json\` or \`stconf ls --json\`.`

  static override examples = ['<%= config.bin %> tui --env prod', 'STCONF_SERVER=http://center:7070 STCONF_TOKEN=... <%= config.bin %> tui -e staging']
  static override flags = {...clientFlags}

  async run(): Promise<void> {
    const {flags} = await this.parse(Tui)
    // Ink's layout engine starts with a top-level await, which the executable's CommonJS script cannot
    // hold (scripts/package.js): say so in one line instead of failing on a missing module.
    if (singleExecutable) {
      throw badInput('the single executable has no `stconf tui`', 'run the dashboard from an npm install (npm install -g stconf, README "Install"); every other command works here')
    }

    if (!process.stdin.isTTY || !process.stdout.isTTY) {
      throw badInput('`stconf tui` needs an interactive terminal (stdin and stdout are not both a TTY)', 'in scripts use `stconf status --json` or `stconf ls --json`')
    }

    const env = validateEnv(flags.env)
    const client = new ApiClient({server: flags.server, token: flags.token})
    // Only this command loads React and Ink; React's development build is several times slower.
    process.env.NODE_ENV ??= 'production'
    // Ink draws only the last frame when it believes it runs in CI (is-in-ci reads CI and
    // CONTINUOUS_INTEGRATION when Ink is first imported). Both ends are a TTY here, so this is a person at
    // a terminal whatever those say: without this, a shell with CI=true gets a blank screen.
    for (const name of ['CI', 'CONTINUOUS_INTEGRATION']) if (name in process.env) process.env[name] = 'false'
    // The event stream and the first reads start before the dashboard's code is imported, so serve
    // answers while node loads Ink and React. Token, server and env are checked by those same reads,
    // before the screen opens: errors stay one line on a normal screen.
    const feed = new EarlyFeed(client, env)
    let runTui
    try {
      const [keys, loaded] = await Promise.all([feed.ready, import('../tui/run.js')])
      // An unknown env reads as an empty one; only then is the list of envs worth asking for.
      if (keys.length === 0) await assertKnownEnv(client, env)
      runTui = loaded.runTui
    } catch (error) {
      feed.stop()
      throw error
    }

    await runTui({client, env, colors: !process.env.NO_COLOR, feed})
  }
}
