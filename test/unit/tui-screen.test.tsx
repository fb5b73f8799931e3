// Components with ink-testing-library: the frame shows what the store says.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {render} from 'ink-testing-library'
import type {KeyEntry} from '../../src/lib/client/api-client.js'
import type {InstanceView} from '../../src/lib/fleet.js'
import {helpLines} from '../../src/tui/components/dialogs.js'
import {Screen, shownAgeTimes} from '../../src/tui/components/screen.js'
import {ColorContext} from '../../src/tui/components/theme.js'
import {fleetIndex} from '../../src/tui/format.js'
import {BINDINGS} from '../../src/tui/keymap.js'
import {initialState, reducer, type Action, type TuiState} from '../../src/tui/state.js'

const NOW = Date.parse('2026-12-01T12:00:00Z')
const entry = (key: string, version: number): KeyEntry => ({key, version, sha256: 's', size: 1, author: 'alice', message: '', time: '2026-12-01T11:58:00Z', kind: 'push'})
const host = (name: string, status: InstanceView['files'][number]['status'], online = true, version = 14): InstanceView => ({
  host: name,
  instance: name,
  state: 'ok',
  since: '',
  pid: 1,
  agentVersion: '0.1.0',
  startedAt: '',
  updatedAt: '',
  online,
  lastSeen: '2026-12-01T11:46:00Z',
  via: 'http',
  files: [{key: 'game/conf.ini', dest: '/srv/conf.ini', version, sha256: 's', status, appliedAt: '2026-12-01T11:58:00Z', error: status === 'reload-failed' ? 'systemctl restart game: exit 1' : null, inSync: version === 14 && status === 'ok', centerVersion: 14}],
})

function stateWith(...actions: Action[]): TuiState {
  const base = reducer(initialState('http://center:7070', 'prod'), {
    type: 'hello',
    hello: {env: 'prod', mode: 'zookeeper', zookeeper: 'connected', caller: {name: 'alice', role: 'operator'}, boot: 'b'},
  })
  return [
    {
      type: 'snapshot',
      keys: [entry('game/conf.ini', 14), entry('game/rates.ini', 7)],
      instances: [host('gs-101', 'ok'), host('gs-102', 'reload-failed', true, 13), host('gs-117', 'ok', false, 13)],
      audit: [{time: '2026-12-01T11:58:00Z', actor: 'alice', action: 'push', env: 'prod', key: 'game/conf.ini', version: 14, detail: 'double the players'}],
    } satisfies Action,
    {type: 'history', key: 'game/conf.ini', versions: [{...entry('x/y', 14), message: 'double the players'}, {...entry('x/y', 13), kind: 'rollback' as const, author: 'bob'}]} satisfies Action,
    ...actions,
  ].reduce(reducer, base)
}

