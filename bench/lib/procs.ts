/**
 * Process hygiene for benchmarks: every child is tracked and killed when the
 * bench ends, fails, times out or gets SIGINT/SIGTERM. A bench calls
 * `benchDeadline(ms)` once, spawns through `spawnTracked`, and ends with `finish()`.
 */
import type { Subprocess } from 'bun'

const children = new Set<Subprocess>()

function killAll(signal: NodeJS.Signals | number = 'SIGKILL'): void {
  for (const c of children) {
    try {
      c.kill(signal)
    } catch {
      // already gone
    }
  }
}

export function spawnTracked(cmd: string[], opts: { env?: Record<string, string | undefined>; cwd?: string; stdout?: 'pipe' | 'ignore' | 'inherit'; stderr?: 'pipe' | 'ignore' | 'inherit' } = {}) {
  const p = Bun.spawn(cmd, {
    stdout: opts.stdout ?? 'pipe',
    stderr: opts.stderr ?? 'pipe',
    stdin: 'ignore',
    ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  })
  children.add(p)
  void p.exited.then(() => children.delete(p))
  return p
}

/** Stops one child: SIGTERM, then SIGKILL after graceMs. Resolves with its exit code. */
export async function stopChild(p: Subprocess, graceMs = 3000): Promise<number | null> {
  if (p.exitCode !== null || p.signalCode !== null) return p.exitCode
  p.kill('SIGTERM')
  const t = setTimeout(() => p.kill('SIGKILL'), graceMs)
  const code = await p.exited
  clearTimeout(t)
  return code
}

export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => stopChild(c)))
}

let installed = false
/** Kills every child and exits non-zero if the bench runs past `ms`, or on SIGINT/SIGTERM or an uncaught error. */
export function benchDeadline(ms: number): void {
  if (installed) return
  installed = true
  const die = (why: string, code: number) => {
    process.stderr.write(`bench: ${why}; killing ${children.size} child process(es)\n`)
    killAll()
    process.exit(code)
  }
  const t = setTimeout(() => die(`deadline of ${Math.round(ms / 1000)} s passed`, 3), ms)
  t.unref?.()
  process.on('SIGINT', () => die('SIGINT', 130))
  process.on('SIGTERM', () => die('SIGTERM', 143))
  process.on('uncaughtException', (e) => die(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`, 1))
  process.on('unhandledRejection', (e) => die(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`, 1))
  process.on('exit', () => killAll())
}

/** Runs the bench body, always stopping the children, then exits with its code. */
export async function finish(body: () => Promise<number>): Promise<never> {
  let code = 1
  try {
    code = await body()
  } catch (e) {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
  } finally {
    await stopAll()
  }
  process.exit(code)
}

/** Reads a child's stdout until a line matches, or throws after timeoutMs. The rest of the stream is drained in the background. */
export async function waitForLine(p: Subprocess<'ignore', 'pipe', 'pipe' | 'ignore' | 'inherit'>, re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const reader = p.stdout.getReader()
  const dec = new TextDecoder()
  let buf = ''
  const deadline = Date.now() + timeoutMs
  try {
    while (Date.now() < deadline) {
      const next = await Promise.race([reader.read(), Bun.sleep(Math.max(1, deadline - Date.now())).then(() => null)])
      if (next === null) break
      if (next.done) throw new Error(`process exited before printing ${re}; output: ${buf.trim()}`)
      buf += dec.decode(next.value)
      const m = re.exec(buf)
      if (m) return m
    }
  } finally {
    reader.releaseLock()
    void p.stdout.pipeTo(new WritableStream()).catch(() => {})
  }
  throw new Error(`no line matching ${re} within ${timeoutMs} ms; output: ${buf.trim()}`)
}
