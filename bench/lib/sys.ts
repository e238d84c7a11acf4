/**
 * Measuring a process from the outside on Linux: resident memory from
 * /proc/PID/status (VmRSS) and CPU time from /proc/PID/stat (utime + stime),
 * plus free loopback ports and a small machine description for the report.
 */
import { readFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'

/** Resident set size in bytes, or undefined if the process is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : undefined
  } catch {
    return undefined
  }
}

let clkTck: number | undefined
function ticksPerSecond(): number {
  if (clkTck === undefined) {
    const r = Bun.spawnSync(['getconf', 'CLK_TCK'])
    const n = Number(r.stdout.toString().trim())
    clkTck = n > 0 ? n : 100
  }
  return clkTck
}

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(rest[11]) + Number(rest[12])) / ticksPerSecond()
  } catch {
    return undefined
  }
}

/** Samples RSS every intervalMs and keeps the maximum. */
export function rssSampler(pid: number, intervalMs = 250) {
  let max = rssBytes(pid) ?? 0
  let windowMax = max
  const t = setInterval(() => {
    const r = rssBytes(pid)
    if (r !== undefined && r > max) max = r
    if (r !== undefined && r > windowMax) windowMax = r
  }, intervalMs)
  return {
    /** Maximum since the sampler started. */
    max: () => max,
    /** Maximum since the previous windowMax() call (or the start); starts a new window. */
    windowMax: () => {
      const m = windowMax
      windowMax = 0
      return m
    },
    stop: () => clearInterval(t),
  }
}

export { freePort } from '../../src/runtime/free-port.ts'

export function machine(): string {
  const c = cpus()
  return `${c.length} cores (${c[0]?.model ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Linux; shared with other work running at the same time`
}

export const MiB = 2 ** 20

/** 1-, 5- and 15-minute load averages, to show how busy the shared machine was. */
export function loadavg(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
  } catch {
    return 'n/a'
  }
}
