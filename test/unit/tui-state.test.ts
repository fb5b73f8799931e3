import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {KeyEntry} from '../../src/lib/client/api-client.js'
import type {VersionMeta} from '../../src/lib/model.js'
import {BINDINGS, hintsFor, keyName, resolveKey, type Do} from '../../src/tui/keymap.js'
import {initialState, reducer, rowCount, selectedVersion, visibleKeys, type Action, type TuiState} from '../../src/tui/state.js'

const meta = (version: number, extra: Partial<VersionMeta> = {}): VersionMeta => ({
  version,
  sha256: `sha${version}`,
  size: 1,
  author: 'alice',
  message: '',
  time: '2026-12-01T10:00:00.000Z',
  kind: 'push',
  ...extra,
})
const key = (name: string, version = 1): KeyEntry => ({key: name, ...meta(version)})

function run(state: TuiState, ...actions: Action[]): TuiState {
  return actions.reduce(reducer, state)
}

/** Press keys the way the app does: resolve through the key map, apply pure commands. */
function press(state: TuiState, ...keys: string[]): {state: TuiState; effects: string[]} {
  const effects: string[] = []
  for (const k of keys) {
    const todo: Do | null = resolveKey(state, k)
    if (!todo) continue
    if (todo.type === 'effect') effects.push(todo.effect)
    else state = reducer(state, {type: 'command', command: todo})
  }

  return {state, effects}
}

const loaded = () =>
  run(initialState('http://x', 'prod'), {
    type: 'snapshot',
    keys: [key('game/rates.ini', 7), key('game/conf.ini', 14), key('redis/redis.properties', 21)],
    instances: [],
    audit: [{time: '2026-12-01T10:00:00Z', actor: 'a', action: 'push'}, {time: '2026-12-01T10:01:00Z', actor: 'b', action: 'rollback'}],
  })

describe('tui reducer', () => {
  it('a snapshot sorts keys, selects the first and lists the audit newest first', () => {
    const state = loaded()
    assert.deepEqual(state.keys.map((k) => k.key), ['game/conf.ini', 'game/rates.ini', 'redis/redis.properties'])
    assert.equal(state.selectedKey, 'game/conf.ini')
    assert.deepEqual(state.audit.map((e) => e.actor), ['b', 'a'])
    assert.ok(state.loaded)
  })

  it('tab cycles Keys, Versions, Instances, Activity; shift+tab goes back; the lower pane follows', () => {
    let {state} = press(loaded(), 'tab')
    assert.equal(state.focus, 'versions')
    state = press(state, 'tab', 'tab').state
    assert.equal(state.focus, 'activity')
    assert.equal(state.lower, 'activity')
    state = press(state, 'tab').state
    assert.equal(state.focus, 'keys')
    assert.equal(state.lower, 'activity', 'Keys keeps the last lower pane')
    assert.equal(press(state, 'shift+tab').state.focus, 'activity')
  })

  it('↓ j ↑ k g G move within bounds; moving in Keys selects another key and resets the versions cursor', () => {
    let {state} = press(loaded(), 'down', 'j', 'j')
    assert.equal(state.cursor.keys, 2)
    assert.equal(state.selectedKey, 'redis/redis.properties')
    state = press(state, 'k').state
    assert.equal(state.selectedKey, 'game/rates.ini')
    state = press(state, 'g').state
    assert.equal(state.cursor.keys, 0)
    state = press(state, 'G').state
    assert.equal(state.cursor.keys, 2)
    state = run(state, {type: 'history', key: 'redis/redis.properties', versions: [meta(21), meta(20), meta(19)]})
    state = press(state, 'tab', 'down', 'down').state
    assert.equal(selectedVersion(state)?.version, 19)
    state = press(state, 'shift+tab', 'up').state
    assert.equal(state.cursor.versions, 0)
    assert.equal(rowCount(state, 'versions'), 0, "another key's history is not shown")
  })

  it('history for a key that is no longer selected is dropped', () => {
    const state = run(loaded(), {type: 'history', key: 'game/rates.ini', versions: [meta(7)]})
    assert.equal(state.history, null)
  })

  it('/ filters as you type, keeps the selection when it still matches, esc clears', () => {
    let {state} = press(loaded(), 'down', '/', 'r', 'a', 't')
    assert.ok(state.filtering)
    assert.deepEqual(visibleKeys(state).map((k) => k.key), ['game/rates.ini'])
    assert.equal(state.selectedKey, 'game/rates.ini')
    state = press(state, 'backspace', 'backspace', 'backspace', 'r', 'e', 'd').state
    assert.deepEqual(visibleKeys(state).map((k) => k.key), ['redis/redis.properties'])
    state = press(state, 'enter').state
    assert.equal(state.filtering, false)
    assert.equal(state.filter, 'red', 'enter keeps the filter')
    state = press(state, 'q').state
    assert.ok(state.quit, 'after the filter, q quits again')
    state = press({...state, quit: false}, 'esc').state
    assert.equal(state.filter, '')
    assert.equal(visibleKeys(state).length, 3)
    assert.equal(state.selectedKey, 'redis/redis.properties')
  })

  it('typing q j k g into the filter filters, it does not quit or move', () => {
    const {state} = press(loaded(), '/', 'q')
    assert.equal(state.quit, false)
    assert.equal(state.filter, 'q')
  })

  it('a change updates the key, adds a new one in order, and prepends the version to the shown history', () => {
    let state = run(loaded(), {type: 'history', key: 'game/conf.ini', versions: [meta(14), meta(13)]})
    state = run(state, {type: 'change', key: 'game/conf.ini', meta: meta(15, {kind: 'rollback'})}, {type: 'change', key: 'game/b.ini', meta: meta(1)})
    assert.deepEqual(state.keys.map((k) => `${k.key}@${k.version}`), ['game/b.ini@1', 'game/conf.ini@15', 'game/rates.ini@7', 'redis/redis.properties@21'])
    assert.equal(state.selectedKey, 'game/conf.ini', 'the selection follows its key, not its row')
    assert.equal(state.cursor.keys, 1)
    assert.deepEqual(state.history?.versions.map((v) => v.version), [15, 14, 13])
    // the same change twice (a re-read after reconnect) is not listed twice
    state = run(state, {type: 'change', key: 'game/conf.ini', meta: meta(15, {kind: 'rollback'})})
    assert.deepEqual(state.history?.versions.map((v) => v.version), [15, 14, 13])
  })

  it('new audit entries go on top and keep an older entry under the cursor', () => {
    let state = press(loaded(), 'tab', 'tab', 'tab', 'down').state
    assert.equal(state.audit[state.cursor.activity].actor, 'a')
    state = run(state, {type: 'audit', entry: {time: '2026-12-01T10:02:00Z', actor: 'c', action: 'push'}})
    assert.equal(state.audit[0].actor, 'c')
    assert.equal(state.audit[state.cursor.activity].actor, 'a')
  })

  it('dialogs: esc closes; a text view scrolls with ↑↓ g G; the confirm dialog takes y, anything else cancels', () => {
    let state = run(loaded(), {type: 'overlay', overlay: {kind: 'text', title: 't', lines: [{text: '1'}, {text: '2'}, {text: '3'}], scroll: 0}})
    state = press(state, 'down', 'down', 'down').state
    assert.equal(state.overlay?.kind === 'text' && state.overlay.scroll, 2)
    state = press(state, 'g').state
    assert.equal(state.overlay?.kind === 'text' && state.overlay.scroll, 0)
    assert.equal(press(state, 'q').state.quit, false, 'q closes a view, it does not quit')
    assert.equal(press(state, 'esc').state.overlay, null)

    const confirm = run(loaded(), {type: 'overlay', overlay: {kind: 'confirm', key: 'game/conf.ini', env: 'prod', version: 3, lines: []}})
    assert.deepEqual(press(confirm, 'y').effects, ['confirm'])
    for (const other of ['n', 'enter', 'Y', 'tab', 'esc']) {
      const after = press(confirm, other)
      assert.deepEqual(after.effects, [], other)
      assert.equal(after.state.overlay, null, `${other} cancels`)
    }
  })

  it('switching env starts over with empty data but keeps the layout', () => {
    const state = run(press(loaded(), 'tab').state, {type: 'env', env: 'staging'})
    assert.equal(state.env, 'staging')
    assert.equal(state.keys.length, 0)
    assert.equal(state.focus, 'versions')
    assert.equal(state.loaded, false)
  })
})

