/**
 * `heck agent`: runs one node. This is the edge where real things happen: flags,
 * the targets file and its reloads, sockets, signals. The node itself
 * (src/node/node.ts) gets everything it needs through seams.
 */
import { appendFileSync, mkdirSync, watch, type FSWatcher } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { createApp } from '../api/app.ts'
import { loadTargetsFile } from '../config/targets-file.ts'
import { parseDuration } from '../config/duration.ts'
import { startCluster, type ClusterParts } from './agent-cluster.ts'
import type { TargetsFile } from '../config/types.ts'
import { Registry } from '../metrics/registry.ts'
import { HeckNode } from '../node/node.ts'
import { realClock } from '../runtime/real-clock.ts'
import { createProber } from '../runtime/http-prober.ts'
import { isLevel, type Logger } from '../seams/log.ts'
import { createLogger } from '../runtime/logger.ts'
import { randomRng } from '../runtime/random-rng.ts'
import { HistoryStore } from '../history/history.ts'
import { WebhookDispatcher } from '../alerts/webhooks.ts'
import { fetchPoster } from '../runtime/http-post.ts'
import { startGcPacer } from '../runtime/gc.ts'
import { VERSION } from '../version.ts'
import { formatAddr, parseAddr, parseFlags } from './args.ts'
import { UsageError } from './errors.ts'


/** See NodeOptions.joinSettleMs. Longer merges more joins into one move; shorter hands a newcomer its share sooner. */
const JOIN_SETTLE_MS = 3000

export const AGENT_FLAGS = {
  name: { type: 'string' },
  bind: { type: 'string' },
  advertise: { type: 'string' },
  join: { type: 'string', multiple: true },
  'retry-join': { type: 'string', multiple: true },
  'join-timeout': { type: 'string' },
  'retry-interval': { type: 'string' },
  http: { type: 'string' },
  targets: { type: 'string' },
  'data-dir': { type: 'string' },
  profile: { type: 'string' },
  encrypt: { type: 'string', multiple: true },
  'api-token': { type: 'string' },
  tui: { type: 'boolean' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  'max-concurrent-checks': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

const AGENT_HELP = `Usage: heck agent [flags]

  --name NAME              unique node name (default: hostname, plus -PORT when the gossip port is not 7946)
  --bind HOST:PORT         gossip address, UDP + TCP (default 0.0.0.0:7946)
  --advertise HOST:PORT    address peers use (default: the bind address)
  --join HOST:PORT         seed peer; repeatable
  --retry-join HOST:PORT   seed peer, retried every --retry-interval (default 5s)
  --join-timeout DUR       give up joining after this long (default 10s)
  --http HOST:PORT         HTTP API (default 127.0.0.1:8080)
  --targets FILE           targets file, YAML or JSON; reloaded on change and on SIGHUP
  --data-dir DIR           keep history and the last known state here (SQLite)
  --profile lan|local|wan  SWIM and gossip timing preset (default lan)
  --encrypt KEY            base64 32-byte key (heck keygen); repeat to accept old keys while rotating
  --api-token TOKEN        bearer token for write endpoints (without it, writes are loopback-only)
  --max-concurrent-checks N  checks in flight at once (default 1024)
  --tui                    show the terminal UI in this process
  --log-level LEVEL        debug, info, warn, error (default info)
  --log-format FORMAT      text or json (default text)
`

export interface AgentConfig {
  name: string
  http: { host: string; port: number }
  targetsPath?: string
  dataDir?: string
  apiToken?: string
  maxConcurrentChecks: number
  logLevel: 'debug' | 'info' | 'warn' | 'error'
  logFormat: 'text' | 'json'
  tui: boolean
  bind: { host: string; port: number }
  advertise?: { host: string; port: number }
  join: string[]
  retryJoin: string[]
  profile: 'lan' | 'local' | 'wan'
  keys: string[]
  joinTimeoutMs: number
  retryIntervalMs: number
}

function durationFlag(flag: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt
  const d = parseDuration(v)
  if (typeof d !== 'number') throw new UsageError(`${flag}: ${d.error}`)
  return d
}

export function parseAgentArgs(args: string[]): AgentConfig | 'help' {
  const { values: v } = parseFlags('agent', args, AGENT_FLAGS)
  if (v.help) return 'help'
  const logLevel = v['log-level'] ?? 'info'
  if (!isLevel(logLevel)) throw new UsageError(`--log-level: expected debug, info, warn or error, got "${logLevel}"`)
  const logFormat = v['log-format'] ?? 'text'
  if (logFormat !== 'text' && logFormat !== 'json') throw new UsageError(`--log-format: expected text or json, got "${logFormat}"`)
  const profile = v.profile ?? 'lan'
  if (profile !== 'lan' && profile !== 'local' && profile !== 'wan') throw new UsageError(`--profile: expected lan, local or wan, got "${profile}"`)
  const maxChecks = Number(v['max-concurrent-checks'] ?? 1024)
  if (!Number.isInteger(maxChecks) || maxChecks < 1 || maxChecks > 100_000) {
    throw new UsageError(`--max-concurrent-checks: expected a whole number from 1 to 100000, got "${v['max-concurrent-checks']}"`)
  }
  const bind = parseAddr('--bind', v.bind ?? '0.0.0.0:7946', '0.0.0.0')
  const name = v.name ?? (bind.port === 7946 ? hostname() : `${hostname()}-${bind.port}`)
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(name)) throw new UsageError(`--name: 1-128 characters of A-Z a-z 0-9 . _ -, got "${name}"`)
  for (const j of [...(v.join ?? []), ...(v['retry-join'] ?? [])]) parseAddr('--join', j)
  for (const k of v.encrypt ?? []) {
    let raw: Buffer | undefined
    try {
      raw = Buffer.from(k, 'base64')
    } catch {}
    if (!raw || raw.length !== 32) throw new UsageError('--encrypt: expected a base64 32-byte key; make one with `heck keygen`')
  }
  return {
    name,
    http: parseAddr('--http', v.http ?? '127.0.0.1:8080'),
    targetsPath: v.targets,
    dataDir: v['data-dir'],
    apiToken: v['api-token'],
    maxConcurrentChecks: maxChecks,
    logLevel,
    logFormat,
    tui: v.tui ?? false,
    bind,
    advertise: v.advertise ? parseAddr('--advertise', v.advertise) : undefined,
    join: v.join ?? [],
    retryJoin: v['retry-join'] ?? [],
    profile,
    keys: v.encrypt ?? [],
    joinTimeoutMs: durationFlag('--join-timeout', v['join-timeout'], 10_000),
    retryIntervalMs: durationFlag('--retry-interval', v['retry-interval'], 5_000),
  }
}

/** Watches the targets file (through its directory, so editors that replace the file are seen too). */
function watchFile(path: string, onChange: () => void): FSWatcher | undefined {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return watch(dirname(path), (_event, file) => {
      if (file && file !== basename(path)) return
      clearTimeout(timer)
      timer = setTimeout(onChange, 200) // editors write in bursts; reload once they are done
    })
  } catch {
    return undefined
  }
}

