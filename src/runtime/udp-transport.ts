/**
 * The real Transport: UDP datagrams through Bun.udpSocket and TCP streams through
 * Bun.listen / Bun.connect on the same port (as memberlist does). A stream carries
 * one request frame and one reply frame, each prefixed by a 4-byte big-endian
 * length, both size-limited and bounded by a timeout. Bytes pass through undecoded:
 * src/codec validates them.
 */
import { networkInterfaces } from 'node:os'
import type { Addr, Transport } from '../seams/transport.ts'

export interface UdpTransportOptions {
  /** "host:port" to bind; port 0 picks a free port for both UDP and TCP. */
  bind: string
  /** "host:port" peers should use; default the bound address (a private IPv4 if bound to 0.0.0.0). */
  advertise?: string
  /** Largest stream frame accepted (bytes). */
  maxFrameBytes: number
  /** Longest a served stream may stay open (ms). */
  serveTimeoutMs: number
  /**
   * Told of every inbound stream frame refused here, before the codec sees it:
   * `oversized` (its length prefix exceeds maxFrameBytes) or `timeout` (no whole frame
   * within serveTimeoutMs: a slow or stalled sender). The agent counts them as drops.
   */
  onFrameDropped?: (reason: 'oversized' | 'timeout') => void
}

interface UdpLike {
  readonly port: number
  send(data: Uint8Array, port: number, host: string): boolean
  close(): void
}

interface ListenerLike {
  stop(closeActiveConnections?: boolean): void
}

type PacketHandler = (from: Addr, data: Uint8Array) => void
type RequestHandler = (from: Addr, data: Uint8Array) => Promise<Uint8Array> | Uint8Array

/** Splits "host:port" or "[v6]:port". */
export function splitAddr(addr: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(addr) ?? /^([^:]+):(\d+)$/.exec(addr)
  if (!m) throw new Error(`bad address "${addr}": want host:port or [v6]:port`)
  const port = Number(m[2])
  if (port > 65535) throw new Error(`bad port in "${addr}"`)
  return { host: m[1] as string, port }
}

export function joinAddr(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

function privateIPv4(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  return '127.0.0.1'
}

function frame(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + data.length)
  new DataView(out.buffer).setUint32(0, data.length)
  out.set(data, 4)
  return out
}

/** Accumulates stream bytes into one length-prefixed frame. */
class FrameReader {
  private chunks: Uint8Array[] = []
  private size = 0
  constructor(private readonly max: number) {}

  /** The frame once complete; 'too-big' past the limit; undefined while incomplete. */
  push(chunk: Uint8Array): Uint8Array | 'too-big' | undefined {
    this.chunks.push(chunk)
    this.size += chunk.length
    if (this.size < 4) return undefined
    const all = this.chunks.length === 1 ? (this.chunks[0] as Uint8Array) : Buffer.concat(this.chunks)
    this.chunks = [all]
    const len = new DataView(all.buffer, all.byteOffset, all.byteLength).getUint32(0)
    if (len > this.max) return 'too-big'
    if (all.length < 4 + len) return undefined
    return all.slice(4, 4 + len)
  }
}

interface Conn {
  reader: FrameReader
  pending: Uint8Array | undefined
  done: boolean
  timer?: ReturnType<typeof setTimeout>
}

/** Writes all of `data`, finishing on drain; ends the socket when `end`. */
function writeAll(sock: { write(d: Uint8Array): number; end(): void }, conn: { pending: Uint8Array | undefined }, data: Uint8Array, end: boolean): void {
  const n = sock.write(data)
  conn.pending = n < data.length ? data.subarray(Math.max(0, n)) : undefined
  if (!conn.pending && end) sock.end()
}

export class UdpTransport implements Transport {
  private packetHandler: PacketHandler = () => {}
  private requestHandler: RequestHandler = () => {
    throw new Error('no handler')
  }
  private closed = false

  private constructor(
    readonly localAddr: Addr,
    readonly boundPort: number,
    private readonly udp: UdpLike,
    private readonly tcp: ListenerLike,
    private readonly opts: UdpTransportOptions,
  ) {}

