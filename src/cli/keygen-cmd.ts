/** `heck keygen`: a fresh random 32-byte key for `--encrypt`, base64 (src/codec/keyring.ts). */
import { generateKey } from '../codec/keyring.ts'

export async function keygenCommand(args: string[]): Promise<number> {
  if (args.length > 0) {
    process.stderr.write('heck keygen: takes no arguments\n')
    return 2
  }
  console.log(generateKey())
  return 0
}
