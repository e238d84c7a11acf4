/**
 * The compiled binary for end-to-end tests: dist/heck, rebuilt first when it is
 * missing or older than any source file, so a test never runs a stale build.
 */
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

export const ROOT = join(import.meta.dir, '..', '..')
export const BINARY = join(ROOT, 'dist', 'heck')

function newestMtime(dir: string): number {
  let newest = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs)
  }
  return newest
}

let built: Promise<string> | undefined

export function ensureBinary(): Promise<string> {
  built ??= (async () => {
    let binTime = 0
    try {
      binTime = statSync(BINARY).mtimeMs
    } catch {}
    const srcTime = Math.max(newestMtime(join(ROOT, 'src')), newestMtime(join(ROOT, 'scripts')))
    if (binTime < srcTime) {
      const p = Bun.spawn([process.execPath, 'run', join(ROOT, 'scripts', 'build.ts')], { cwd: ROOT, stdout: 'pipe', stderr: 'pipe' })
      if ((await p.exited) !== 0) throw new Error(`build failed: ${await new Response(p.stderr).text()}`)
    }
    return BINARY
  })()
  return built
}

export { freePort } from '../../src/runtime/free-port.ts'

/** Polls `fn` until it returns a truthy value or the time runs out. */
export async function eventually<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await fn()
      if (v) return v
    } catch (e) {
      last = e
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`)
    await Bun.sleep(50)
  }
}
