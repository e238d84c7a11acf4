import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ownershipCommand } from '../../src/cli/ownership-cmd.ts'
import { owners } from '../../src/ownership/owners.ts'

const dir = mkdtempSync(join(tmpdir(), 'heck-ownership-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function file(name: string, text: string): string {
  const p = join(dir, name)
  writeFileSync(p, text)
  return p
}

const YAML = file(
  'targets.yaml',
  `targets:
  - id: api-1
    url: http://10.0.0.5:8080/healthz
  - id: db-1
    tcp: 10.0.0.6:5432
  - id: web-3
    url: http://10.0.0.7/
  - id: cache-2
    tcp: 10.0.0.8:6379
`,
)
const JSON_FILE = file('targets.json', JSON.stringify({ targets: [{ id: 'j-1', tcp: '10.0.0.9:22' }, { id: 'j-2', url: 'http://x/' }] }))
const BAD = file('bad.yaml', 'targets:\n  - id: "no good!"\n    tcp: 10.0.0.1:1\n')

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await ownershipCommand(args, { out: (s) => void (out += s), err: (s) => void (err += s) })
  return { code, out, err }
}

describe('heck ownership', () => {
  test('--json prints {"targets": [{"id", "owners"}]} in file order, same as owners()', async () => {
    const members = ['a', 'b', 'c', 'd']
    const r = await run(['--members', members.join(','), '--targets', YAML, '--json'])
    expect(r.code).toBe(0)
    expect(r.err).toBe('')
    const body = JSON.parse(r.out)
    expect(Object.keys(body)).toEqual(['targets'])
    expect(body.targets.map((t: { id: string }) => t.id)).toEqual(['api-1', 'db-1', 'web-3', 'cache-2'])
    for (const t of body.targets) {
      expect(Object.keys(t)).toEqual(['id', 'owners'])
      expect(t.owners).toEqual(owners(t.id, members, 3))
    }
  })

  test('--replicas K and a JSON targets file; K above the member count lists every member', async () => {
    const two = JSON.parse((await run(['--members', 'x,y,z', '--targets', JSON_FILE, '--replicas', '2', '--json'])).out)
    expect(two.targets.map((t: { owners: string[] }) => t.owners.length)).toEqual([2, 2])
    const many = JSON.parse((await run(['--members=x,y,z', `--targets=${JSON_FILE}`, '--replicas=9', '--json'])).out)
    for (const t of many.targets) expect([...t.owners].sort()).toEqual(['x', 'y', 'z'])
  })

  test('the default output is a readable table with one column per owner and a load summary', async () => {
    const r = await run(['--members', ' a , b,c ', '--targets', YAML])
    expect(r.code).toBe(0)
    const lines = r.out.trimEnd().split('\n')
    expect(lines[0]?.split(/\s{2,}/)).toEqual(['TARGET', 'OWNER 1', 'OWNER 2', 'OWNER 3'])
    const row = lines.find((l) => l.startsWith('db-1'))?.split(/\s+/)
    expect(row).toEqual(['db-1', ...owners('db-1', ['a', 'b', 'c'], 3)])
    expect(lines.at(-1)).toMatch(/^4 targets, 3 members, 3 replicas; first-owner load: a \d+, b \d+, c \d+$/)
  })

  test('member order on the command line does not change the answer', async () => {
    const a = await run(['--members', 'n1,n2,n3,n4,n5', '--targets', YAML, '--json'])
    const b = await run(['--members', 'n4,n2,n5,n1,n3', '--targets', YAML, '--json'])
    expect(a.out).toBe(b.out)
  })

  const bad: [string, string[], RegExp][] = [
    ['duplicate member', ['--members', 'a,b,a', '--targets', YAML], /member "a" is listed twice/],
    ['empty member name', ['--members', 'a,,b', '--targets', YAML], /--members: empty name/],
    ['empty member list', ['--members', '', '--targets', YAML], /--members: empty name/],
    ['replicas 0', ['--members', 'a', '--targets', YAML, '--replicas', '0'], /--replicas: expected an integer ≥ 1/],
    ['replicas not a number', ['--members', 'a', '--targets', YAML, '--replicas', 'two'], /--replicas/],
    ['replicas negative', ['--members', 'a', '--targets', YAML, '--replicas=-1'], /--replicas/],
    ['missing --members', ['--targets', YAML], /--members is required/],
    ['missing --targets', ['--members', 'a'], /--targets is required/],
    ['missing file', ['--members', 'a', '--targets', join(dir, 'nope.yaml')], /nope\.yaml: no such file/],
    ['malformed file', ['--members', 'a', '--targets', BAD], /bad\.yaml/],
    ['unknown flag', ['--members', 'a', '--targets', YAML, '--bogus'], /bogus/],
    ['stray argument', ['--members', 'a', '--targets', YAML, 'extra'], /unexpected argument "extra"/],
  ]
  test.each(bad)('%s → one line on stderr, exit 2, nothing on stdout', async (_, args, pattern) => {
    const r = await run(args)
    expect(r.code).toBe(2)
    expect(r.out).toBe('')
    expect(r.err).toMatch(pattern)
    expect(r.err.startsWith('heck ownership: ')).toBe(true)
    expect(r.err.endsWith('\n')).toBe(true)
    expect(r.err.trimEnd().includes('\n')).toBe(false)
  })

  test('--help prints usage and exits 0', async () => {
    const r = await run(['--help'])
    expect(r.code).toBe(0)
    expect(r.out).toContain('heck ownership --members')
  })
})
