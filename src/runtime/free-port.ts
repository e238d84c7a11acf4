/**
 * A loopback TCP port the OS says is free right now, for `heck demo`, the tests and
 * the benchmarks. Another process may take it before it is used: callers that can
 * bind port 0 themselves should.
 */
export function freePort(): number {
  const s = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = s.port
  s.stop(true)
  return port
}
