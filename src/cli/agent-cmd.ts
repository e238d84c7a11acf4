/**
 * `heck agent`: runs one node. This is the edge where real things happen: flags,
 * the targets file and its reloads, the data dir, the gossip socket, signals and
 * the HTTP server. The agent itself is assembled by src/agent/assemble.ts from the
 * real clock, transport and prober handed in here.
 */
import { appendFileSync, mkdirSync, watch, type FSWatcher } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { assembleAgent } from '../agent/assemble.ts'
import type { AgentConfig } from '../agent/config.ts'
import { createApp } from '../api/app.ts'
import { loadTargetsFile } from '../config/targets-file.ts'
import { parseDuration } from '../config/duration.ts'
import type { TargetsFile } from '../config/types.ts'
import { transportLimits } from '../gossip/membership.ts'
import { HistoryStore } from '../history/history.ts'
import { StateFile } from '../history/state-file.ts'
import { SAVED_KEYS } from '../gossip/gossip-store.ts'
import { Registry } from '../metrics/registry.ts'
import { startGcPacer } from '../runtime/gc.ts'
import { fetchPoster } from '../runtime/http-post.ts'
import { httpAskPeer } from '../runtime/peer-ask.ts'
import { createProber } from '../runtime/http-prober.ts'
import { createLogger } from '../runtime/logger.ts'
import { randomRng } from '../runtime/random-rng.ts'
import { realClock } from '../runtime/real-clock.ts'
import { UdpTransport } from '../runtime/udp-transport.ts'
import { isLevel, type Level } from '../seams/log.ts'
import { VERSION } from '../version.ts'
import { formatAddr, intFlag, parseAddr, parseFlags } from './args.ts'
import { DEFAULT_MAX_EVENT_STREAMS } from '../api/sse.ts'
import { MAX_SUBSCRIBERS } from '../node/event-bus.ts'
import { UsageError } from './errors.ts'

/**
 * How long (ms) `GET /v1/targets/:id` waits for each member's part of the story before
 * answering without it (partial). Longer tolerates slower members; shorter answers
 * sooner when one is down (SWIM has not declared it dead yet).
 */
const PEER_TIMEOUT_MS = 800

const DROPS_HELP = 'Membership packets and messages dropped, by reason.'

const isLoopbackHost = (h: string) => h === 'localhost' || h === '::1' || /^127\./.test(h)