export async function agentCommand(args: string[]): Promise<number> {
  const cfg = parseAgentArgs(args)
  if (cfg === 'help') {
    process.stdout.write(AGENT_HELP)
    return 0
  }
  // With --tui the screen belongs to the UI: logs go to a file instead of stderr.
  const logFile = cfg.tui ? join(cfg.dataDir ?? tmpdir(), `heck-agent-${cfg.name}.log`) : undefined
  if (logFile) mkdirSync(dirname(logFile), { recursive: true })
  const log = createLogger({
    level: cfg.logLevel,
    format: cfg.logFormat,
    node: cfg.name,
    ...(logFile ? { write: (line: string) => appendFileSync(logFile, line) } : {}),
  })
  let initial: TargetsFile = { targets: [], webhooks: [] }
  const targetsPath = cfg.targetsPath ? resolve(cfg.targetsPath) : undefined
  if (targetsPath) initial = await loadTargetsFile(targetsPath) // ConfigError → exit 2

  const metrics = new Registry()
  const reloadErrors = metrics.counter('heck_config_reload_errors_total', 'Targets file reloads refused because the file was invalid')
  const history = cfg.dataDir ? await HistoryStore.open(cfg.dataDir, { clock: realClock }) : undefined
  const alerts = new WebhookDispatcher({ clock: realClock, post: fetchPoster, log, metrics })
  alerts.setHooks(initial.webhooks)
  let parts: ClusterParts
  try {
    parts = await startCluster(cfg, { metrics, log, history })
  } catch (e) {
    history?.close()
    throw e
  }
  const node = new HeckNode({
    state: parts.store,
    cluster: parts.cluster,
    alerts,
    name: cfg.name,
    clock: realClock,
    rng: randomRng(),
    prober: createProber({ version: VERSION, nodeName: cfg.name }),
    metrics,
    log,
    history,
    maxConcurrentChecks: cfg.maxConcurrentChecks,
    // Newcomers take their share of targets after 3 s without another join (HeckNode's
    // joinSettleMs): a cold start of many agents moves each target once, not once per join.
    joinSettleMs: JOIN_SETTLE_MS,
    joining: cfg.join.length > 0 || cfg.retryJoin.length > 0,
  })

  let leaving: Promise<void> | undefined
  const done = Promise.withResolvers<number>()
  const shutdown = (why: string) => {
    leaving ??= (async () => {
      log('info', 'leaving', { why })
      const force = setTimeout(() => done.resolve(0), 4500) // SPEC: exit within 5 s whatever happens
      watcher?.close()
      stopGc()
      alerts.stop()
      // Leave first: peers record `left` and take over at once, and the state is saved
      // while the data dir is still open.
      await parts.leave(2500)
      await node.stop().catch((e) => log('warn', 'stop failed', { error: String(e) }))
      server.stop(true)
      clearTimeout(force)
      done.resolve(0)
    })()
  }

  const app = createApp({
    node: cfg.name,
    version: VERSION,
    apiToken: cfg.apiToken,
    metrics,
    clock: realClock,
    health: () => node.health(),
    target: (id) => node.target(id),
    putTarget: (t) => node.state.putTarget(t),
    deleteTarget: (id) => node.state.removeTarget(id),
    members: () => node.members(),
    owners: (id) => node.owners(id),
    ownershipMap: () => node.ownershipMap(),
    newestObservationAt: () => node.newestObservationAt(),
    subscribe: (fn) => node.bus.subscribe(fn),
    leave: () => shutdown('POST /v1/leave'),
  })
  let server: ReturnType<typeof Bun.serve>
  try {
    server = Bun.serve({ hostname: cfg.http.host, port: cfg.http.port, fetch: (req, srv) => app.fetch(req, { server: srv }), idleTimeout: 0 })
  } catch (e) {
    await parts.leave(0)
    await node.stop()
    throw new Error(`cannot listen on --http ${formatAddr(cfg.http.host, cfg.http.port)}: ${e instanceof Error ? e.message : String(e)}`)
  }
  // Collections follow the garbage, which the checks make: see GcPacerOptions.work.
  const checks = metrics.counter('heck_checks_total', 'Checks run, by result')
  const stopGc = startGcPacer({ work: () => checks.get({ result: 'ok' }) + checks.get({ result: 'fail' }) })
  log('info', 'agent started', {
    version: VERSION,
    http: `http://${formatAddr(cfg.http.host, server.port ?? cfg.http.port)}`,
    gossip: parts.membership.addr,
    targets: initial.targets.length,
  })

  const reload = async (why: string) => {
    if (!targetsPath) return
    try {
      const next = await loadTargetsFile(targetsPath)
      node.applyFile(next.targets)
      alerts.setHooks(next.webhooks)
      log('info', 'targets reloaded', { why, targets: next.targets.length })
    } catch (e) {
      reloadErrors.inc()
      log('error', 'targets file refused; keeping the previous configuration', { why, error: e instanceof Error ? e.message : String(e) })
    }
  }
  const watcher = targetsPath ? watchFile(targetsPath, () => void reload('file changed')) : undefined
  if (cfg.tui) {
    const { runTui } = await import('./tui-cmd.ts')
    const host = cfg.http.host === '0.0.0.0' ? '127.0.0.1' : cfg.http.host === '::' ? '::1' : cfg.http.host
    void runTui({ baseUrl: `http://${formatAddr(host, server.port ?? cfg.http.port)}`, title: `heck agent ${cfg.name}`, ignoreSighup: true }).then((code) => {
      if (code !== 0) process.stderr.write(`heck agent: the terminal UI could not start; logs are in ${logFile}\n`)
      shutdown('terminal UI closed')
    })
  }
  process.on('SIGHUP', () => void reload('SIGHUP'))
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
  // Targets are loaded once the API answers: /healthz says the agent runs, and a large file
  // (10,000 targets into the replicated registry) must not hold that up. With --retry-join
  // they also wait until this node has met a peer (see ClusterParts.joined).
  await Promise.race([parts.joined, done.promise])
  if (!leaving) node.applyFile(initial.targets)
  return done.promise
}

export type { Logger }
