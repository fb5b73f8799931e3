// Where instance reports live in ZooKeeper (design.md, "ZooKeeper layout"):
//   <root>/instances/<env>/<instance>           EPHEMERAL: the live report of one agent or app process
//   <root>/instances/<env>/<instance>~stopped   PERSISTENT: written by a clean stop, in the same multi that
//                                               removes the ephemeral node, so serve can tell a clean stop
//                                               from a crash (a vanished node without it). serve removes it
//                                               once recorded; the agent removes a stale one when it registers.
// "~" is not allowed in instance names, so a marker never collides with a report.
import {zkPath} from './zk-client.js'

export const STOPPED_SUFFIX = '~stopped'

/** What a clean stop leaves behind: the session that withdrew, when, and the last report. */
export interface StoppedMarker<Report = unknown> {
  session: string
  stoppedAt: string
  report: Report
}

export function instancesRoot(root: string): string {
  return zkPath(root, 'instances')
}

export function instancesDir(root: string, env: string): string {
  return zkPath(root, 'instances', env)
}

export function instancePath(root: string, env: string, instance: string): string {
  return zkPath(root, 'instances', env, instance)
}

export function stoppedMarkerPath(root: string, env: string, instance: string): string {
  return zkPath(root, 'instances', env, instance + STOPPED_SUFFIX)
}

/** A child of instances/<env>: a report node, or the stopped marker of `instance`. */
export function parseInstanceChild(child: string): {instance: string; marker: boolean} {
  return child.endsWith(STOPPED_SUFFIX) ? {instance: child.slice(0, -STOPPED_SUFFIX.length), marker: true} : {instance: child, marker: false}
}
