/**
 * The Transport seam's contract (src/seams/transport.ts) as one suite, written once
 * and run against every implementation (docs/ARCHITECTURE.md "Seams": one suite, every implementation), as memberlist runs
 * its transport tests against both NetTransport and MockNetwork: datagrams arrive
 * whole and say who sent them, a request gets its own reply, failures reject
 * (timeout, nobody listening, a failing handler, a frame over the cap) instead of
 * hanging, and a closed transport neither hears nor speaks.
 *
 * Time is the harness's: the simulated one advances its clock, the real one waits
 * (bounded) for sockets. Nothing here sleeps to prove an absence: a packet that
 * must not arrive is followed by a marker that must, on the same path.
 */
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import type { Addr, Transport } from '../../src/seams/transport.ts'

export interface TransportHarness {
  /** Largest stream frame the transports accept, in bytes. */
  readonly maxFrameBytes: number
  /** A fresh transport at an address of its own. */
  open(): Promise<Transport>
  /** An address where nothing listens. */
  deadAddr(): Addr
  /** Lets time pass until `p` settles and returns its outcome; fails once `withinMs` pass first. */
  settle<T>(p: Promise<T>, withinMs?: number): Promise<T>
  /** Now, in ms (simulated or real monotonic). */
  now(): number
  /** Closes whatever `open` made. */
  cleanup(): Promise<void>
}

const bytes = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array) => new TextDecoder().decode(b)

/** Packets a transport has received, and a way to wait for the next ones. */
class Inbox {
  readonly got: Array<{ from: Addr; data: string }> = []
  private waiters: Array<() => void> = []

  constructor(t: Transport) {
    t.onPacket((from, data) => {
      this.got.push({ from, data: text(data) })
      for (const w of this.waiters.splice(0)) w()
    })
  }

  /** Resolves once `n` packets in all have arrived. */
  count(n: number): Promise<void> {
    if (this.got.length >= n) return Promise.resolve()
    return new Promise((resolve) => {
      const check = () => (this.got.length >= n ? resolve() : this.waiters.push(check))
      this.waiters.push(check)
    })
  }
}

/** Settles to the rejection's message, or fails if `p` resolves. */
async function rejection(h: TransportHarness, p: Promise<unknown>, withinMs?: number): Promise<string> {
  const outcome = await h.settle(
    p.then(
      () => undefined,
      (e: unknown) => String((e as Error)?.message ?? e),
    ),
    withinMs,
  )
  if (outcome === undefined) throw new Error('expected a rejection, got a reply')
  return outcome
}

