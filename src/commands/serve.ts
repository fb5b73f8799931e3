import * as Flags from '@oclif/core/flags'
import {StconfCommand} from '../lib/cli/base.js'
import {formatErrorLine} from '../lib/errors.js'
import {durationFlag} from '../lib/duration.js'
import {describeConnection} from '../lib/zk/connection-events.js'

export default class Serve extends StconfCommand {
  static override summary = 'Run the config center (HTTP API; ZooKeeper or an embedded store)'
  static override description = `Without --zk, content lives in an embedded store in --data: one command gives a working
center on one machine. With --zk, the current bytes of each key live in ZooKeeper at
<zk-root>/config/<env>/<key>, where agents watch them; history and audit stay in --data.
On first start an admin token is printed once (or taken from $STCONF_ADMIN_TOKEN). With --zk, every change of the
ZooKeeper connection (lost, reconnected, session expired, new session) is logged with its time and address.
With --zk-auth, every start sets the ACL of each node of the tree (idempotent; it also upgrades trees of
older versions): see docs/security.md.`

  static override examples = [
    '<%= config.bin %> serve',
    '<%= config.bin %> serve --port 7070 --data /var/lib/stconf-center',
    '<%= config.bin %> serve --zk zk1:2181,zk2:2181,zk3:2181 --zk-root /stconf --host 0.0.0.0',
    'STCONF_ZK_AUTH=stconf:<secret> STCONF_ZK_AGENT_AUTH=stconf-agents:<secret2> <%= config.bin %> serve --zk zk1:2181 --zk-closed',
    '<%= config.bin %> serve --instance-retention 30d',
  ]

  static override flags = {
    port: Flags.integer({description: 'TCP port (0 = any free port)', default: 7070, min: 0, max: 65535}),
    host: Flags.string({description: 'address to listen on', default: '127.0.0.1'}),
    data: Flags.string({description: 'data dir: history, audit, tokens (and content, without --zk)', default: './stconf-data'}),
    zk: Flags.string({description: 'ZooKeeper ensemble host:port[,host:port...] (default: embedded store)', env: 'STCONF_ZK'}),
    'zk-root': Flags.string({description: 'root znode', default: '/stconf'}),
    'zk-auth': Flags.string({description: 'serve\'s ZooKeeper identity, user:password: the only writer of configs (docs/security.md)', env: 'STCONF_ZK_AUTH'}),
    'zk-agent-auth': Flags.string({
      description: 'the machine identity, user:password: agents (zkAuth) may create and delete their reports and election nodes, nothing else',
      env: 'STCONF_ZK_AGENT_AUTH',
    }),
    'zk-closed': Flags.boolean({description: 'closed center: the world may not even read; serve and the machine identity read (configs with secrets)'}),
    'zk-session-timeout': Flags.integer({description: 'ZooKeeper session timeout in ms', default: 10_000, min: 1000}),
    'max-bytes': Flags.integer({description: 'largest accepted file', default: 1024 * 1024, min: 1}),
    'instance-retention': Flags.string({description: 'how long offline and stopped instances stay listed by `stconf status`', default: '7d', helpValue: '<duration>'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Serve)
    const instanceRetentionMs = durationFlag(flags['instance-retention'], '--instance-retention')
    const {startServer} = await import('../lib/server/serve.js')
    const server = await startServer({
      port: flags.port,
      host: flags.host,
      dataDir: flags.data,
      zk: flags.zk,
      zkRoot: flags['zk-root'],
      zkAuth: flags['zk-auth'],
      zkAgentAuth: flags['zk-agent-auth'],
      zkClosed: flags['zk-closed'],
      zkSessionTimeoutMs: flags['zk-session-timeout'],
      maxBytes: flags['max-bytes'],
      adminToken: process.env.STCONF_ADMIN_TOKEN || undefined,
      instanceRetentionMs,
      onZkConnection: (event) => this.log(`${event.time} ${describeConnection(event)}`),
    })
    if (server.newAdminToken) {
      this.log(`admin token (shown once; keep it safe, then: export STCONF_TOKEN=<token>):`)
      this.log(server.newAdminToken)
    }

    if (server.migration) {
      const {auditEntries, versions, keys} = server.migration
      this.log(`migrated ${flags.data} to the append-only journal: ${auditEntries} audit entries, ${versions} versions of ${keys} keys`)
    }

    const where = server.mode === 'zookeeper' ? `ZooKeeper ${flags.zk}${flags['zk-root']}` : `embedded store in ${flags.data}`
    this.log(`stconf serve listening on ${server.url} (${where})`)
    void server.zkAcls?.then(
      (pass) => {
        if (pass.checked > 0) this.log(`ZooKeeper ACLs: ${pass.checked} nodes checked, ${pass.fixed} set${flags['zk-closed'] ? ' (closed)' : ''}`)
        if (pass.refused.length > 0) {
          this.warn(
            `ZooKeeper refused to let serve set the ACL of ${pass.refused.length} node(s), first ${pass.refused[0]} - they belong to another identity; fix them with zkCli as that identity (docs/security.md)`,
          )
        }
      },
      (error) => this.warn(`ZooKeeper ACL pass failed: ${formatErrorLine(error)}`),
    )
    // Logged once the push's answer is on its way (a write to a pipe blocks: ~0.05 ms of every push).
    server.onChange(({env, key, meta}) => setImmediate(() => this.log(`${meta.time} ${meta.kind} ${env}/${key} version ${meta.version} by ${meta.author}`)))
    await new Promise<void>((resolve) => {
      const stop = () => resolve()
      process.once('SIGTERM', stop)
      process.once('SIGINT', stop)
    })
    await server.close()
    // The ZooKeeper client keeps retrying to say goodbye while ZooKeeper is down, which would hold
    // the process forever: everything is closed, so leave.
    setTimeout(() => process.exit(0), 100).unref()
  }
}
