/** The store contract (store-contract.ts) against the etcd store: two EtcdClusterStores on a real 3-member etcd. */
import { afterAll } from 'bun:test'
import { EtcdClusterStore } from '../../src/etcd/etcd-store.ts'
import { EtcdGateway } from '../../src/etcd/gateway.ts'
import { realClock } from '../../src/runtime/real-clock.ts'
import { silentLogger } from '../../src/seams/log.ts'
import { EtcdCluster, etcdBinary } from '../helpers/etcd-cluster.ts'
import { storeContract } from './store-contract.ts'

const bin = etcdBinary()
let etcd: EtcdCluster | undefined
afterAll(async () => etcd?.stop())

const etcdStore = (name: string, endpoints: string[]) =>
  new EtcdClusterStore({ name, endpoints, prefix: '/contract/', leaseTtlMs: 3000, meta: { http: `127.0.0.1:${name === 'ea' ? 1 : 2}` }, clock: realClock, log: silentLogger })

storeContract('etcd', () => {
  if (!bin) return undefined
  return (async () => {
    etcd = new EtcdCluster(bin, 3)
    await etcd.startAll()
    const a = etcdStore('ea', etcd.endpoints)
    const b = etcdStore('eb', etcd.endpoints)
    await a.start()
    await b.start()
    await a.joined
    await b.joined
    let reads = 0
    const internals = a as unknown as { lease?: string; watchAbort?: AbortController }
    return {
      a,
      b,
      close: async () => (await a.close(), await b.close()),
      // Revoked at etcd behind a's back: as if the lease had run out while a was cut off.
      lapse: async () => {
        if (internals.lease) await new EtcdGateway(etcd!.endpoints).revoke(internals.lease)
      },
      disconnect: () => {
        reads = a.fullReads
        internals.watchAbort?.abort()
      },
      resumed: () => a.fullReads === reads,
    }
  })()
})
