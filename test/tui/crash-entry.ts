/**
 * Test helper: opens the TUI on BASE_URL, then crashes on purpose after
 * DELAY ms with an uncaught exception (`throw`) or an unhandled rejection
 * (`reject`), to check the terminal is restored on that path too.
 *
 *   bun test/tui/crash-entry.ts BASE_URL throw|reject DELAY_MS
 */
import { runTui } from '../../src/cli/tui-cmd.ts'

const [baseUrl = 'http://127.0.0.1:8080', how = 'throw', delay = '1500'] = process.argv.slice(2)
setTimeout(() => {
  if (how === 'reject') void Promise.reject(new Error('deliberate rejection for the crash test'))
  else throw new Error('deliberate crash for the crash test')
}, Number(delay))
const code = await runTui({ baseUrl })
process.exit(code)
