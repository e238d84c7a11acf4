/**
 * Typed errors for ownership input. Bad input (no members, a duplicate or empty
 * member name, a replica count below 1) is refused loudly: a silently wrong owner
 * list would mean a target checked by nobody, or by everybody.
 */

export type OwnershipErrorCode = 'no-members' | 'duplicate-member' | 'bad-member' | 'bad-replicas' | 'bad-option'

export class OwnershipError extends Error {
  override name = 'OwnershipError'
  constructor(
    readonly code: OwnershipErrorCode,
    message: string,
  ) {
    super(message)
  }
}

/** Throws unless k is an integer ≥ 1 (the number of owners asked for). */
export function checkReplicas(k: number): void {
  if (!Number.isInteger(k) || k < 1) {
    throw new OwnershipError('bad-replicas', `replica count must be an integer ≥ 1, got ${String(k)}`)
  }
}

/** Throws on an empty list, an empty or non-string name, or a name given twice. */
export function checkMembers(members: readonly string[]): void {
  if (members.length === 0) throw new OwnershipError('no-members', 'member list is empty: give at least one member name')
  const seen = new Set<string>()
  for (const m of members) {
    if (typeof m !== 'string' || m.length === 0) {
      throw new OwnershipError('bad-member', `member names must be non-empty strings, got ${JSON.stringify(m)}`)
    }
    if (seen.has(m)) throw new OwnershipError('duplicate-member', `member "${m}" is listed twice: member names must be unique`)
    seen.add(m)
  }
}
