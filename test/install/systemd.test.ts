/**
 * `install.sh --systemd` and `--uninstall` (scripts/systemd.sh), run for real under a
 * scratch root (`--root DIR`), since a test must not add users or units to the host:
 * what it writes, that a second run changes nothing, that an operator's edits survive
 * both a re-install and the uninstall, the unit passing `systemd-analyze verify`, and
 * the dry runs changing nothing.
 */
import { afterAll, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ensureBinary, ROOT } from '../helpers/binary.ts'

const scratch = mkdtempSync(join(tmpdir(), 'heck-systemd-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

function sh(args: string[], env: Record<string, string> = {}): { code: number; out: string } {
  const p = Bun.spawnSync(['bash', join(ROOT, 'install.sh'), ...args], { cwd: ROOT, env: { ...process.env, ...env } })
  return { code: p.exitCode ?? -1, out: p.stdout.toString() + p.stderr.toString() }
}

function files(dir: string): string[] {
  const out: string[] = []
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else out.push(p.slice(dir.length))
    }
  }
  walk(dir)
  return out.sort()
}

test('--systemd under a scratch root: unit, config and binary; idempotent; verified; uninstall keeps edits and data', async () => {
  await ensureBinary()
  const root = join(scratch, 'root')
  Bun.spawnSync(['mkdir', '-p', root])

  const dry = sh(['--systemd', '--root', root, '--dry-run'])
  expect(dry.code).toBe(0)
  expect(dry.out).toContain(`would write ${root}/etc/systemd/system/heck.service`)
  expect(files(root)).toEqual([])

  const first = sh(['--systemd', '--root', root])
  expect(first.code).toBe(0)
  expect(files(root)).toEqual(['/etc/heck/.installed', '/etc/heck/agent.yaml', '/etc/heck/targets.yaml', '/etc/systemd/system/heck.service', '/usr/local/bin/heck'])
  expect(statSync(join(root, 'etc/heck/agent.yaml')).mode & 0o777).toBe(0o640)
  expect(statSync(join(root, 'etc/heck')).mode & 0o777).toBe(0o750)
  const unit = readFileSync(join(root, 'etc/systemd/system/heck.service'), 'utf8')
  for (const line of ['User=heck', 'StateDirectory=heck', 'ProtectSystem=strict', 'NoNewPrivileges=yes', 'AmbientCapabilities=', 'CapabilityBoundingSet=', 'ExecReload=/bin/kill -HUP $MAINPID', 'ExecStart=/usr/local/bin/heck agent --config /etc/heck/agent.yaml']) {
    expect(unit.split('\n')).toContain(line)
  }

  // The config it wrote is one the agent takes (paths resolved from /etc/heck).
  const cfg = Bun.spawnSync([join(root, 'usr/local/bin/heck'), 'agent', '--config', join(root, 'etc/heck/agent.yaml'), '--print-config'])
  expect(cfg.exitCode).toBe(0)
  expect(cfg.stdout.toString()).toContain(`targets: ${root}/etc/heck/targets.yaml`)
  expect(cfg.stdout.toString()).toContain('data_dir: /var/lib/heck')

  // systemd's own check, with ExecStart pointed at the installed binary.
  if (Bun.which('systemd-analyze')) {
    const copy = join(scratch, 'heck.service')
    writeFileSync(copy, unit.replace('ExecStart=/usr/local/bin/heck', `ExecStart=${root}/usr/local/bin/heck`))
    const v = Bun.spawnSync(['systemd-analyze', 'verify', copy])
    expect(v.stderr.toString()).toBe('')
    expect(v.exitCode).toBe(0)
  } else {
    console.warn('SKIP systemd-analyze verify: systemd-analyze not found (Debian package systemd)')
  }

  // Again: nothing changes, and an edited config is kept.
  appendFileSync(join(root, 'etc/heck/agent.yaml'), 'log_level: debug\n')
  const before = files(root).map((f) => [f, statSync(join(root, f)).mtimeMs])
  const second = sh(['--systemd', '--root', root])
  expect(second.code).toBe(0)
  expect(second.out).toContain('agent.yaml exists: kept as it is')
  expect(second.out).toContain('heck.service is up to date')
  expect(files(root).map((f) => [f, statSync(join(root, f)).mtimeMs])).toEqual(before)

  // Uninstall: a dry run first, then for real; the edited config stays, and a second run has nothing to do.
  const dryUn = sh(['--uninstall', '--root', root, '--dry-run'])
  expect(dryUn.out).toContain(`would remove ${root}/etc/systemd/system/heck.service`)
  expect(files(root).length).toBe(5)
  const un = sh(['--uninstall', '--root', root])
  expect(un.code).toBe(0)
  expect(un.out).toContain('kept')
  expect(files(root)).toEqual(['/etc/heck/agent.yaml'])
  expect(un.out).toContain('was not touched; delete it with')
  const again = sh(['--uninstall', '--root', root])
  expect(again.code).toBe(0)
  expect(again.out).toContain('nothing to remove')
}, 120_000)

test('--systemd on the real system: refused without root, planned by --dry-run; bad option combinations say why', () => {
  const plan = sh(['--systemd', '--dry-run'])
  expect(plan.code).toBe(0)
  expect(plan.out).toMatch(/would (write|run).*heck\.service|heck\.service is up to date/)
  if (process.getuid?.() === 0 && !Bun.spawnSync(['id', 'heck']).success) expect(plan.out).toContain('would run: useradd --system --user-group')
  if (process.getuid?.() !== 0) expect(sh(['--systemd']).out).toMatch(/run it as root \(sudo\), or add --dry-run/)
  expect(sh(['--systemd', '--uninstall']).out).toContain('--systemd and --uninstall: give one')
  expect(sh(['--systemd', '--no-install']).out).toContain('drop --no-install')
  expect(sh(['--root', join(scratch, 'nope'), '--systemd']).out).toContain('no such directory')
})
