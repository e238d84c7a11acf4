/**
 * The warning for literal secrets (SPEC.md "Secrets"): a target whose secret header
 * (or URL password) is written as a literal value is accepted, but that value is
 * replicated to every node and kept in their data dirs, so the agent says so once per
 * target, naming what is literal and how to keep it on the checking node instead. A
 * target is warned about again only when what it carries changes, so reloads of an
 * unchanged file stay quiet. The warning names fields, never values.
 */
import type { Target } from '../config/types.ts'
import { literalSecrets } from '../config/secrets.ts'
import type { Logger } from '../seams/log.ts'

export class LiteralSecretWarnings {
  /** Target id → what was last warned about (a target holds one entry at most). */
  private readonly warned = new Map<string, string>()

  constructor(private readonly log: Logger) {}

  /** Warns about each target that carries literal secrets, unless it did already for the same ones. */
  check(targets: Iterable<Target>, source: 'targets file' | 'API'): void {
    for (const t of targets) {
      const found = literalSecrets(t)
      const key = found.join(',')
      if (found.length === 0) {
        this.warned.delete(t.id)
        continue
      }
      if (this.warned.get(t.id) === key) continue
      this.warned.set(t.id, key)
      this.log('warn', `target "${t.id}": ${found.join(' and ')} ${found.length > 1 ? 'are literal values' : 'is a literal value'}, replicated to every node (encrypted only with --encrypt) and saved in their data dirs; write a header as {env: NAME} or {file: /path} so the value stays on the checking node${found.includes('url password') ? ', and move the URL password into an Authorization header' : ''}`, { target: t.id, source, literal: found })
    }
  }
}
