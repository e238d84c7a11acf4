/**
 * A loopback TCP port the OS says is free right now, for `heck demo`, the tests and
 * the benchmarks. Another process may take it before it is used: callers that can
 * bind port 0 themselves should.
 */
export function freePort(): number {
  // The kernel may hand the same ephemeral port out again once it is closed; a process
  // that asks for many (the demo, a 16-agent bench) never gets one twice.
  for (let tries = 0; ; tries++) {
    const s = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
    const port = s.port
    s.stop(true)
    if (!handedOut.has(port) || tries >= 20) {
      handedOut.add(port)
      return port
    }
  }
}

const handedOut = new Set<number>()
