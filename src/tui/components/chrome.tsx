// Header, connection banner and hint bar: one row each.
import {Box, Text} from 'ink'
import {Spinner} from '@inkjs/ui'
import type {HelloEvent} from '../../lib/api/contract.js'
import {fit, fitHints} from '../format.js'
import {Painted} from './theme.js'

export function Header(props: {width: number; server: string; env: string; hello: HelloEvent | null; keys: number; hosts: number; failing: number; live: boolean}) {
  const {hello} = props
  const store = hello ? (hello.mode === 'zookeeper' ? 'zookeeper' : 'embedded') : ''
  const zk = hello?.zookeeper ? ` ${hello.zookeeper === 'connected' ? '●' : '○'} ${hello.zookeeper}` : ''
  const who = hello ? ` · ${hello.caller.name} (${hello.caller.role})` : ''
  const right = ` ${props.keys} keys · ${props.hosts} hosts${props.failing > 0 ? ` · ${props.failing} failing` : ''} `
  const left = ` stconf ▸ ${props.env}   ${props.server} · ${store}${zk}${who}`
  const room = Math.max(0, props.width - [...right].length)
  return (
    <Box width={props.width} height={1}>
      <Text wrap="truncate">
        <Painted tone="accent" bold>
          {fit(left, room).slice(0, 10 + props.env.length)}
        </Painted>
        <Painted tone={hello?.zookeeper === 'unreachable' ? 'failed' : undefined}>{fit(left, room).slice(10 + props.env.length)}</Painted>
        <Painted tone={props.failing > 0 ? 'failed' : props.live ? undefined : 'dim'}>{right}</Painted>
      </Text>
    </Box>
  )
}

export function Banner({width, error}: {width: number; error: string | null}) {
  return (
    <Box width={width} height={1}>
      <Text wrap="truncate" inverse>
        <Painted tone="failed" inverse bold>
          {fit(` server unreachable — retrying${error ? ` (${error})` : ''}; showing the last data`, width)}
        </Painted>
      </Text>
    </Box>
  )
}

export function Connecting({width}: {width: number}) {
  return (
    <Box width={width} height={1}>
      <Spinner label="connecting to the center…" />
    </Box>
  )
}

export function HintBar({width, hints, message}: {width: number; hints: string[]; message: string | null}) {
  return (
    <Box width={width} height={1}>
      {message ? (
        <Text wrap="truncate" bold>
          {fit(` ${message}`, width)}
        </Text>
      ) : (
        <Text wrap="truncate" dimColor>
          {fit(fitHints(hints, width), width)}
        </Text>
      )}
    </Box>
  )
}
