/**
 * Builds the single executable dist/heck with Bun.build's `compile` option (not
 * the CLI flag), so bundler plugins can take part: blessed needs one to survive
 * bundling (see scripts/blessed-plugin.ts and issue 7).
 *
 *   bun run scripts/build.ts [--outfile dist/heck] [--target bun-linux-x64]
 */
import { parseArgs } from 'node:util'
import type { BunPlugin } from 'bun'
import pkg from '../package.json'

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    outfile: { type: 'string', default: 'dist/heck' },
    target: { type: 'string' },
    sourcemap: { type: 'boolean', default: false },
  },
})

const root = new URL('..', import.meta.url).pathname
const plugins: BunPlugin[] = []
// The TUI's bundling plugin, when present: it makes blessed's dynamic requires and terminfo static.
if (await Bun.file(`${root}scripts/blessed-plugin.ts`).exists()) {
  const mod = (await import(`${root}scripts/blessed-plugin.ts`)) as { blessedPlugin?: BunPlugin }
  if (mod.blessedPlugin) plugins.push(mod.blessedPlugin)
}

const started = performance.now()
const result = await Bun.build({
  entrypoints: [`${root}src/cli/main.ts`],
  compile: {
    outfile: `${root}${values.outfile}`,
    ...(values.target ? { target: values.target as Bun.Build.CompileTarget } : {}),
    // The binary must behave the same wherever it is dropped: no stray .env or bunfig.toml changes it.
    autoloadDotenv: false,
    autoloadBunfig: false,
  },
  minify: true,
  sourcemap: values.sourcemap ? 'linked' : 'none',
  define: { 'process.env.HECK_BUILD_VERSION': JSON.stringify(pkg.version) },
  plugins,
})

if (!result.success) {
  for (const log of result.logs) console.error(log)
  console.error('build failed')
  process.exit(1)
}
const size = Bun.file(`${root}${values.outfile}`).size
console.log(`built ${values.outfile} (${(size / 1024 / 1024).toFixed(1)} MiB) in ${Math.round(performance.now() - started)} ms`)