describe('tui key map', () => {
  it('the keys of the issue do what it says, where it says', () => {
    const state = loaded()
    const on = (focus: TuiState['focus']) => ({...state, focus})
    assert.deepEqual(resolveKey(on('versions'), 'enter'), {type: 'effect', effect: 'view'})
    assert.deepEqual(resolveKey(on('versions'), 'd'), {type: 'effect', effect: 'diff'})
    assert.deepEqual(resolveKey(on('versions'), 'r'), {type: 'effect', effect: 'rollback'})
    assert.deepEqual(resolveKey(on('keys'), 'D'), {type: 'effect', effect: 'env-diff'})
    assert.equal(resolveKey(on('keys'), 'r'), null, 'r works on a version, not a key')
    assert.deepEqual(resolveKey(on('activity'), 'e'), {type: 'effect', effect: 'switch-env'})
    assert.deepEqual(resolveKey(on('instances'), '?'), {type: 'help'})
    assert.deepEqual(resolveKey({...state, overlay: {kind: 'help'}}, 'esc'), {type: 'close'})
  })

  it('the hint bar lists only what works in the focused pane', () => {
    assert.deepEqual(hintsFor('versions'), ['tab pane', '↑↓ move', 'enter view', 'd diff', 'r roll back', 'e env', '/ filter', '? keys', 'q quit'])
    assert.ok(!hintsFor('keys').includes('r roll back'))
    assert.ok(hintsFor('keys').includes('D diff env'))
    assert.deepEqual(hintsFor('confirm'), ['y roll back', 'esc close'])
  })

  it('no key is bound twice in one context', () => {
    const seen = new Set<string>()
    for (const binding of BINDINGS) {
      for (const context of binding.contexts) {
        for (const k of binding.keys) {
          assert.ok(!seen.has(`${context}:${k}`), `${k} twice in ${context}`)
          seen.add(`${context}:${k}`)
        }
      }
    }
  })

  it("names Ink's key events", () => {
    assert.equal(keyName('', {tab: true, shift: true}), 'shift+tab')
    assert.equal(keyName('', {downArrow: true}), 'down')
    assert.equal(keyName('c', {ctrl: true}), 'ctrl+c')
    assert.equal(keyName('G', {shift: true}), 'G')
    assert.equal(keyName('', {escape: true}), 'esc')
  })
})
