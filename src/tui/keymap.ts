// The key map as data, as k9s and lazygit keep it: one table drives the key handler, the hint bar
// (the bindings of the focused pane or dialog) and the `?` help. Tested in test/unit/tui-keymap.test.ts.
import type {Command, PaneId, TuiState} from './state.js'

/** Things a key can do that need the center (fetch, roll back): carried out by use-commands. */
export type Effect = 'view' | 'diff' | 'env-diff' | 'rollback' | 'confirm' | 'switch-env' | 'pick'

export type Do = Command | {type: 'effect'; effect: Effect}

/** Where a key press lands: a dialog when one is open, the filter while typing, else the focused pane. */
export type Context = PaneId | 'filter' | 'help' | 'text' | 'confirm' | 'pick-env' | 'busy'

export interface Binding {
  keys: string[]
  /** as the hint bar shows it, e.g. "↑↓ move" */
  label: string
  help: string
  contexts: readonly Context[]
  do: Do
  /** false: works, but is not worth a place in the hint bar */
  hint?: boolean
}

const PANES_ALL = ['keys', 'versions', 'instances', 'activity'] as const
const LISTS = [...PANES_ALL, 'text', 'pick-env'] as const
const DIALOGS = ['help', 'text', 'pick-env', 'busy'] as const
const effect = (name: Effect): Do => ({type: 'effect', effect: name})

export const BINDINGS: readonly Binding[] = [
  {keys: ['tab'], label: 'tab pane', help: 'focus the next pane (Keys, Versions, Instances, Activity)', contexts: PANES_ALL, do: {type: 'focus', delta: 1}},
  {keys: ['shift+tab'], label: 'shift+tab back', help: 'focus the previous pane', contexts: PANES_ALL, do: {type: 'focus', delta: -1}, hint: false},
  {keys: ['up', 'k'], label: '↑↓ move', help: 'move the selection up (k); scroll a view', contexts: [...LISTS, 'filter'], do: {type: 'move', delta: -1}},
  {keys: ['down', 'j'], label: '', help: 'move the selection down (j); scroll a view', contexts: [...LISTS, 'filter'], do: {type: 'move', delta: 1}, hint: false},
  {keys: ['pageup'], label: '', help: 'a page up', contexts: LISTS, do: {type: 'move', delta: -10}, hint: false},
  {keys: ['pagedown'], label: '', help: 'a page down', contexts: LISTS, do: {type: 'move', delta: 10}, hint: false},
  {keys: ['g'], label: '', help: 'first row', contexts: LISTS, do: {type: 'first'}, hint: false},
  {keys: ['G'], label: '', help: 'last row', contexts: LISTS, do: {type: 'last'}, hint: false},
  {keys: ['enter'], label: 'enter view', help: 'show the content of the selected version', contexts: ['versions'], do: effect('view')},
  {keys: ['enter'], label: 'enter pick', help: 'pick the selected env', contexts: ['pick-env'], do: effect('pick')},
  {keys: ['enter'], label: 'enter done', help: 'keep the filter and leave it', contexts: ['filter'], do: {type: 'filter-done'}},
  {keys: ['backspace'], label: '', help: 'erase the last character of the filter', contexts: ['filter'], do: {type: 'filter-erase'}, hint: false},
  {keys: ['d'], label: 'd diff', help: 'diff of the selected version against the one before it', contexts: ['versions'], do: effect('diff')},
  {keys: ['D'], label: 'D diff env', help: "diff of the selected key against another env's (pick the env)", contexts: ['keys'], do: effect('env-diff')},
  {keys: ['r'], label: 'r roll back', help: 'roll back to the selected version (operator; asks first, showing the diff)', contexts: ['versions'], do: effect('rollback')},
  {keys: ['y'], label: 'y roll back', help: 'confirm the roll back; any other key cancels', contexts: ['confirm'], do: effect('confirm')},
  {keys: ['e'], label: 'e env', help: 'switch env (pick from the list)', contexts: PANES_ALL, do: effect('switch-env')},
  {keys: ['/'], label: '/ filter', help: 'filter keys as you type (esc clears)', contexts: PANES_ALL, do: {type: 'filter-start'}},
  {keys: ['esc'], label: 'esc close', help: 'close a view or dialog; clear the filter', contexts: [...DIALOGS, 'filter', 'confirm'], do: {type: 'close'}},
  {keys: ['esc'], label: '', help: 'clear the filter', contexts: ['keys'], do: {type: 'close'}, hint: false},
  {keys: ['q'], label: '', help: 'close the view', contexts: DIALOGS, do: {type: 'close'}, hint: false},
  {keys: ['?'], label: '? keys', help: 'this key map', contexts: PANES_ALL, do: {type: 'help'}},
  {keys: ['q'], label: 'q quit', help: 'quit (restores the terminal)', contexts: PANES_ALL, do: {type: 'quit'}},
  {keys: ['ctrl+c'], label: '', help: 'quit, from anywhere', contexts: [...PANES_ALL, ...DIALOGS, 'filter', 'confirm'], do: {type: 'quit'}, hint: false},
]

export function contextOf(state: Pick<TuiState, 'overlay' | 'filtering' | 'focus'>): Context {
  if (state.overlay) return state.overlay.kind
  if (state.filtering) return 'filter'
  return state.focus
}

/** What a key press does where it lands; null: nothing (the hint bar says what works). */
export function resolveKey(state: Pick<TuiState, 'overlay' | 'filtering' | 'focus'>, key: string): Do | null {
  const context = contextOf(state)
  const binding = BINDINGS.find((b) => b.contexts.includes(context) && b.keys.includes(key))
  if (binding) return binding.do
  // The confirmation asks "(y/N)": anything but y is no.
  if (context === 'confirm') return {type: 'close'}
  if (context === 'filter' && [...key].length === 1 && key >= ' ') return {type: 'filter-type', text: key}
  return null
}

/** The hint bar of a context: the bindings that work there, in the table's order. */
export function hintsFor(context: Context): string[] {
  return BINDINGS.filter((b) => b.hint !== false && b.label && b.contexts.includes(context)).map((b) => b.label)
}

/** Ink's (input, key) as one name: "tab", "shift+tab", "up", "enter", "esc", "ctrl+c", "G", "/" ... */
export function keyName(
  input: string,
  key: {upArrow?: boolean; downArrow?: boolean; pageUp?: boolean; pageDown?: boolean; return?: boolean; escape?: boolean; tab?: boolean; shift?: boolean; backspace?: boolean; delete?: boolean; ctrl?: boolean},
): string {
  if (key.tab) return key.shift ? 'shift+tab' : 'tab'
  if (key.upArrow) return 'up'
  if (key.downArrow) return 'down'
  if (key.pageUp) return 'pageup'
  if (key.pageDown) return 'pagedown'
  if (key.return) return 'enter'
  if (key.escape) return 'esc'
  if (key.backspace || key.delete) return 'backspace'
  if (key.ctrl && input === 'c') return 'ctrl+c'
  return input
}