function frame(state: TuiState, cols = 120, rows = 32, colors = true): string {
  const {lastFrame, unmount} = render(
    <ColorContext.Provider value={colors}>
      <Screen state={state} fleet={fleetIndex(state.instances)} cols={cols} rows={rows} now={NOW} />
    </ColorContext.Provider>,
  )
  const out = lastFrame() ?? ''
  unmount()
  return out.replace(/\u001b\[[0-9;]*m/g, '') // eslint-disable-line no-control-regex
}

describe('tui screen', () => {
  it('at 120x32 shows header, all four panes with their rows, and the hint bar of the focused pane', () => {
    const out = frame(stateWith())
    const lines = out.split('\n')
    assert.equal(lines.length, 31, 'one row less than the terminal')
    assert.ok(lines.every((line) => [...line].length <= 120), 'nothing wider than the terminal')
    assert.match(lines[0], /stconf ▸ prod {3}http:\/\/center:7070 · zookeeper ● connected · alice \(operator\)/)
    assert.match(lines[0], /2 keys · 3 hosts · 1 failing/)
    assert.match(out, /▸game\/conf\.ini +v14 +2m +1\/3 ▲2/)
    assert.match(out, /Versions · game\/conf\.ini/)
    assert.match(out, /v13 +rollback +bob/)
    assert.match(out, /gs-102 +v13 +reload-failed +behind .*systemctl restart game: exit 1/)
    assert.match(out, /gs-117 +v13 +offline .*last seen/)
    assert.match(out, /Activity/)
    assert.match(out, /alice +push +prod\/game\/conf\.ini v14 +double the players/)
    assert.match(lines.at(-1)!, /tab pane · ↑↓ move · D diff env · e env · \/ filter · \? keys · q quit/)
  })

  it('at 80x24 stacks Keys over the pane tab chose, and fits', () => {
    const onKeys = frame(stateWith(), 80, 24)
    assert.ok(onKeys.split('\n').every((line) => [...line].length <= 80))
    assert.equal(onKeys.split('\n').length, 23)
    assert.match(onKeys, /Keys 2/)
    assert.match(onKeys, /Versions · game\/conf\.ini/)
    assert.doesNotMatch(onKeys, /Activity/)
    const onInstances = frame(stateWith({type: 'command', command: {type: 'focus', delta: 1}}, {type: 'command', command: {type: 'focus', delta: 1}}), 80, 24)
    assert.match(onInstances, /Instances · game\/conf\.ini/)
    assert.doesNotMatch(onInstances, /Versions ·/)
    assert.match(onInstances.split('\n').at(-1)!, /tab pane/)
    assert.doesNotMatch(onInstances.split('\n').at(-1)!, /r roll back/, 'the hint bar lists only what works in Instances')
  })

  it('thousands of keys: only the rows that fit, around the cursor', () => {
    const keys = Array.from({length: 5000}, (_, i) => entry(`app${String(i).padStart(4, '0')}/${'very-long-name-'.repeat(i === 2500 ? 10 : 1)}x.ini`, i + 1))
    let state = reducer(stateWith(), {type: 'snapshot', keys, instances: [], audit: []})
    state = reducer(state, {type: 'command', command: {type: 'move', delta: 2500}})
    const out = frame(state)
    assert.match(out, /Keys 5000/)
    assert.match(out, /▸…[^\n]*very-long-name-x\.ini +v2501/, 'a long name is cut from the left, the row still fits')
    assert.doesNotMatch(out, /app0000\//)
    assert.ok(out.split('\n').every((line) => [...line].length <= 120))
  })

  it('the clock follows only the ages on screen: the keys shown, the versions, the instances of the key', () => {
    const keys = Array.from({length: 5000}, (_, i) => ({...entry(`app${String(i).padStart(4, '0')}.ini`, 1), time: `2026-12-01T10:${String(i % 60).padStart(2, '0')}:00Z`}))
    let state = reducer(stateWith(), {type: 'snapshot', keys, instances: [host('gs-101', 'ok')], audit: []})
    state = reducer(state, {type: 'command', command: {type: 'move', delta: 2500}})
    const out = frame(state)
    const shownKeys = keys.filter((k) => out.includes(k.key))
    const times = shownAgeTimes(state, 120, 32)
    assert.ok(shownKeys.length > 5 && shownKeys.length < 30, `${shownKeys.length} key rows`)
    assert.deepEqual(times, shownKeys.map((k) => k.time), 'the key rows on screen; no versions or instances for app2500.ini yet')
    const atFirst = reducer(reducer(state, {type: 'command', command: {type: 'first'}}), {type: 'command', command: {type: 'move', delta: 0}})
    assert.ok(shownAgeTimes(atFirst, 120, 32).includes(keys[0].time))
    assert.deepEqual(shownAgeTimes({...state, overlay: {kind: 'help'}}, 120, 32), [], 'a dialog covers the panes')
  })

  it('the roll-back dialog shows the diff and asks the exact question', () => {
    const out = frame(stateWith({type: 'overlay', overlay: {kind: 'confirm', key: 'game/conf.ini', env: 'prod', version: 13, lines: [{text: '-max_players = 200', tone: 'del'}, {text: '+max_players = 100', tone: 'add'}]}}))
    assert.match(out, /-max_players = 200/)
    assert.match(out, /\+max_players = 100/)
    assert.match(out, /Roll back game\/conf\.ini in prod to version 13\? \(y\/N\)/)
    assert.match(out.split('\n').at(-1)!, /y roll back · esc close/)
  })

  it('the banner keeps the last data on screen while serve is unreachable', () => {
    const out = frame(stateWith({type: 'connection', state: 'retrying', error: 'cannot reach the stconf server'}))
    assert.match(out, /server unreachable — retrying/)
    assert.match(out, /game\/conf\.ini/)
  })

  it('? shows every binding of the key map', () => {
    const out = frame(stateWith({type: 'command', command: {type: 'help'}}), 120, 40)
    for (const binding of BINDINGS.slice(0, 12)) assert.ok(out.includes(binding.help.slice(0, 40)), binding.help)
    assert.equal(helpLines().length, BINDINGS.length)
  })
})
