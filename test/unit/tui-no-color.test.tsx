// NO_COLOR: the dashboard drops colours, and every state still reads in plain text. Its own file
// (own process): chalk fixes its colour level when first loaded, so FORCE_COLOR must come first.
import assert from 'node:assert/strict'
import {it} from 'node:test'

process.env.FORCE_COLOR = '1'
const {render} = await import('ink-testing-library')
const {Screen} = await import('../../src/tui/components/screen.js')
const {ColorContext} = await import('../../src/tui/components/theme.js')
const {fleetIndex} = await import('../../src/tui/format.js')
const {initialState, reducer} = await import('../../src/tui/state.js')

const file = {key: 'game/conf.ini', dest: '/x', version: 13, sha256: 's', appliedAt: null, centerVersion: 14}
const state = reducer(initialState('http://center:7070', 'prod'), {
  type: 'snapshot',
  keys: [{key: 'game/conf.ini', version: 14, sha256: 's', size: 1, author: 'a', message: '', time: new Date().toISOString(), kind: 'push'}],
  instances: [
    {host: 'gs-1', instance: 'gs-1', state: 'failed' as const, since: '', pid: 1, agentVersion: '0', startedAt: '', updatedAt: '', online: true, lastSeen: '', via: 'http', files: [{...file, status: 'reload-failed', error: 'exit 1', inSync: false}]},
    {host: 'gs-2', instance: 'gs-2', state: 'offline' as const, since: '', pid: 1, agentVersion: '0', startedAt: '', updatedAt: '', online: false, lastSeen: '', via: 'http', files: [{...file, status: 'ok', error: null, inSync: false}]},
  ],
  audit: [],
})

function paint(colors: boolean): string {
  const {lastFrame, unmount} = render(
    <ColorContext.Provider value={colors}>
      <Screen state={state} fleet={fleetIndex(state.instances)} cols={120} rows={32} now={Date.now()} />
    </ColorContext.Provider>,
  )
  const out = lastFrame() ?? ''
  unmount()
  return out
}

it('colours follow status unless NO_COLOR; without colour the text still says it', () => {
  assert.match(paint(true), /\u001b\[31m/, 'failed is red on a colour terminal') // eslint-disable-line no-control-regex
  const plain = paint(false)
  assert.doesNotMatch(plain, /\u001b\[(3[0-7]|9[0-7])m/, 'no colour codes') // eslint-disable-line no-control-regex
  assert.match(plain, /0\/2 ▲2/)
  assert.match(plain, /reload-failed/)
  assert.match(plain, /offline/)
})
