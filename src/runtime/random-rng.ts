/** An Rng (src/seams/rng.ts) seeded from the OS, for real agents. */
import { SeededRng, type Rng } from '../seams/rng.ts'

/** A generator seeded from the OS; for real agents, where reproducibility is not wanted. */
export function randomRng(): Rng {
  const buf = new Uint32Array(1)
  crypto.getRandomValues(buf)
  return new SeededRng(buf[0] as number)
}
