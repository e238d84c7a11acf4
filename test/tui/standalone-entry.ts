/**
 * A tiny entry point that runs only `heck tui`, for building a TUI-only binary
 * in tests and benchmarks (test/tui/build-tui-binary.ts) independently of the
 * rest of the CLI. The shipped binary uses src/cli/main.ts; only tests use this.
 */
import { tuiCommand } from '../../src/cli/tui-cmd.ts'

const code = await tuiCommand(process.argv.slice(2))
process.exit(code)
