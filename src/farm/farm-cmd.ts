/**
 * `heck farm [--port P] [--count N] [--flap RATE] [--host H]`: serves N
 * simulated health endpoints for demos, tests and benchmarks (src/farm/).
 * Runs until SIGINT or SIGTERM.
 */
import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { parseDuration } from '../config/duration.ts'
import { startFarm, type FarmOptions } from './farm.ts'
import { parseIdList, splitListArg } from './id-list.ts'
import type { Fault, ModeSpec } from './modes.ts'

const HELP = `Usage: heck farm [flags]

  --port P                 port to listen on (default 8081; 0 picks a free one)
  --host H                 address to listen on (default 127.0.0.1)
  --count N                endpoints /t/0 .. /t/N-1 (default 100); any /t/<id> answers too
  --flap RATE              on average RATE endpoints per second start failing for a while (default 0)
  --flap-down MIN..MAX     how long such an outage lasts (default 2s..10s)
  --fail LIST[:HOW]        endpoints that fail from the start; HOW is a status (default 503),
                           reset, close or hang. LIST is ids and ranges: 0,5,10..19
  --slow LIST:MS           endpoints that answer after MS milliseconds
  --write-targets FILE     write a targets file for this farm (then keep serving)
  --interval DUR           check interval in that file (default 1s)
  --connection reuse|new   connection mode in that file (default: not set, i.e. reuse)
  --seed S                 seed for random flaps (default: random)

Admin API: GET http://HOST:PORT/ lists it (stats, modes, reset, targets.yaml).
`

class FlagError extends Error {}

const FAULTS = new Set(['reset', 'close', 'hang'])

function failSpec(arg: string | undefined): ModeSpec {
  if (arg === undefined || arg === '') return { mode: 'fail' }
  if (FAULTS.has(arg)) return { mode: 'fail', fault: arg as Fault }
  const status = Number(arg)
  if (!/^\d{3}$/.test(arg) || status < 100 || status > 599) throw new FlagError(`--fail: "${arg}" is neither a status 100-599 nor reset, close or hang`)
  return { mode: 'fail', status }
}

function ids(flag: string, list: string): string[] {
  const r = parseIdList(list)
  if ('error' in r) throw new FlagError(`${flag}: ${r.error}`)
  return r
}

function intFlag(flag: string, v: string | undefined, def: number, min: number, max: number): number {
  if (v === undefined) return def
  const n = Number(v)
  if (!/^\d+$/.test(v) || n < min || n > max) throw new FlagError(`${flag}: expected an integer ${min}-${max}, got "${v}"`)
  return n
}

function durFlag(flag: string, v: string): number {
  const d = parseDuration(v)
  if (typeof d !== 'number') throw new FlagError(`${flag}: ${d.error}`)
  return d
}

export function parseFarmFlags(args: string[]): { opts: FarmOptions; writeTargets?: string; intervalMs: number; connection?: 'reuse' | 'new'; help: boolean } {
  let values
  try {
    ;({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        count: { type: 'string' },
        flap: { type: 'string' },
        'flap-down': { type: 'string' },
        fail: { type: 'string', multiple: true },
        slow: { type: 'string', multiple: true },
        'write-targets': { type: 'string' },
        interval: { type: 'string' },
        connection: { type: 'string' },
        seed: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }))
  } catch (e) {
    throw new FlagError(e instanceof Error ? e.message.replace(/\. To specify a positional.*$/s, '') : String(e))
  }
  const opts: FarmOptions = {
    port: intFlag('--port', values.port, 8081, 0, 65535),
    host: values.host ?? '127.0.0.1',
    count: intFlag('--count', values.count, 100, 0, 200_000),
    modes: [],
  }
  if (values.flap !== undefined) {
    const r = Number(values.flap)
    if (!/^\d+(\.\d+)?$/.test(values.flap) || r > 10_000) throw new FlagError(`--flap: expected outages per second (0-10000), got "${values.flap}"`)
    opts.flapRate = r
  }
  if (values['flap-down'] !== undefined) {
    const m = /^([^.]+)\.\.(.+)$/.exec(values['flap-down'])
    if (!m) throw new FlagError(`--flap-down: expected MIN..MAX like 2s..10s, got "${values['flap-down']}"`)
    const lo = durFlag('--flap-down', m[1] ?? '')
    const hi = durFlag('--flap-down', m[2] ?? '')
    if (hi < lo) throw new FlagError('--flap-down: MAX is below MIN')
    opts.flapDownMs = [lo, hi]
  }
  for (const f of values.fail ?? []) {
    const { list, arg } = splitListArg(f)
    opts.modes?.push({ ids: ids('--fail', list), spec: failSpec(arg) })
  }
  for (const s of values.slow ?? []) {
    const { list, arg } = splitListArg(s)
    const ms = Number(arg)
    if (arg === undefined || !/^\d+$/.test(arg) || ms > 600_000) throw new FlagError(`--slow: expected LIST:MS with MS 0-600000, got "${s}"`)
    opts.modes?.push({ ids: ids('--slow', list), spec: { mode: 'slow', delay_ms: ms } })
  }
  if (values.seed !== undefined) opts.seed = values.seed
  const conn = values.connection
  if (conn !== undefined && conn !== 'reuse' && conn !== 'new') throw new FlagError(`--connection: expected reuse or new, got "${conn}"`)
  return {
    opts,
    ...(values['write-targets'] !== undefined ? { writeTargets: values['write-targets'] } : {}),
    intervalMs: values.interval !== undefined ? durFlag('--interval', values.interval) : 1000,
    ...(conn !== undefined ? { connection: conn } : {}),
    help: values.help ?? false,
  }
}

export async function farmCommand(args: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseFarmFlags>
  try {
    parsed = parseFarmFlags(args)
  } catch (e) {
    if (!(e instanceof FlagError)) throw e
    process.stderr.write(`heck farm: ${e.message} (see 'heck farm --help')\n`)
    return 2
  }
  if (parsed.help) {
    process.stdout.write(HELP)
    return 0
  }
  const { opts } = parsed
  let farm
  try {
    farm = startFarm({ ...opts, onFlap: (id, ms) => process.stderr.write(`heck farm: /t/${id} fails for ${ms} ms\n`) })
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e)
    process.stderr.write(`heck farm: cannot listen on ${opts.host}:${opts.port}: ${msg}\n`)
    return 1
  }
  if (parsed.writeTargets !== undefined) {
    try {
      writeFileSync(parsed.writeTargets, farm.targetsYaml({ intervalMs: parsed.intervalMs, ...(parsed.connection ? { connection: parsed.connection } : {}) }))
    } catch (e) {
      await farm.stop()
      process.stderr.write(`heck farm: cannot write ${parsed.writeTargets}: ${e instanceof Error ? e.message : String(e)}\n`)
      return 1
    }
  }
  process.stdout.write(`heck farm: listening on ${farm.url} (${farm.count} endpoints at /t/0../t/${Math.max(0, farm.count - 1)}; admin at ${farm.url}/)\n`)
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      resolve()
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
  await farm.stop()
  return 0
}
