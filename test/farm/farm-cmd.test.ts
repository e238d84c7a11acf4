/**
 * `heck farm` as a command: flag parsing, one-line errors with exit 2, and one
 * real run that prints its URL, writes a targets file and stops on SIGTERM.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseFarmFlags } from '../../src/farm/farm-cmd.ts'

const root = join(import.meta.dir, '../..')
const dir = mkdtempSync(join(tmpdir(), 'heck-farm-cmd-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('heck farm flags', () => {
  test('defaults and every flag', () => {
    expect(parseFarmFlags([]).opts).toMatchObject({ port: 8081, host: '127.0.0.1', count: 100 })
    const p = parseFarmFlags(['--port', '0', '--count', '5', '--flap', '0.5', '--flap-down', '1s..3s', '--host', '0.0.0.0',
      '--fail', '0..1', '--fail', '2:reset', '--fail', '3:500', '--slow', '4:250', '--seed', 'x', '--write-targets', 'f.yaml', '--interval', '500ms', '--connection', 'new'])
    expect(p.opts).toEqual({ port: 0, host: '0.0.0.0', count: 5, flapRate: 0.5, flapDownMs: [1000, 3000], seed: 'x', modes: [
      { ids: ['0', '1'], spec: { mode: 'fail' } },
      { ids: ['2'], spec: { mode: 'fail', fault: 'reset' } },
      { ids: ['3'], spec: { mode: 'fail', status: 500 } },
      { ids: ['4'], spec: { mode: 'slow', delay_ms: 250 } },
    ] })
    expect([p.writeTargets, p.intervalMs, p.connection]).toEqual(['f.yaml', 500, 'new'])
  })

  test('bad flags throw with the flag named', () => {
    for (const [args, flag] of [[['--port', 'x'], '--port'], [['--count', '-3'], '--count'], [['--flap', 'often'], '--flap'],
      [['--fail', '1:boom'], '--fail'], [['--slow', '1'], '--slow'], [['--interval', '5'], '--interval'], [['--nope'], 'nope'],
      [['--connection', 'keep'], '--connection'], [['--flap-down', '3s'], '--flap-down']] as const) {
      expect(() => parseFarmFlags([...args])).toThrow(flag)
    }
  })
})

describe('heck farm command', () => {
  const bun = process.execPath
  test('a bad flag: one line on stderr, exit 2', async () => {
    const p = Bun.spawn([bun, join(root, 'src/cli/main.ts'), 'farm', '--count', 'lots'], { stdout: 'pipe', stderr: 'pipe' })
    expect(await p.exited).toBe(2)
    const err = await new Response(p.stderr).text()
    expect(err.trim().split('\n').length).toBe(1)
    expect(err).toContain('--count')
  })

  test('serves, writes a targets file, stops on SIGTERM with exit 0', async () => {
    const file = join(dir, 'targets.yaml')
    const p = Bun.spawn([bun, join(root, 'src/cli/main.ts'), 'farm', '--port', '0', '--count', '3', '--fail', '2', '--write-targets', file], { stdout: 'pipe', stderr: 'pipe' })
    const kill = setTimeout(() => p.kill('SIGKILL'), 10_000)
    try {
      const reader = p.stdout.getReader()
      let out = ''
      while (!out.includes('\n')) {
        const { value, done } = await reader.read()
        if (done) break
        out += new TextDecoder().decode(value)
      }
      reader.releaseLock()
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1]
      expect(url).toBeDefined()
      expect((await fetch(`${url}/t/0`)).status).toBe(200)
      expect((await fetch(`${url}/t/2`)).status).toBe(503)
      expect(readFileSync(file, 'utf8')).toContain(`${url}/t/2`)
      p.kill('SIGTERM')
      expect(await p.exited).toBe(0)
    } finally {
      clearTimeout(kill)
      p.kill('SIGKILL')
    }
  })
})
