import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {closest, editDistance} from '../../src/lib/suggest.js'

describe('did-you-mean suggestions', () => {
  it('counts a swap of two neighbours as one edit', () => {
    assert.equal(editDistance('prdo', 'prod'), 1)
    assert.equal(editDistance('versoin', 'version'), 1)
    assert.equal(editDistance('stagng', 'staging'), 1)
    assert.equal(editDistance('', 'abc'), 3)
    assert.equal(editDistance('same', 'same'), 0)
  })

  it('suggests the closest candidate only when it is close enough', () => {
    assert.equal(closest('prdo', ['dev', 'prod', 'staging']), 'prod')
    assert.equal(closest('versoin', ['push', 'pull', 'version']), 'version')
    assert.equal(closest('tokn list', ['token list', 'token create', 'ls']), 'token list')
    assert.equal(closest('frobnicate', ['push', 'pull', 'version']), undefined)
    assert.equal(closest('zzzzzz', ['prod', 'staging']), undefined)
    assert.equal(closest('PROD', ['prod']), 'prod')
    assert.equal(closest('x', []), undefined)
  })
})
