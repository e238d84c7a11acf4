/**
 * How to start another heck process of this same build: the compiled binary
 * re-executes itself; from source, Bun runs the entry script again. `heck demo`
 * and the tests use it to start agents and farms.
 */
export function selfCommand(): string[] {
  // In a compiled binary the entry lives in Bun's embedded file system.
  const compiled = Bun.main.startsWith('/$bunfs/') || Bun.main.startsWith('B:/~BUN/')
  return compiled ? [process.execPath] : [process.execPath, Bun.main]
}
