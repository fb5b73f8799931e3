// An instance as operators see it: its last report, where it stands against the center's current
// versions, and its state (fleet.ts).
import type {InstanceView} from '../fleet.js'
import {stateOf} from '../fleet.js'
import type {VersionMeta} from '../model.js'
import type {InstanceEntry} from './instance-registry.js'

export async function viewInstances(
  entries: InstanceEntry[],
  metaOf: (key: string) => Promise<VersionMeta | null>,
  onlyKey?: string,
): Promise<InstanceView[]> {
  const metas = new Map<string, Promise<VersionMeta | null>>()
  const cachedMeta = (key: string) => {
    let meta = metas.get(key)
    if (!meta) metas.set(key, (meta = metaOf(key)))
    return meta
  }

  const views: InstanceView[] = []
  for (const entry of entries) {
    const files = entry.report.files.filter((file) => !onlyKey || file.key === onlyKey)
    if (onlyKey && files.length === 0) continue
    const fileViews = await Promise.all(
      files.map(async (file) => {
        const meta = await cachedMeta(file.key)
        return {...file, centerVersion: meta?.version ?? null, inSync: !!meta && file.version === meta.version && file.sha256 === meta.sha256}
      }),
    )
    views.push({
      ...entry.report,
      instance: entry.instance,
      online: entry.presence === 'online',
      state: stateOf(entry.presence, fileViews),
      since: entry.since,
      lastSeen: entry.lastSeen,
      via: entry.via,
      files: fileViews,
    })
  }

  return views
}
