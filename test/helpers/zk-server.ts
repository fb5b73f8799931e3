// A throwaway ZooKeeper for tests and benchmarks: Debian's jars, a free loopback port, a temp data dir.
// Never port 2181, never a system ZooKeeper. stop()/start() keep the port and data (a restart).
import {spawn, type ChildProcess} from 'node:child_process'
import {appendFileSync, existsSync, mkdtempSync, writeFileSync} from 'node:fs'
import {createConnection, createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {ZkClient, type ZkOptions} from '../../src/lib/zk/zk-client.js'
import {makeTempDir, removeDir, trackProcess} from './cleanup.js'

const JARS = ['/usr/share/java/zookeeper.jar', '/usr/share/java/slf4j-nop.jar']

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as {port: number}
      server.close(() => resolve(port))
    })
  })
}

/** Send a four-letter word and return the answer ('' when nothing answers). */
export async function fourLetter(port: number, word: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    let out = ''
    const socket = createConnection({host: '127.0.0.1', port})
    const timer = setTimeout(() => {
      socket.destroy()
      resolve(out)
    }, timeoutMs)
    socket.on('connect', () => socket.write(word))
    socket.on('data', (d) => (out += d.toString()))
    socket.on('error', () => undefined)
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(out)
    })
  })
}

export class TestZk {
  readonly dir: string
  port = 0
  private proc?: ChildProcess

  constructor() {
    if (!JARS.every((jar) => existsSync(jar))) {
      throw new Error('ZooKeeper jars not found: install Debian\'s "zookeeper" package (apt-get install zookeeper), or run .ci/run')
    }

    // STCONF_ZK_LOG keeps the dir (and its zk.log) for debugging; else it goes when the process ends.
    this.dir = process.env.STCONF_ZK_LOG ? mkdtempSync(join(tmpdir(), 'stconf-zk-')) : makeTempDir('stconf-zk-')
  }

  get connect(): string {
    return `127.0.0.1:${this.port}`
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort()
    writeFileSync(
      join(this.dir, 'zoo.cfg'),
      [
        'tickTime=500',
        `dataDir=${join(this.dir, 'data')}`,
        `clientPort=${this.port}`,
        'clientPortAddress=127.0.0.1',
        'maxClientCnxns=0', // many agents from one IP (default 60)
        'admin.enableServer=false',
        'minSessionTimeout=1000',
        'maxSessionTimeout=60000',
        '4lw.commands.whitelist=*',
        'forceSync=no',
      ].join('\n') + '\n',
    )
    // Tracked: a test file that crashes must not leave a JVM running.
    this.proc = trackProcess(spawn(
      'java',
      // STCONF_ZK_LOG=1 shows the server's own log (slf4j-simple) in ${dir}/zk.log, for debugging.
      ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', (process.env.STCONF_ZK_LOG ? [JARS[0], '/usr/share/java/slf4j-simple.jar'] : JARS).join(':'), 'org.apache.zookeeper.server.ZooKeeperServerMain', join(this.dir, 'zoo.cfg')],
      {stdio: ['ignore', 'ignore', 'pipe']},
    ))
    let stderr = ''
    this.proc.stderr?.on('data', (d) => (stderr += d.toString()))
    if (process.env.STCONF_ZK_LOG) this.proc.stderr?.on('data', (d) => appendFileSync(join(this.dir, 'zk.log'), d))
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error(`ZooKeeper exited: ${stderr}`)
      // 'ruok' answers before the server serves sessions; 'srvr' reports a Mode only once it does.
      if ((await fourLetter(this.port, 'srvr', 500)).includes('Mode: ')) return
      await new Promise((r) => setTimeout(r, 100))
    }

    await this.stop() // a JVM that never answered must not outlive the failed start
    throw new Error(`ZooKeeper did not start on port ${this.port}: ${stderr}`)
  }

  async stop(): Promise<void> {
    const proc = this.proc
    if (!proc || proc.exitCode !== null) return
    const exited = new Promise((resolve) => proc.once('exit', resolve))
    proc.kill('SIGKILL')
    await exited
    this.proc = undefined
  }

  /** Stop and remove the data dir. */
  async destroy(): Promise<void> {
    await this.stop()
    if (!process.env.STCONF_ZK_LOG) removeDir(this.dir)
  }
}

export async function startZk(): Promise<TestZk> {
  const zk = new TestZk()
  await zk.start()
  return zk
}

/** A ZkClient of the test's own (to read what serve and agents wrote, or to write around them), connected. */
export async function connectZk(server: TestZk | string, options: Omit<ZkOptions, 'connect'> = {}): Promise<ZkClient> {
  const client = new ZkClient({connect: typeof server === 'string' ? server : server.connect, ...options})
  client.start()
  await client.waitConnected(60_000) // a deadline for a loaded machine
  return client
}
