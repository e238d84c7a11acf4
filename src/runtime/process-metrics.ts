/**
 * The `process_*` metrics Prometheus' client libraries export (their names, types and
 * units), and `heck_build_info{version}`. Read at scrape time from the platform
 * (process.cpuUsage, memoryUsage, uptime) and, on Linux, /proc/self for virtual memory
 * and file descriptors; elsewhere those three are left out rather than faked.
 */
import { readdirSync, readFileSync } from 'node:fs'
import type { Registry } from '../metrics/registry.ts'

function procFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length
  } catch {
    return undefined
  }
}

function procMaxFds(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))
    return m ? Number(m[1]) : undefined
  } catch {
    return undefined
  }
}

function procVsize(): number | undefined {
  try {
    // Field 23 of /proc/self/stat, counted after the parenthesised command name.
    const stat = readFileSync('/proc/self/stat', 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[20])
  } catch {
    return undefined
  }
}

export function registerProcessMetrics(m: Registry, version: string): void {
  const startS = Date.now() / 1000 - process.uptime()
  m.counterFunc('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', () => {
    const u = process.cpuUsage()
    return (u.user + u.system) / 1e6
  })
  m.gauge('process_resident_memory_bytes', 'Resident memory size in bytes.').collect(() => [[undefined, process.memoryUsage().rss]])
  m.gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.').collect(() => [[undefined, Math.round(startS * 1000) / 1000]])
  if (procVsize() !== undefined) m.gauge('process_virtual_memory_bytes', 'Virtual memory size in bytes.').collect(() => [[undefined, procVsize() ?? 0]])
  if (procFds() !== undefined) m.gauge('process_open_fds', 'Number of open file descriptors.').collect(() => [[undefined, procFds() ?? 0]])
  if (procMaxFds() !== undefined) m.gauge('process_max_fds', 'Maximum number of open file descriptors.').collect(() => [[undefined, procMaxFds() ?? 0]])
  m.gauge('heck_build_info', 'Always 1; the version of this heck build as a label.').collect(() => [[{ version }, 1]])
}
