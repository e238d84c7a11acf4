/** `heck keygen`: a fresh random 32-byte key for `--encrypt`, base64. */
export async function keygenCommand(args: string[]): Promise<number> {
  if (args.length > 0) {
    process.stderr.write('heck keygen: takes no arguments\n')
    return 2
  }
  const key = crypto.getRandomValues(new Uint8Array(32))
  console.log(Buffer.from(key).toString('base64'))
  return 0
}
