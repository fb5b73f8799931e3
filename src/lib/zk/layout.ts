// Every path of stconf's ZooKeeper tree, and the ACL each one gets (docs/security.md).
//
//   <root>/config/<env>/<key>  <root>/meta/<env>/<key>  <root>/hosts/...  <root>/canary/...
//        written by serve alone (the writer identity, serve's --zk-auth)
//   <root>/instances/<env>/<instance>  <root>/elections/<env>/<group>/n_...
//        children created and deleted by the machine identity (--zk-agent-auth, the agent's zkAuth)
//
// ZooKeeper ACLs are not inherited: every create passes its own, and whoever creates a node decides
// its ACL for good (only a holder of ADMIN may change it). So serve, the agent and the walk that fixes
// trees of older versions all ask aclFor(), and nothing else spells an ACL.
import {createHash} from 'node:crypto'
import {badInput} from '../errors.js'
import type {VersionMeta} from '../model.js'

/** ZooKeeper's permission bits. */
export const PERMS = {read: 1, write: 2, create: 4, delete: 8, admin: 16, all: 31} as const

export interface AclEntry {
  perms: number
  scheme: string
  id: string
}

/** Who may do what; the same policy yields the same ACL for a path everywhere. */
export interface AclPolicy {
  /** digest id (`user:base64(sha1(user:password))`) of serve; none: the whole tree is open to all */
  writer?: string
  /** digest id of the machine identity (agents, SDK apps) */
  machine?: string
  /** closed mode: the world may not even read; serve and the machine identity read */
  closed: boolean
}

export const OPEN_POLICY: AclPolicy = {closed: false}

/** The first level below the root, each created by serve on start. */
export const TOP_DIRS = ['config', 'meta', 'hosts', 'canary', 'instances', 'elections'] as const

/** Where machines create children: `<dir>/<env>/...`. */
const MACHINE_DIRS = new Set(['instances', 'elections'])

/** Parse "user:password"; `what` names the flag or field in the error. */
export function parseDigestAuth(raw: string, what: string): {user: string; password: string} {
  const colon = raw.indexOf(':')
  if (colon <= 0 || colon === raw.length - 1) throw badInput(`${what}: expected user:password`, 'e.g. stconf-agents:<a long random password>')
  return {user: raw.slice(0, colon), password: raw.slice(colon + 1)}
}

/** ZooKeeper's digest id of an identity: what an ACL names and `getAcl` prints. */
export function digestId(auth: string): string {
  const {user} = parseDigestAuth(auth, 'digest auth')
  return `${user}:${createHash('sha1').update(auth).digest('base64')}`
}

/** Order-insensitive equality of two ACLs. */
export function sameAcl(a: AclEntry[], b: AclEntry[]): boolean {
  const key = (acl: AclEntry[]) =>
    acl
      .map((entry) => `${entry.scheme}:${entry.id}:${entry.perms}`)
      .sort()
      .join(',')
  return key(a) === key(b)
}

/**
 * The policy serve set, read back from the ACL of an `instances/<env>` (or `elections/<env>`) node by
 * an agent whose identity is `machine`. What the agent creates below that node must follow serve's
 * policy (open or not, closed or not), and ZooKeeper does not pass it down. The agent cannot learn
 * serve's identity this way (ZooKeeper shows a digest to a client without ADMIN as `user:x`), which is
 * why nodes below need not name it (see aclFor).
 */
export function policyFromAcl(acl: AclEntry[], machine: string | undefined): AclPolicy {
  if (acl.some((entry) => entry.scheme === 'world' && entry.perms === PERMS.all)) return OPEN_POLICY
  return {
    writer: acl.find((entry) => entry.scheme === 'digest' && entry.perms & PERMS.admin)?.id,
    machine,
    closed: !acl.some((entry) => entry.scheme === 'world'),
  }
}

export type TopDir = (typeof TOP_DIRS)[number]

export class ZkLayout {
  constructor(readonly root: string) {}

  config(env?: string, key?: string): string {
    return this.join('config', env, key)
  }

  meta(env?: string, key?: string): string {
    return this.join('meta', env, key)
  }

  /** `instances()` is the directory of every env's instances (serve's feed watches it for new envs). */
  instances(env?: string, instance?: string): string {
    return this.join('instances', env, instance)
  }

  /** A clean stop's marker beside the report node (see STOPPED_SUFFIX below). */
  stoppedMarker(env: string, instance: string): string {
    return this.instances(env, instance + STOPPED_SUFFIX)
  }

