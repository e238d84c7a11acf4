/**
 * Test helper: opens the TUI on a fake API (test/tui/fake-api.ts) with demo
 * controls wired to it: flip uses the fake's POST /fake/flip, kill and
 * restart only print what they were asked (to stderr, which the TUI shows in
 * its event log).
 *
 *   bun test/tui/demo-entry.ts BASE_URL
 */
import { runTui } from '../../src/cli/tui-cmd.ts'

const [baseUrl = 'http://127.0.0.1:8080'] = process.argv.slice(2)
const code = await runTui({
  baseUrl,
  title: 'heck demo',
  demo: {
    killNode: (name) => void process.stderr.write(`fake demo: kill ${name}\n`),
    restartNode: (name) => void process.stderr.write(`fake demo: restart ${name}\n`),
    async flipTarget(id) {
      const r = await fetch(`${baseUrl}/fake/flip?id=${encodeURIComponent(id)}`, { method: 'POST' })
      if (!r.ok) throw new Error(`flip answered ${r.status}`)
    },
  },
})
process.exit(code)
