/**
 * `heck agent`: runs one node. This is the edge where real things happen: flags,
 * the targets file and its reloads, the data dir, the gossip socket, signals and
 * the HTTP server. The agent itself is assembled by src/agent/assemble.ts from the
 * real clock, transport and prober handed in here.
 */
import { appendFileSync, mkdirSync, watch, type FSWatcher } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { assembleAgent } from '../agent/assemble.ts'
import { createApp } from '../api/app.ts'
import { loadTargetsFile } from '../config/targets-file.ts'
import type { TargetsFile } from '../config/types.ts'
import { transportLimits } from '../gossip/membership.ts'
import { HistoryStore } from '../history/history.ts'
import { StateFile } from '../history/state-file.ts'
import { SAVED_KEYS } from '../gossip/gossip-store.ts'
import { Registry } from '../metrics/registry.ts'
import { startGcPacer } from '../runtime/gc.ts'
import { registerProcessMetrics } from '../runtime/process-metrics.ts'
import { fetchPoster } from '../runtime/http-post.ts'
import { httpAskPeer } from '../runtime/peer-ask.ts'
import { httpForwardPush } from '../runtime/push-forward.ts'
import { httpProbePeer } from '../runtime/probe-ask.ts'
import { SecretValues } from '../runtime/secret-values.ts'
import { createProber } from '../runtime/http-prober.ts'
import { createLogger } from '../runtime/logger.ts'
import { randomRng } from '../runtime/random-rng.ts'
import { realClock } from '../runtime/real-clock.ts'
import { UdpTransport } from '../runtime/udp-transport.ts'
import { VERSION } from '../version.ts'
import { formatAddr } from './args.ts'
import { UsageError } from './errors.ts'
import { AGENT_HELP, parseAgentArgs } from './agent-flags.ts'
import { parseKeyring, readSecretFile } from './agent-settings.ts'

/**
 * How long (ms) `GET /v1/targets/:id` waits for each member's part of the story before
 * answering without it (partial). Longer tolerates slower members; shorter answers
 * sooner when one is down (SWIM has not declared it dead yet).
 */
const PEER_TIMEOUT_MS = 800

const DROPS_HELP = 'Membership packets and messages dropped, by reason.'

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
  if (cfg.printConfig) {
    process.stdout.write(Bun.YAML.stringify(cfg.printable, null, 2) + '\n')
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
  registerProcessMetrics(metrics, VERSION)
  const reloadErrors = metrics.counter('heck_config_reload_errors_total', 'Targets file or keyring file reloads refused because the file was invalid')
  const history = cfg.dataDir ? await HistoryStore.open(cfg.dataDir, { clock: realClock, log, metrics }) : undefined
  let durable: StateFile | undefined
  try {
    durable = cfg.dataDir ? StateFile.open(cfg.dataDir, { clock: realClock, log, metrics }) : undefined
  } catch (e) {
    history?.close()
    // A data dir that cannot hold state.sqlite (not writable, not a directory, a full disk)
    // is the operator's to fix: exit 2, which the systemd unit does not restart in a loop.
    throw new UsageError(e instanceof Error ? e.message : String(e))
  }
  // Data dirs from before state.sqlite kept the replica id and snapshot in history.sqlite.
  if (durable && history) durable.adopt(history.kv, SAVED_KEYS)
  const closeFiles = () => {
    durable?.close()
    history?.close()
  }
  const { maxFrameBytes, serveTimeoutMs } = transportLimits(cfg.agent.profile)
  // The etcd store needs no gossip socket.
  let transport: UdpTransport | undefined
  try {
    if (!cfg.agent.store) transport = await UdpTransport.start({
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
      // A push goes on under the write rule, so with this node's write token (or, without one, loopback).
      forwardPush: httpForwardPush({ token: cfg.agent.apiToken ?? cfg.agent.apiReadToken, timeoutMs: PEER_TIMEOUT_MS }),
      secrets: new SecretValues({ nodeName: cfg.name, clock: realClock }),
      probePeer: httpProbePeer({ token: cfg.agent.apiToken ?? cfg.agent.apiReadToken }),
      history,
      durable,
    },
  )
  agent.alerts.setHooks(initial.webhooks, initial.alertmanager)
  for (const w of cfg.warnings) log('warn', w)
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
    [agent.store.kind === 'etcd' ? 'store' : 'gossip']: agent.store.addr,
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
  const reloadKeys = () => {
    if (!cfg.keyringFile) return
    try {
      const { text, warning } = readSecretFile('--encrypt-file', cfg.keyringFile)
      if (warning) log('warn', warning)
      agent.rekey(parseKeyring('--encrypt-file', cfg.keyringFile, text))
    } catch (e) {
      reloadErrors.inc()
      log('error', 'keyring file refused; keeping the previous keys', { file: cfg.keyringFile, error: e instanceof Error ? e.message : String(e) })
    }
  }
  process.on('SIGHUP', () => {
    reloadKeys()
    void reload('SIGHUP')
  })
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
  // Targets are loaded once the API answers: /healthz says the agent runs, and a large file
  // (10,000 targets into the replicated registry) must not hold that up. With --retry-join
  // they also wait until this node has met a peer (see ClusterStore.joined).
  await Promise.race([agent.joined, done.promise])
  if (!leaving) agent.applyFile(initial)
  return done.promise
}
