// serve's start-up pass over its tree: create the directories of the layout (each with its ACL) and
// give every existing node the ACL the policy asks for. Idempotent; it is what upgrades a tree made
// by an older stconf, or switches a center into (or out of) closed mode. A node whose ACL serve may
// not change (made by another identity, no ADMIN for serve) is reported, never skipped silently.
import {sameAcl, type AclPolicy, type ZkLayout} from './layout.js'
import {ZkConflictError, ZkRefusedError, type ZkClient} from './zk-client.js'

export interface AclPass {
  checked: number
  /** nodes whose ACL was set */
  fixed: number
  /** nodes whose ACL serve may not change */
  refused: string[]
}

/** How many ZooKeeper requests of the walk are in flight at once: a big tree must not flood a session. */
const PARALLEL = 16

export async function prepareTree(client: ZkClient, layout: ZkLayout, policy: AclPolicy): Promise<AclPass> {
  for (const dir of layout.topDirs()) await client.mkdirp(dir)
  const envs = new Set([...((await client.getChildren(layout.config())) ?? []), ...((await client.getChildren(layout.meta())) ?? [])])
  for (const env of envs) for (const dir of layout.envDirs(env)) await client.mkdirp(dir)
  const pass: AclPass = {checked: 0, fixed: 0, refused: []}
  // Without a writer identity the tree is open by design: nothing to set.
  if (!policy.writer) return pass

  const queue = [layout.root]
  const visit = async (path: string): Promise<void> => {
    try {
      const current = await client.getAcl(path)
      if (!current) return // gone meanwhile (an ephemeral report, say)
      pass.checked++
      const wanted = layout.aclFor(path, policy)
      if (!sameAcl(current.acl, wanted)) {
        await client.setAcl(path, wanted, current.aclVersion)
        pass.fixed++
      }

      queue.push(...((await client.getChildren(path)) ?? []).map((child) => `${path}/${child}`))
    } catch (error) {
      if (error instanceof ZkRefusedError) pass.refused.push(path)
      else if (!(error instanceof ZkConflictError)) throw error // BAD_VERSION: changed meanwhile by another serve
    }
  }

  const worker = async (): Promise<void> => {
    for (let path = queue.shift(); path !== undefined; path = queue.shift()) await visit(path)
  }

  // Workers that find the queue empty stop; the first one keeps going as long as it grows.
  while (queue.length > 0) await Promise.all(Array.from({length: Math.min(PARALLEL, queue.length)}, worker))
  return pass
}
