/**
 * `heck agent --config FILE` / `--config-dir DIR`, secrets from the environment and
 * files, and which source wins (SPEC.md "Agent configuration").
 */
import { afterAll, expect, test } from 'bun:test'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseAgentArgs, type AgentFlags } from '../../src/cli/agent-flags.ts'

const dir = mkdtempSync(join(tmpdir(), 'heck-agent-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const KEY1 = Buffer.alloc(32, 1).toString('base64')
const KEY2 = Buffer.alloc(32, 2).toString('base64')

function file(name: string, text: string, mode = 0o600): string {
  const p = join(dir, name)
  mkdirSync(join(p, '..'), { recursive: true })
  writeFileSync(p, text)
  chmodSync(p, mode)
  return p
}

function parse(args: string[], env: Record<string, string> = {}): AgentFlags {
  const r = parseAgentArgs(args, env)
  if (r === 'help') throw new Error('help')
  return r
}

test('every flag is a setting under its name with _ for -; relative paths are taken from the file', () => {
  const p = file(
    'etc/agent.yaml',
    [
      'name: web-1',
      'http: 127.0.0.1:9090',
      'bind: 127.0.0.1:7950',
      'retry_join: [127.0.0.1:7951, 127.0.0.1:7952]',
      'join_timeout: 20s',
      'data_dir: ../var/heck',
      'targets: targets.yaml',
      'profile: wan',
      'max_concurrent_checks: 64',
      'log_format: json',
      'tui: false',
    ].join('\n'),
  )
  const c = parse(['--config', p])
  expect(c.name).toBe('web-1')
  expect(c.http).toEqual({ host: '127.0.0.1', port: 9090 })
  expect(c.agent.retryJoin).toEqual(['127.0.0.1:7951', '127.0.0.1:7952'])
  expect(c.agent.joinTimeoutMs).toBe(20_000)
  expect(c.dataDir).toBe(join(dir, 'var/heck'))
  expect(c.targetsPath).toBe(join(dir, 'etc/targets.yaml'))
  expect(c.agent.profile).toBe('wan')
  expect(c.agent.maxConcurrentChecks).toBe(64)
  expect(c.logFormat).toBe('json')
  // JSON works the same way.
  const j = file('agent.json', JSON.stringify({ name: 'j-1', join: '127.0.0.1:7000', max_event_streams: 8 }))
  const cj = parse(['--config', j])
  expect([cj.name, cj.agent.join, cj.maxEventStreams]).toEqual(['j-1', ['127.0.0.1:7000'], 8])
})

test('flags beat the environment, which beats the config files; --config-dir files merge in lexical order', () => {
  const d = join(dir, 'conf.d')
  file('conf.d/20-late.yaml', 'name: from-20\nlog_level: warn\n')
  file('conf.d/10-early.yml', 'name: from-10\nhttp: 127.0.0.1:9001\n')
  file('conf.d/README.txt', 'not a settings file: ignored')
  const base = file('base.yaml', `name: from-base\nprofile: local\napi_token: file-token\n`)
  let c = parse(['--config', base, '--config-dir', d])
  expect([c.name, c.logLevel, c.http.port, c.agent.profile]).toEqual(['from-20', 'warn', 9001, 'local'])
  expect(c.agent.apiToken).toBe('file-token')
  c = parse(['--config', base, '--config-dir', d, '--name', 'from-flag'], { HECK_API_TOKEN: 'env-token' })
  expect(c.name).toBe('from-flag')
  expect(c.agent.apiToken).toBe('env-token')
  c = parse(['--config', base, '--api-token', 'flag-token'], { HECK_API_TOKEN: 'env-token' })
  expect(c.agent.apiToken).toBe('flag-token')
})

test('a bad setting names the file and the setting, and says what to do', () => {
  const cases: Array<[string, RegExp]> = [
    ['log_level: loud', /bad1\.yaml: log_level: expected debug, info, warn or error, got "loud"/],
    ['data-dir: /x', /bad1\.yaml: data-dir: write it as "data_dir"/],
    ['datadir: /x', /bad1\.yaml: datadir: is not a setting \(settings: .*data_dir/],
    ['config: other.yaml', /bad1\.yaml: config: is a command-line flag only/],
    ['tui: yes please', /bad1\.yaml: tui: expected true or false/],
    ['name: [a, b]', /bad1\.yaml: name: takes one value, got a list/],
    ['join: {a: 1}', /bad1\.yaml: join: expected a string or a list of strings/],
    ['http: nowhere', /bad1\.yaml: http: expected HOST:PORT, got "nowhere"/],
    ['join_timeout: soon', /bad1\.yaml: join_timeout: /],
    ['max_concurrent_checks: 0', /bad1\.yaml: max_concurrent_checks: expected a whole number from 1 to 100000/],
    ['- just\n- a list', /bad1\.yaml: must be a map of settings/],
    ['name: "unclosed', /bad1\.yaml: not valid YAML/],
  ]
  for (const [text, want] of cases) {
    const p = file('bad1.yaml', text)
    expect(() => parse(['--config', p])).toThrow(want)
  }
  expect(() => parse(['--config', join(dir, 'missing.yaml')])).toThrow(/missing\.yaml: no such file/)
  expect(() => parse(['--config-dir', join(dir, 'missing.d')])).toThrow(/--config-dir .*missing\.d: no such directory/)
  // An empty file sets nothing.
  expect(parse(['--config', file('empty.yaml', '')]).http.port).toBe(8080)
})

test('secrets from the environment and from files; a secret given on the command line or in a file others can read is warned about', () => {
  let c = parse([], { HECK_ENCRYPT: `${KEY1},${KEY2}`, HECK_API_TOKEN: 'w-token', HECK_API_READ_TOKEN: 'r-token' })
  expect(c.agent.keys).toEqual([KEY1, KEY2])
  expect([c.agent.apiToken, c.agent.apiReadToken]).toEqual(['w-token', 'r-token'])
  expect(c.warnings).toEqual([])

  const tok = file('token', 'from-file\n')
  c = parse(['--api-token-file', tok])
  expect(c.agent.apiToken).toBe('from-file')
  expect(c.warnings).toEqual([])

  c = parse(['--api-token', 'visible', '--encrypt', KEY1])
  expect(c.warnings.join('\n')).toMatch(/--encrypt was given on the command line.*HECK_ENCRYPT, --encrypt-file/)
  expect(c.warnings.join('\n')).toMatch(/--api-token was given on the command line.*HECK_API_TOKEN, --api-token-file/)

  const open = file('open-token', 'x-token', 0o644)
  expect(parse(['--api-token-file', open]).warnings[0]).toMatch(/open-token .*can be read by every user.*chmod o-rwx/)

  expect(() => parse(['--api-token', 'a', '--api-token-file', tok])).toThrow(/--api-token and --api-token-file both give/)
  expect(() => parse(['--api-token-file', file('blank', '\n')])).toThrow(/--api-token-file: empty/)
  expect(() => parse([], { HECK_API_TOKEN: 'has space' })).toThrow(/HECK_API_TOKEN: must be printable ASCII/)
  expect(() => parse([], { HECK_ENCRYPT: 'short' })).toThrow(/HECK_ENCRYPT: expected a base64 32-byte key/)
  expect(() => parse(['--api-read-token', 'same'], { HECK_API_TOKEN: 'same' })).toThrow(/--api-read-token: is the same as HECK_API_TOKEN/)
})

test('a keyring file: one key per line, comments allowed, errors name the line', () => {
  const ring = file('ring', `# rotated 2026-12\n${KEY2}\n\n${KEY1}  # old, remove after the roll\n`)
  const c = parse(['--encrypt-file', ring])
  expect(c.agent.keys).toEqual([KEY2, KEY1])
  expect(c.keyringFile).toBe(ring)
  expect(c.bind.host).toBe('0.0.0.0') // keys given: gossip may bind wider, as with --encrypt
  expect(() => parse(['--encrypt-file', file('ring-bad', `${KEY1}\nnot-a-key\n`)])).toThrow(/--encrypt-file .*ring-bad: line 2: expected a base64 32-byte key/)
  expect(() => parse(['--encrypt-file', file('ring-empty', '# nothing\n')])).toThrow(/no keys in it/)
  expect(() => parse(['--encrypt', KEY1, '--encrypt-file', ring])).toThrow(/--encrypt and --encrypt-file both give/)
})

test('--print-config shows every setting in effect in config-file form, secrets masked, and reads back the same', () => {
  const p = file('print.yaml', `name: p-1\napi_token: s3cret-w\napi_read_token: s3cret-r\nretry_join: [127.0.0.1:7001]\n`)
  const c = parse(['--config', p, '--print-config'], { HECK_ENCRYPT: KEY1 })
  expect(c.printConfig).toBe(true)
  const text = Bun.YAML.stringify(c.printable, null, 2)
  expect(text).not.toContain('s3cret')
  expect(text).not.toContain(KEY1)
  expect(c.printable).toMatchObject({ name: 'p-1', api_token: '<redacted>', encrypt: ['<redacted>'], http: '127.0.0.1:8080', join_timeout: '10s', profile: 'lan' })
  // Written back as a config file without its secrets, it gives the same settings.
  const { api_token: _w, api_read_token: _r, encrypt: _e, ...rest } = c.printable
  const again = parse(['--config', file('printed.yaml', Bun.YAML.stringify(rest, null, 2))])
  expect(again.printable).toEqual({ ...rest, encrypt: [] })
})
