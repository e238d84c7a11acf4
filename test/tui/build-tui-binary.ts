/**
 * Builds a compiled binary with the blessed plugin, for the TUI's end-to-end
 * test and benchmark: the real CLI (src/cli/main.ts, run as `heck tui ...`) or
 * a TUI-only entry (test/tui/standalone-entry.ts, run as `heck-tui ...`).
 *
 *   bun test/tui/build-tui-binary.ts OUTFILE [cli|standalone]
 */
import { blessedPlugin } from '../../scripts/blessed-plugin.ts'

const root = new URL('../..', import.meta.url).pathname

export type Entry = 'cli' | 'standalone'

/** Builds OUTFILE; returns null on success or the build log on failure. */
export async function buildTuiBinary(outfile: string, entry: Entry = 'standalone'): Promise<string | null> {
  const result = await Bun.build({
    entrypoints: [entry === 'cli' ? `${root}src/cli/main.ts` : `${root}test/tui/standalone-entry.ts`],
    compile: { outfile, autoloadDotenv: false, autoloadBunfig: false },
    minify: true,
    plugins: [blessedPlugin],
  })
  return result.success ? null : result.logs.map(String).join('\n')
}

if (import.meta.main) {
  const [outfile, entry] = Bun.argv.slice(2)
  if (!outfile) {
    console.error('usage: bun test/tui/build-tui-binary.ts OUTFILE [cli|standalone]')
    process.exit(2)
  }
  const t0 = performance.now()
  const err = await buildTuiBinary(outfile, entry === 'cli' ? 'cli' : 'standalone')
  if (err) {
    console.error(err)
    process.exit(1)
  }
  console.log(`built ${outfile} (${(Bun.file(outfile).size / 1024 / 1024).toFixed(1)} MiB) in ${Math.round(performance.now() - t0)} ms`)
}