export function transportContract(name: string, makeHarness: () => TransportHarness): void {
  describe(`Transport contract: ${name}`, () => {
    let h: TransportHarness
    beforeEach(() => {
      h = makeHarness()
    })
    afterEach(() => h.cleanup())

    test('a datagram arrives whole, from the sender’s address', async () => {
      const [a, b] = [await h.open(), await h.open()]
      const inbox = new Inbox(b)
      for (const m of ['one', 'two', 'three']) a.sendPacket(b.localAddr, bytes(m))
      await h.settle(inbox.count(3))
      expect(inbox.got.map((x) => x.data).sort()).toEqual(['one', 'three', 'two'])
      expect(new Set(inbox.got.map((x) => x.from))).toEqual(new Set([a.localAddr]))
    })

    test('sendPacket never throws: a bad address or nobody there is a lost packet', async () => {
      const a = await h.open()
      expect(() => a.sendPacket('not-an-address', bytes('x'))).not.toThrow()
      expect(() => a.sendPacket(h.deadAddr(), bytes('x'))).not.toThrow()
    })

    test('a request gets the handler’s reply, sync or async', async () => {
      const [a, b, c] = [await h.open(), await h.open(), await h.open()]
      const seen: string[] = []
      b.onRequest((_from, data) => {
        seen.push(text(data))
        return bytes(`b got ${text(data)}`)
      })
      c.onRequest(async (_from, data) => bytes(`c got ${text(data)}`))
      expect(text(await h.settle(a.request(b.localAddr, bytes('hello'), 2000)))).toBe('b got hello')
      expect(text(await h.settle(a.request(c.localAddr, bytes('there'), 2000)))).toBe('c got there')
      expect(seen).toEqual(['hello'])
    })

    test('each requester gets its own reply, whatever order the handler answers in', async () => {
      const [a, b, c] = [await h.open(), await h.open(), await h.open()]
      // The server holds every request until all three are in, then answers the last first.
      const held: Array<{ data: string; answer: (r: Uint8Array) => void }> = []
      b.onRequest(
        (_from, data) =>
          new Promise<Uint8Array>((answer) => {
            held.push({ data: text(data), answer })
            if (held.length === 3) for (const x of [...held].reverse()) x.answer(bytes(`re: ${x.data}`))
          }),
      )
      const replies = Promise.all([a.request(b.localAddr, bytes('a1'), 2000), c.request(b.localAddr, bytes('c1'), 2000), a.request(b.localAddr, bytes('a2'), 2000)])
      expect((await h.settle(replies)).map(text)).toEqual(['re: a1', 're: c1', 're: a2'])
    })

    test('a request nobody answers rejects after its timeout', async () => {
      const [a, b] = [await h.open(), await h.open()]
      let arrived = false
      b.onRequest(() => {
        arrived = true
        return new Promise<Uint8Array>(() => {})
      })
      const t0 = h.now()
      expect(await rejection(h, a.request(b.localAddr, bytes('anyone?'), 150))).toMatch(/timed out/)
      expect(arrived).toBe(true) // the timeout, not a failed connect
      expect(h.now() - t0).toBeGreaterThanOrEqual(140)
    })

    test('a request to an address where nothing listens rejects, without waiting out its timeout', async () => {
      const a = await h.open()
      const t0 = h.now()
      await rejection(h, a.request(h.deadAddr(), bytes('hello?'), 10_000), 5000)
      expect(h.now() - t0).toBeLessThan(5000)
    })

    test('a failing handler rejects the request instead of leaving it hanging', async () => {
      const [a, b] = [await h.open(), await h.open()]
      b.onRequest(() => {
        throw new Error('handler broke')
      })
      await rejection(h, a.request(b.localAddr, bytes('x'), 10_000), 5000)
    })

    test('a closed transport hears nothing: its datagrams are lost and requests to it reject', async () => {
      const [a, b, c] = [await h.open(), await h.open(), await h.open()]
      const inB = new Inbox(b)
      const inC = new Inbox(c)
      b.onRequest(() => bytes('still here'))
      await b.close()
      a.sendPacket(b.localAddr, bytes('too late'))
      // On loopback a datagram to a closed port leaves an ICMP error on its sender's socket,
      // which the socket reports on its next send: that send must still go out.
      a.sendPacket(c.localAddr, bytes('marker'))
      await h.settle(inC.count(1))
      expect(inB.got).toEqual([])
      await rejection(h, a.request(b.localAddr, bytes('x'), 10_000), 5000)
    })

    test('a closed transport says nothing: its datagrams go nowhere and its requests reject', async () => {
      const [a, b, c] = [await h.open(), await h.open(), await h.open()]
      const inB = new Inbox(b)
      b.onRequest(() => bytes('hi'))
      await a.close()
      a.sendPacket(b.localAddr, bytes('from the grave'))
      c.sendPacket(b.localAddr, bytes('marker'))
      await h.settle(inB.count(1))
      expect(inB.got.map((x) => x.data)).toEqual(['marker'])
      await rejection(h, a.request(b.localAddr, bytes('x'), 10_000), 5000)
    })

    test('frames up to maxFrameBytes pass; a bigger request or reply is refused', async () => {
      const [a, b] = [await h.open(), await h.open()]
      const max = h.maxFrameBytes
      let calls = 0
      b.onRequest((_from, data) => {
        calls++
        return data[0] === 1 ? new Uint8Array(max + 1) : new Uint8Array(max)
      })
      expect((await h.settle(a.request(b.localAddr, new Uint8Array(max), 2000))).length).toBe(max)
      expect(calls).toBe(1)
      await rejection(h, a.request(b.localAddr, new Uint8Array(max + 1), 10_000), 5000)
      expect(calls).toBe(1) // the oversized request never reached the handler
      const big = new Uint8Array(8)
      big[0] = 1
      await rejection(h, a.request(b.localAddr, big, 10_000), 5000)
      expect(calls).toBe(2)
    })
  })
}
