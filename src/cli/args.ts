/**
 * Flag parsing on top of node:util parseArgs, turning its exceptions into
 * UsageErrors that name the command and the flag.
 */
import { parseArgs } from 'node:util'
import { UsageError } from './errors.ts'

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options']

export function parseFlags<O extends Options>(command: string, args: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args, options: options as O, allowPositionals, strict: true })
  } catch (e) {
    const msg = e instanceof Error ? e.message.replace(/\. To specify a positional.*$/s, '') : String(e)
    throw new UsageError(`${msg} (see 'heck help')`)
  }
}

/** "HOST:PORT" or ":PORT" or "PORT" → {host, port}; IPv6 as "[::1]:8080". */
export function parseAddr(flag: string, s: string, defaultHost = '127.0.0.1'): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s/]*)):(\d{1,5})$|^(\d{1,5})$/.exec(s)
  const port = Number(m?.[3] ?? m?.[4])
  if (!m || !(port >= 0 && port <= 65535)) throw new UsageError(`${flag}: expected HOST:PORT, got "${s}"`)
  return { host: m[1] ?? (m[2] || defaultHost), port }
}

/** A whole-number flag within [min, max]; absent gives `dflt`. */
export function intFlag(flag: string, raw: string | undefined, dflt: number, min: number, max: number): number {
  if (raw === undefined) return dflt
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag}: expected a whole number from ${min} to ${max}, got "${raw}"`)
  return n
}

export const formatAddr = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`)

/** Base URL of an agent's HTTP API from an --http ADDR flag. */
export function apiBase(addr: string | undefined): string {
  const a = parseAddr('--http', addr ?? '127.0.0.1:8080')
  const host = a.host === '0.0.0.0' ? '127.0.0.1' : a.host === '::' ? '::1' : a.host
  return `http://${formatAddr(host, a.port)}`
}

/**
 * The bearer token a client command sends: `--token TOKEN`, else the HECK_TOKEN
 * environment variable (which keeps it out of `ps` and shell history), else none.
 */
export function clientToken(flag: string | undefined, env: Record<string, string | undefined> = process.env): string | undefined {
  if (flag !== undefined) {
    if (flag === '' || !/^[\x21-\x7e]+$/.test(flag)) throw new UsageError('--token: expected the agent\'s --api-read-token or --api-token (printable ASCII, no spaces)')
    return flag
  }
  const v = env.HECK_TOKEN
  if (v === undefined || v === '') return undefined
  if (!/^[\x21-\x7e]+$/.test(v)) throw new UsageError('HECK_TOKEN: expected the agent\'s --api-read-token or --api-token (printable ASCII, no spaces)')
  return v
}
