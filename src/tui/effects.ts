// What the keys that need the center do (view, diff, env diff, roll back, switch env). Each reads
// the store's current state, talks to serve through the one client, and answers with actions.
import type {ApiClient} from '../lib/client/api-client.js'
import {diffKey, unifiedDiff} from '../lib/client/operations.js'
import {formatErrorLine} from '../lib/errors.js'
import {contentLines, diffLines, type Line} from './format.js'
import type {Effect} from './keymap.js'
import {selectedVersion, type Action, type TuiState} from './state.js'

type Dispatch = (action: Action) => void

const patchLines = (result: {equal: boolean; patch: string}): Line[] => (result.equal ? [{text: 'no difference: the same bytes', tone: 'dim'}] : diffLines(result.patch))

export async function runEffect(effect: Effect, state: TuiState, client: ApiClient, dispatch: Dispatch): Promise<void> {
  const say = (message: string) => dispatch({type: 'message', message})
  const {env, selectedKey: key} = state
  try {
    switch (effect) {
      case 'view': {
        const version = selectedVersion(state)
        if (!key || !version) return say('no version selected')
        dispatch({type: 'overlay', overlay: {kind: 'busy', title: `${key} v${version.version}`}})
        const {content} = await client.getConfig(env, key, version.version)
        const title = `${env}/${key} v${version.version} · ${content.length} bytes · ${version.kind} by ${version.author} (esc closes)`
        return dispatch({type: 'overlay', overlay: {kind: 'text', title, lines: contentLines(content), scroll: 0}})
      }

      case 'diff': {
        const version = selectedVersion(state)
        if (!key || !version) return say('no version selected')
        const before = state.history?.versions[state.cursor.versions + 1]
        if (!before) return say(`v${version.version} is the oldest version listed: nothing before it to compare with`)
        dispatch({type: 'overlay', overlay: {kind: 'busy', title: `diff v${before.version} → v${version.version}`}})
        const [a, b] = await Promise.all([client.getConfig(env, key, before.version), client.getConfig(env, key, version.version)])
        const result = await unifiedDiff(`${env}/${key}@${before.version}`, a.content, `${env}/${key}@${version.version}`, b.content)
        return dispatch({type: 'overlay', overlay: {kind: 'text', title: `${key}: v${before.version} → v${version.version} (esc closes)`, lines: patchLines(result), scroll: 0}})
      }

      case 'env-diff':
      case 'switch-env': {
        if (effect === 'env-diff' && !key) return say('no key selected')
        const envs = (await client.envs()).map((e) => e.env).filter((e) => effect === 'switch-env' || e !== env)
        if (envs.length === 0) return say('there is no other env')
        const cursor = Math.max(0, envs.indexOf(env))
        return dispatch({type: 'overlay', overlay: {kind: 'pick-env', purpose: effect === 'switch-env' ? 'switch' : 'diff', key: key ?? undefined, envs, cursor}})
      }

      case 'pick': {
        const overlay = state.overlay
        if (overlay?.kind !== 'pick-env') return
        const picked = overlay.envs[overlay.cursor]
        if (overlay.purpose === 'switch') {
          dispatch({type: 'overlay', overlay: null})
          if (picked !== env) dispatch({type: 'env', env: picked})
          return
        }

        dispatch({type: 'overlay', overlay: {kind: 'busy', title: `diff ${overlay.key} ${env} → ${picked}`}})
        const result = await diffKey(client, {env, key: overlay.key!}, {kind: 'envs', against: picked})
        return dispatch({type: 'overlay', overlay: {kind: 'text', title: `${overlay.key}: ${env} → ${picked} (esc closes)`, lines: patchLines(result), scroll: 0}})
      }

      case 'rollback': {
        const version = selectedVersion(state)
        if (!key || !version) return say('no version selected')
        const caller = state.hello?.caller
        if (caller?.role === 'viewer') return say(`rolling back needs an operator token; ${caller.name} is a viewer`)
        const current = state.keys.find((k) => k.key === key)
        if (current?.version === version.version) return say(`v${version.version} is the current version of ${key}`)
        dispatch({type: 'overlay', overlay: {kind: 'busy', title: `roll back ${key} to v${version.version}`}})
        const [now, target] = await Promise.all([client.getConfig(env, key), client.getConfig(env, key, version.version)])
        const result = await unifiedDiff(`${env}/${key}@${now.meta.version} (current)`, now.content, `${env}/${key}@${version.version}`, target.content)
        return dispatch({type: 'overlay', overlay: {kind: 'confirm', key, env, version: version.version, lines: patchLines(result)}})
      }

      case 'confirm': {
        const overlay = state.overlay
        if (overlay?.kind !== 'confirm') return
        dispatch({type: 'overlay', overlay: {kind: 'busy', title: `rolling back ${overlay.key} to v${overlay.version}`}})
        const answer = await client.rollback(overlay.env, overlay.key, overlay.version)
        dispatch({type: 'overlay', overlay: null})
        return say(
          answer.changed
            ? `rolled back ${overlay.env}/${overlay.key} to the bytes of v${overlay.version}: now v${answer.version}`
            : `unchanged: v${answer.version} already has the bytes of v${overlay.version}`,
        )
      }
    }
  } catch (error) {
    dispatch({type: 'overlay', overlay: null})
    say(formatErrorLine(error))
  }
}