  // hosts/<env>/<host>/<key> (per-host overrides) and canary/<env>/<key> get their paths here when
  // those features land; serve already creates both directories on start (topDirs).

  /** Leader election groups (a later issue): elections/<env>/<group>/n_... participants. */
  elections(env: string, group?: string): string {
    return this.join('elections', env, group)
  }

  /**
   * Where a path lies in the layout: its top directory, env and the rest below the env (a key, an
   * instance child). Undefined for the root itself and for paths outside the root.
   */
  locate(path: string): {dir: TopDir; env?: string; rest?: string} | undefined {
    if (!path.startsWith(this.root + '/')) return undefined
    const [dir, env, ...rest] = path.slice(this.root.length + 1).split('/')
    if (!(TOP_DIRS as readonly string[]).includes(dir)) return undefined
    return {dir: dir as TopDir, ...(env ? {env} : {}), ...(rest.length > 0 ? {rest: rest.join('/')} : {})}
  }

  /** The root and the directories below it that serve creates. */
  topDirs(): string[] {
    return [this.root, ...TOP_DIRS.map((dir) => this.join(dir))]
  }

  /** The directories of one env that machines create children in (serve creates them). */
  envDirs(env: string): string[] {
    return [this.instances(env), this.elections(env)]
  }

  /** The ACL of any path: at and below the root by the layout, above it (a --zk-root like /a/b) as the root. */
  aclFor(path: string, policy: AclPolicy): AclEntry[] {
    if (!policy.writer) return [{perms: PERMS.all, scheme: 'world', id: 'anyone'}]
    const relative = path.startsWith(this.root + '/') ? path.slice(this.root.length + 1).split('/') : []
    const readers: AclEntry[] = policy.closed
      ? policy.machine
        ? [{perms: PERMS.read, scheme: 'digest', id: policy.machine}]
        : []
      : [{perms: PERMS.read, scheme: 'world', id: 'anyone'}]
    const acl: AclEntry[] = [{perms: PERMS.all, scheme: 'digest', id: policy.writer}, ...readers]
    if (!policy.machine || !MACHINE_DIRS.has(relative[0]) || relative.length < 2) return acl
    const others = readers.filter((entry) => entry.id !== policy.machine)
    // instances/<env>, elections/<env>: the machine may add and remove children.
    if (relative.length === 2) return [...acl.filter((entry) => entry.id !== policy.machine), {perms: PERMS.read | PERMS.create | PERMS.delete, scheme: 'digest', id: policy.machine}]
    // Below: reports, election groups and participants are the machine's own. They do not name serve,
    // which an agent cannot spell (see policyFromAcl); serve holds the machine identity too, so it
    // reads them even in closed mode, and it removes them through the parent's DELETE.
    return [{perms: PERMS.all, scheme: 'digest', id: policy.machine}, ...others]
  }

  private join(...parts: Array<string | undefined>): string {
    return [this.root, ...parts.filter((part) => part !== undefined)].join('/')
  }
}

// Instance reports (design.md, "ZooKeeper layout"):
//   <root>/instances/<env>/<instance>           EPHEMERAL: the live report of one agent or app process
//   <root>/instances/<env>/<instance>~stopped   PERSISTENT: written by a clean stop, in the same multi that
//                                               removes the ephemeral node, so serve can tell a clean stop
//                                               from a crash (a vanished node without it). serve removes it
//                                               once recorded; the agent removes a stale one when it registers.
// "~" is not allowed in instance names, so a marker never collides with a report. The marker is a child
// of instances/<env>, so the machine identity may create and delete it (see aclFor).
export const STOPPED_SUFFIX = '~stopped'

/** What a clean stop leaves behind: the session that withdrew, when, and the last report. */
export interface StoppedMarker<Report = unknown> {
  session: string
  stoppedAt: string
  report: Report
}


/** A child of instances/<env>: a report node, or the stopped marker of `instance`. */
export function parseInstanceChild(child: string): {instance: string; marker: boolean} {
  return child.endsWith(STOPPED_SUFFIX) ? {instance: child.slice(0, -STOPPED_SUFFIX.length), marker: true} : {instance: child, marker: false}
}

/**
 * The JSON VersionMeta of a meta node; null when it is none (empty: a parent of deeper keys; or
 * written by something else). Readers decide what null means to them.
 */
export function parseMeta(data: Buffer): VersionMeta | null {
  if (data.length === 0) return null
  try {
    const meta = JSON.parse(data.toString('utf8')) as VersionMeta
    return meta && typeof meta.version === 'number' && typeof meta.sha256 === 'string' ? meta : null
  } catch {
    return null
  }
}