export const AGENT_FLAGS = {
  name: { type: 'string' },
  bind: { type: 'string' },
  'cluster-name': { type: 'string' },
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
  'api-read-token': { type: 'string' },
  tui: { type: 'boolean' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  'max-concurrent-checks': { type: 'string' },
  'max-event-streams': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

const AGENT_HELP = `Usage: heck agent [flags]

  --name NAME              unique node name (default: hostname, plus -PORT when the gossip port is not 7946)
  --bind HOST:PORT         gossip address, UDP + TCP (default 0.0.0.0:7946 with --encrypt, else 127.0.0.1:7946)
  --cluster-name NAME      label every gossip packet carries and every node checks (default: none)
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
  --api-read-token TOKEN   bearer token every endpoint but /healthz then needs, /metrics too (the --api-token also works)
  --max-concurrent-checks N  checks in flight at once (default 1024)
  --max-event-streams N    open GET /v1/events streams; more get 503 + Retry-After (default 256)
  --tui                    show the terminal UI in this process
  --log-level LEVEL        debug, info, warn, error (default info)
  --log-format FORMAT      text or json (default text)
`

/** What the flags say: the agent's settings plus what only the command itself uses. */
export interface AgentFlags {
  name: string
  http: { host: string; port: number }
  bind: { host: string; port: number }
  advertise?: { host: string; port: number }
  targetsPath?: string
  dataDir?: string
  logLevel: Level
  logFormat: 'text' | 'json'
  tui: boolean
  /** See ApiDeps.maxEventStreams. */
  maxEventStreams: number
  agent: Omit<AgentConfig, 'httpAddr'>
}

function durationFlag(flag: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt
  const d = parseDuration(v)
  if (typeof d !== 'number') throw new UsageError(`${flag}: ${d.error}`)
  return d
}

/** A bearer token flag: visible ASCII without spaces (RFC 6750 sends it in a header), at most 4096 characters. */
function tokenFlag(flag: string, v: string | undefined): string | undefined {
  if (v === undefined) return undefined
  if (v === '') throw new UsageError(`${flag}: empty; give the token (e.g. the output of \`heck keygen\`)`)
  if (v.length > 4096) throw new UsageError(`${flag}: ${v.length} characters; a token has at most 4096`)
  if (!/^[\x21-\x7e]+$/.test(v)) throw new UsageError(`${flag}: must be printable ASCII without spaces (it is sent as "Authorization: Bearer TOKEN")`)
  return v
}

export function parseAgentArgs(args: string[]): AgentFlags | 'help' {
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
  const keys = v.encrypt ?? []
  // Unencrypted gossip answers anyone who reaches it, so without a key it stays on loopback
  // unless the operator binds it wider on purpose.
  const bind = parseAddr('--bind', v.bind ?? (keys.length > 0 ? '0.0.0.0:7946' : '127.0.0.1:7946'), '0.0.0.0')
  const clusterName = v['cluster-name'] ?? ''
  if (clusterName && !/^[A-Za-z0-9._-]{1,64}$/.test(clusterName)) throw new UsageError(`--cluster-name: 1-64 characters of A-Z a-z 0-9 . _ -, got "${clusterName}"`)
  const name = v.name ?? (bind.port === 7946 ? hostname() : `${hostname()}-${bind.port}`)
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(name)) throw new UsageError(`--name: 1-128 characters of A-Z a-z 0-9 . _ -, got "${name}"`)
  for (const j of [...(v.join ?? []), ...(v['retry-join'] ?? [])]) {
    const seed = parseAddr('--join', j)
    if (isLoopbackHost(bind.host) && !isLoopbackHost(seed.host)) {
      throw new UsageError(
        `--join ${j}: gossip is bound to ${formatAddr(bind.host, bind.port)}, which other hosts cannot reach; ` +
          `pass --bind 0.0.0.0:${bind.port} (or this host's address) and --encrypt KEY (heck keygen)`,
      )
    }
  }
  for (const k of keys) {
    let raw: Buffer | undefined
    try {
      raw = Buffer.from(k, 'base64')
    } catch {}
    if (!raw || raw.length !== 32) throw new UsageError('--encrypt: expected a base64 32-byte key; make one with `heck keygen`')
  }
  const http = parseAddr('--http', v.http ?? '127.0.0.1:8080')
  const apiToken = tokenFlag('--api-token', v['api-token'])
  const apiReadToken = tokenFlag('--api-read-token', v['api-read-token'])
  if (apiReadToken !== undefined && apiReadToken === apiToken) {
    throw new UsageError('--api-read-token: is the same as --api-token, so it would allow writes too; give readers a different token')
  }
  return {
    name,
    http,
    bind,
    advertise: v.advertise ? parseAddr('--advertise', v.advertise) : undefined,
    targetsPath: v.targets,
    dataDir: v['data-dir'],
    logLevel,
    logFormat,
    tui: v.tui ?? false,
    maxEventStreams: intFlag('--max-event-streams', v['max-event-streams'], DEFAULT_MAX_EVENT_STREAMS, 1, MAX_SUBSCRIBERS),
    agent: {
      name,
      profile,
      keys,
      clusterName,
      join: v.join ?? [],
      retryJoin: v['retry-join'] ?? [],
      joinTimeoutMs: durationFlag('--join-timeout', v['join-timeout'], 10_000),
      retryIntervalMs: durationFlag('--retry-interval', v['retry-interval'], 5_000),
      apiToken,
      apiReadToken,
      maxConcurrentChecks: maxChecks,
    },
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
  const history = cfg.dataDir ? await HistoryStore.open(cfg.dataDir, { clock: realClock, log, metrics }) : undefined
  let durable: StateFile | undefined
  try {
    durable = cfg.dataDir ? StateFile.open(cfg.dataDir, { clock: realClock, log, metrics }) : undefined
  } catch (e) {
    history?.close()
    throw e
  }
  // Data dirs from before state.sqlite kept the replica id and snapshot in history.sqlite.
  if (durable && history) durable.adopt(history.kv, SAVED_KEYS)
  const closeFiles = () => {
    durable?.close()
    history?.close()
  }
  const { maxFrameBytes, serveTimeoutMs } = transportLimits(cfg.agent.profile)
  let transport: UdpTransport
  try {
    transport = await UdpTransport.start({
      bind: formatAddr(cfg.bind.host, cfg.bind.port),
      advertise: cfg.advertise ? formatAddr(cfg.advertise.host, cfg.advertise.port) : undefined,
      maxFrameBytes,
      serveTimeoutMs,
      // Frames refused by the transport never reach the codec, which counts the rest.
      onFrameDropped: (reason) => metrics.counter('heck_packets_dropped_total', DROPS_HELP).inc({ reason: `frame-${reason}` }),
    })
  } catch (e) {
    closeFiles()
    throw e
  }
  const httpHost = cfg.http.host === '0.0.0.0' || cfg.http.host === '::' ? (cfg.advertise?.host ?? '127.0.0.1') : cfg.http.host
  const agent = assembleAgent(
    { ...cfg.agent, httpAddr: formatAddr(httpHost, cfg.http.port) },
    {
      clock: realClock,
      rng: randomRng(),
      transport,
      prober: createProber({ version: VERSION, nodeName: cfg.name }),
      log,
      metrics,
      post: fetchPoster,
      // Peers are asked with this node's own token: a cluster shares its tokens.
      askPeer: httpAskPeer({ token: cfg.agent.apiReadToken ?? cfg.agent.apiToken, timeoutMs: PEER_TIMEOUT_MS }),
      history,
      durable,
    },
  )
  agent.alerts.setHooks(initial.webhooks)
  try {
    await agent.start() // a --join no seed answered → exit 1, with the reason
  } catch (e) {
    await agent.stop()
    durable?.close()
    throw e
  }

  let leaving: Promise<void> | undefined
  const done = Promise.withResolvers<number>()
  const shutdown = (why: string) => {
    leaving ??= (async () => {
      log('info', 'leaving', { why })
      const force = setTimeout(() => done.resolve(0), 4500) // SPEC: exit within 5 s whatever happens
      watcher?.close()
      stopGc()
      await agent.leave(2500)
      durable?.close()
      server.stop(true)
      clearTimeout(force)
      done.resolve(0)
    })()
  }

  const app = createApp({ ...agent.api(() => shutdown('POST /v1/leave')), maxEventStreams: cfg.maxEventStreams })
  let server: ReturnType<typeof Bun.serve>
  try {
    server = Bun.serve({ hostname: cfg.http.host, port: cfg.http.port, fetch: (req, srv) => app.fetch(req, { server: srv }), idleTimeout: 0 })
  } catch (e) {
    await agent.leave(0)
    durable?.close()
    throw new Error(`cannot listen on --http ${formatAddr(cfg.http.host, cfg.http.port)}: ${e instanceof Error ? e.message : String(e)}`)
  }
  // Collections follow the garbage, which the checks make: see GcPacerOptions.work.
  const checks = metrics.counter('heck_checks_total', 'Checks run, by result')
  const stopGc = startGcPacer({ work: () => checks.get({ result: 'ok' }) + checks.get({ result: 'fail' }) })
  log('info', 'agent started', {
    version: VERSION,
    http: `http://${formatAddr(cfg.http.host, server.port ?? cfg.http.port)}`,
    gossip: agent.store.addr,
    targets: initial.targets.length,
  })

  const reload = async (why: string) => {
    if (!targetsPath) return
    try {
      const next = await loadTargetsFile(targetsPath)
      agent.applyFile(next)
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
    const token = cfg.agent.apiReadToken ?? cfg.agent.apiToken
    void runTui({ baseUrl: `http://${formatAddr(host, server.port ?? cfg.http.port)}`, title: `heck agent ${cfg.name}`, ignoreSighup: true, ...(token ? { token } : {}) }).then((code) => {
      if (code !== 0) process.stderr.write(`heck agent: the terminal UI could not start; logs are in ${logFile}\n`)
      shutdown('terminal UI closed')
    })
  }
  process.on('SIGHUP', () => void reload('SIGHUP'))
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
  // Targets are loaded once the API answers: /healthz says the agent runs, and a large file
  // (10,000 targets into the replicated registry) must not hold that up. With --retry-join
  // they also wait until this node has met a peer (see ClusterStore.joined).
  await Promise.race([agent.joined, done.promise])
  if (!leaving) agent.applyFile(initial)
  return done.promise
}
