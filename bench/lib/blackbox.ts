/**
 * prometheus-blackbox-exporter for the comparison bench: installed from the
 * Debian package when missing, run on a loopback port with its own config (not
 * as a service), and driven with concurrent /probe requests, by wrk when it is
 * installed, else by a Bun fetch loop.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { spawnTracked, stopChild } from './procs.ts'
import { freePort } from './sys.ts'
import { waitFor200 } from './heck.ts'

const NAME = 'prometheus-blackbox-exporter'

function findBinary(): string | undefined {
  return Bun.which(NAME) ?? Bun.which(NAME, { PATH: '/usr/bin:/usr/sbin:/usr/local/bin' }) ?? undefined
}

export function ensureBlackbox(): string {
  let bin = findBinary()
  if (bin) return bin
  console.log(`${NAME} is missing: apt-get install -y ${NAME}`)
  let r = Bun.spawnSync(['apt-get', 'install', '-y', NAME], { stdout: 'inherit', stderr: 'inherit' })
  if (r.exitCode !== 0) {
    Bun.spawnSync(['apt-get', 'update'], { stdout: 'inherit', stderr: 'inherit' })
    r = Bun.spawnSync(['apt-get', 'install', '-y', NAME], { stdout: 'inherit', stderr: 'inherit' })
  }
  bin = findBinary()
  if (!bin) throw new Error(`could not install ${NAME} (apt-get exit ${r.exitCode}); install it and run again`)
  return bin
}

/** Same probe as heck's default HTTP check: GET, any 2xx, IPv4, 5 s timeout. */
const CONFIG = `modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      method: GET
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
`

export async function startBlackbox(dir: string) {
  const bin = ensureBlackbox()
  const version = Bun.spawnSync([bin, '--version']).stdout.toString().split('\n')[0]?.trim() || Bun.spawnSync([bin, '--version']).stderr.toString().split('\n')[0]?.trim() || 'unknown version'
  const config = join(dir, 'blackbox.yml')
  writeFileSync(config, CONFIG)
  const port = freePort()
  const proc = spawnTracked([bin, `--config.file=${config}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdout: 'inherit', stderr: 'inherit' })
  const url = `http://127.0.0.1:${port}`
  await waitFor200(`${url}/-/healthy`, 15_000, 20).catch(() => waitFor200(`${url}/metrics`, 5000, 20))
  return { pid: proc.pid, url, version, stop: () => stopChild(proc) }
}

const probeUrl = (bb: string, farm: string, i: number) => `${bb}/probe?module=http_2xx&target=${encodeURIComponent(`${farm}/t/${i}`)}`

/** Probes a few targets once and counts the answers that are not probe_success 1. */
async function sampleProbes(bb: string, farm: string, n: number): Promise<number> {
  let failed = 0
  for (let i = 0; i < n; i++) {
    const text = await (await fetch(probeUrl(bb, farm, i))).text()
    if (!/^probe_success 1$/m.test(text)) failed++
  }
  return failed
}

/** Drives blackbox at `concurrency` requests in flight for durationS; returns how many probe answers came back. */
export async function driveBlackbox(bb: string, farm: string, concurrency: number, durationS: number, targets: number) {
  const wrk = Bun.which('wrk')
  let requests = 0
  if (wrk) {
    const lua = `counter = 0
request = function()
  counter = (counter + 1) % ${targets}
  return wrk.format("GET", "/probe?module=http_2xx&target=" .. "${encodeURIComponent(`${farm}/t/`)}" .. counter)
end
`
    const script = join(process.env.TMPDIR ?? '/tmp', `heck-bench-wrk-${process.pid}.lua`)
    writeFileSync(script, lua)
    const p = spawnTracked([wrk, '-t1', `-c${concurrency}`, `-d${durationS}s`, '--timeout', '10s', '-s', script, bb])
    const out = await new Response(p.stdout).text()
    await p.exited
    requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0)
  } else {
    const deadline = performance.now() + durationS * 1000
    let next = 0
    const worker = async () => {
      while (performance.now() < deadline) {
        const i = next++ % targets
        try {
          await (await fetch(probeUrl(bb, farm, i))).arrayBuffer()
          requests++
        } catch {
          // counted by the farm or not at all
        }
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
  }
  const sampled = 20
  return { requests, sampled, failed: await sampleProbes(bb, farm, sampled) }
}