  static async start(opts: UdpTransportOptions): Promise<UdpTransport> {
    const { host, port } = splitAddr(opts.bind)
    let lastErr: unknown
    for (let attempt = 0; attempt < 8; attempt++) {
      let self: UdpTransport | undefined
      const udp: UdpLike = await Bun.udpSocket({
        hostname: host,
        port,
        socket: {
          data(_s, buf, rport, raddr) {
            self?.onDatagram(joinAddr(raddr, rport), buf)
          },
          // ICMP port-unreachable from a dead peer surfaces here: for UDP, just a lost packet.
          error() {},
        },
      })
      let tcp: ListenerLike
      try {
        tcp = Bun.listen<Conn>({
          hostname: host,
          port: udp.port,
          socket: {
            open: (s) => {
              s.data = { reader: new FrameReader(opts.maxFrameBytes), pending: undefined, done: false }
              s.data.timer = setTimeout(() => {
                if (!s.data.done) opts.onFrameDropped?.('timeout')
                s.end()
              }, opts.serveTimeoutMs)
            },
            data: (s, chunk) => self?.onStreamData(s, chunk),
            drain: (s) => {
              if (s.data?.pending) writeAll(s, s.data, s.data.pending, true)
            },
            close: (s) => clearTimeout(s.data?.timer),
            error: () => {},
          },
        })
      } catch (e) {
        // Port 0 gave a UDP port whose TCP twin is taken: try another.
        udp.close()
        lastErr = e
        if (port !== 0) break
        continue
      }
      let adv = opts.advertise
      if (!adv) adv = joinAddr(host === '0.0.0.0' || host === '::' ? privateIPv4() : host, udp.port)
      self = new UdpTransport(adv, udp.port, udp, tcp, opts)
      return self
    }
    throw new Error(`cannot bind ${opts.bind} for UDP and TCP: ${String((lastErr as Error)?.message ?? lastErr)}`)
  }

  sendPacket(to: Addr, data: Uint8Array): void {
    if (this.closed) return
    let host: string
    let port: number
    try {
      ;({ host, port } = splitAddr(to))
    } catch {
      return // a bad address is a lost packet
    }
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        this.udp.send(data, port, host)
        return
      } catch {
        // An earlier datagram to a closed port left an ICMP error on this socket, and the
        // next send reports it (ECONNREFUSED) instead of sending: that error belongs to the
        // earlier packet, so this one is tried once more. A full buffer is a lost packet.
      }
    }
  }

  onPacket(handler: PacketHandler): void {
    this.packetHandler = handler
  }

  onRequest(handler: RequestHandler): void {
    this.requestHandler = handler
  }

  private onDatagram(from: Addr, buf: Uint8Array): void {
    if (this.closed) return
    this.packetHandler(from, new Uint8Array(buf))
  }

  private onStreamData(s: { data: Conn; write(d: Uint8Array): number; end(): void; remoteAddress: string }, chunk: Uint8Array): void {
    const conn = s.data
    if (conn.done) return
    const f = conn.reader.push(chunk)
    if (f === undefined) return
    conn.done = true
    if (f === 'too-big') {
      this.opts.onFrameDropped?.('oversized')
      return s.end()
    }
    Promise.resolve()
      .then(() => this.requestHandler(s.remoteAddress, f))
      .then(
        (reply) => writeAll(s, conn, frame(reply), true),
        () => s.end(),
      )
  }

  request(to: Addr, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new Error('transport closed'))
    const { host, port } = splitAddr(to)
    const max = this.opts.maxFrameBytes
    return new Promise((resolve, reject) => {
      let settled = false
      let sock: { end(): void } | undefined
      const finish = (err: Error | undefined, v?: Uint8Array) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        sock?.end()
        if (err) reject(err)
        else resolve(v as Uint8Array)
      }
      const timer = setTimeout(() => finish(new Error(`stream to ${to} timed out after ${timeoutMs} ms`)), timeoutMs)
      const conn = { reader: new FrameReader(max), pending: undefined as Uint8Array | undefined }
      Bun.connect({
        hostname: host,
        port,
        socket: {
          open: (s) => {
            sock = s
            if (settled) s.end()
            else writeAll(s, conn, frame(data), false)
          },
          data: (_s, chunk) => {
            const f = conn.reader.push(chunk)
            if (f === 'too-big') finish(new Error(`reply from ${to} exceeds ${max} bytes`))
            else if (f) finish(undefined, f)
          },
          drain: (s) => {
            if (conn.pending) writeAll(s, conn, conn.pending, false)
          },
          close: () => finish(new Error(`stream to ${to} closed without a reply`)),
          error: (_s, e) => finish(e),
          connectError: (_s, e) => finish(e),
        },
      }).catch((e: unknown) => finish(e instanceof Error ? e : new Error(String(e))))
    })
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.udp.close()
    this.tcp.stop(true)
  }
}
