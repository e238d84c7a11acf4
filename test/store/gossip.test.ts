/** The store contract (store-contract.ts) against the gossip store: two GossipClusterStores on loopback UDP. */
import { GossipClusterStore } from '../../src/gossip/gossip-store.ts'
import { transportLimits } from '../../src/gossip/membership.ts'
import { Registry } from '../../src/metrics/registry.ts'
import { freePort } from '../../src/runtime/free-port.ts'
import { randomRng } from '../../src/runtime/random-rng.ts'
import { realClock } from '../../src/runtime/real-clock.ts'
import { UdpTransport } from '../../src/runtime/udp-transport.ts'
import { silentLogger } from '../../src/seams/log.ts'
import { storeContract } from './store-contract.ts'

async function gossipStore(name: string, seed?: string): Promise<GossipClusterStore> {
  const transport = await UdpTransport.start({ bind: `127.0.0.1:${freePort()}`, ...transportLimits('local') })
  return new GossipClusterStore(
    { name, profile: 'local', keys: [], join: seed ? [seed] : [], retryJoin: [], joinTimeoutMs: 5000, retryIntervalMs: 1000, meta: { http: '127.0.0.1:1' } },
    { clock: realClock, rng: randomRng(), transport, log: silentLogger, metrics: new Registry() },
  )
}

storeContract('gossip', async () => {
  const a = await gossipStore('ga')
  await a.start()
  const b = await gossipStore('gb', a.addr)
  await b.start()
  return { a, b, close: async () => (await a.close(), await b.close()) }
})
