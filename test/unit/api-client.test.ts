import assert from 'node:assert/strict'
import {createServer, type Server, type ServerResponse} from 'node:http'
import {after, before, describe, it} from 'node:test'
import {ApiClient} from '../../src/lib/client/api-client.js'
import {isStconfError} from '../../src/lib/errors.js'

// The client's deadline and the caller's abort, against a loopback server that answers only when told.
describe('ApiClient deadlines', () => {
  let server: Server
  let url: string
  const waiting: ServerResponse[] = []
  before(async () => {
    server = createServer((request, response) => {
      request.resume()
      if (request.url === '/healthz') response.end('{"ok":true}')
      else waiting.push(response) // never answered
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as {port: number}).port}`
  })
  after(() => {
    for (const response of waiting) response.destroy()
    server.close()
  })

  it('fails a request the server does not answer as unavailable, naming its deadline', async () => {
    const client = new ApiClient({server: url, timeoutMs: 300})
    await assert.rejects(client.request('GET', '/silent'), (error: unknown) => {
      assert.ok(isStconfError(error) && error.code === 'unavailable', String(error))
      assert.match(error.message, /cannot reach the stconf server at .* \(no answer within 300 ms\)/)
      return true
    })
  })

  it('rejects with the abort itself when the caller stops a request, not as an outage', async () => {
    const client = new ApiClient({server: url, timeoutMs: 60_000})
    const controller = new AbortController()
    const pending = client.request('GET', '/silent', undefined, {signal: controller.signal})
    controller.abort()
    await assert.rejects(pending, (error: unknown) => !isStconfError(error) && (error as Error).name === 'AbortError')
  })

  it('answers a request within its deadline', async () => {
    const client = new ApiClient({server: url, timeoutMs: 300})
    const answer = await client.request('GET', '/healthz')
    assert.equal(answer.body.toString(), '{"ok":true}')
  })
})
