#!/usr/bin/env bash
# Installs heck from this checkout on a machine that has only Node.js and npm.
# Idempotent: run it again and it only redoes what is missing or out of date.
#
#   ./install.sh                 # deps + build + install dist/heck into $PREFIX/bin
#   PREFIX=$HOME/.local ./install.sh
#   ./install.sh --no-install    # deps + build only (what the tests need)
#   sudo ./install.sh --systemd  # also a systemd service: user heck, /etc/heck, the unit
#   sudo ./install.sh --uninstall   # removes what --systemd added (data and edited config stay)
#   ./install.sh --systemd --dry-run   # prints what it would do, changes nothing
#   ./install.sh --systemd --root DIR  # installs under DIR (packaging, tests): no user, no systemctl
set -euo pipefail
cd "$(dirname "$0")"

say() { printf 'install.sh: %s\n' "$*"; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }

install_bin=1
systemd=0
uninstall=0
dry_run=0
ROOT=
while [ $# -gt 0 ]; do
  case "$1" in
    --no-install) install_bin=0 ;;
    --systemd) systemd=1 ;;
    --uninstall) uninstall=1 ;;
    --dry-run) dry_run=1 ;;
    --root) [ $# -ge 2 ] || die "--root needs a directory"; ROOT=$(cd "$2" 2>/dev/null && pwd) || die "--root $2: no such directory"; shift ;;
    --root=*) ROOT=$(cd "${1#--root=}" 2>/dev/null && pwd) || die "$1: no such directory" ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) die "unknown option '$1' (try --help)" ;;
  esac
  shift
done
[ "$systemd" = 1 ] && [ "$uninstall" = 1 ] && die "--systemd and --uninstall: give one"
[ "$systemd" = 1 ] && [ "$install_bin" = 0 ] && die "--systemd installs the binary; drop --no-install"
if { [ "$systemd" = 1 ] || [ "$uninstall" = 1 ]; } && [ -z "$ROOT" ] && [ "$dry_run" = 0 ] && [ "$(id -u)" != 0 ]; then
  die "$([ "$systemd" = 1 ] && echo --systemd || echo --uninstall) changes /etc and creates a system user: run it as root (sudo), or add --dry-run to see what it would do"
fi
# systemd service files live in their own script; this one only builds and installs the binary.
if [ "$uninstall" = 1 ]; then
  ROOT=$ROOT DRY_RUN=$dry_run PREFIX=${PREFIX:-/usr/local} exec bash scripts/systemd.sh uninstall
fi

command -v node >/dev/null || die "Node.js is required (node not found on PATH)"
command -v npm >/dev/null || die "npm is required (npm not found on PATH)"

# 1. Dependencies, Bun among them: the `bun` npm package ships the Bun binary, so
#    a machine without Bun gets it from the npm registry like any other package.
if [ ! -x node_modules/.bin/bun ] || [ ! -d node_modules/hono ] || [ package.json -nt node_modules/.package-lock.json ]; then
  say "installing dependencies with npm (Bun comes from the npm package 'bun')"
  # `npm install`, not `npm ci`: npm 11 writes lock files without cbor-extract's optional
  # per-platform packages and then refuses them in `npm ci`. The lock still pins versions.
  npm install --no-audit --no-fund --loglevel=error
else
  say "dependencies already installed"
fi

BUN=node_modules/.bin/bun
if ! "$BUN" --version >/dev/null 2>&1; then
  # npm may skip install scripts; the bun package's own installer puts the binary in place.
  say "finishing the Bun install (running the bun package's installer)"
  (cd node_modules/bun && node install.js) || die "could not install Bun from the npm package"
fi
say "using Bun $("$BUN" --version) from $BUN"

# 2. Build dist/heck when it is missing or older than any source file.
if [ ! -x dist/heck ] || [ -n "$(find src scripts package.json -newer dist/heck -print -quit 2>/dev/null)" ]; then
  say "building dist/heck"
  "$BUN" run scripts/build.ts
else
  say "dist/heck is up to date"
fi

# 3. Install the binary.
if [ "$install_bin" = 1 ]; then
  if [ -z "${PREFIX:-}" ]; then
    if [ "$systemd" = 1 ] || [ -w /usr/local/bin ] || [ "$(id -u)" = 0 ]; then PREFIX=/usr/local; else PREFIX="$HOME/.local"; fi
  fi
  bindir="$ROOT$PREFIX/bin"
  if cmp -s dist/heck "$bindir/heck"; then
    say "$bindir/heck is already this build"
  elif [ "$dry_run" = 1 ]; then
    say "would install $bindir/heck"
  else
    mkdir -p "$bindir"
    install -m 0755 dist/heck "$bindir/heck.new" && mv -f "$bindir/heck.new" "$bindir/heck"
    say "installed $bindir/heck ($("$bindir/heck" version))"
  fi
  if [ -z "$ROOT" ]; then
    case ":$PATH:" in
      *":$PREFIX/bin:"*) ;;
      *) say "note: $PREFIX/bin is not on your PATH; run it as $PREFIX/bin/heck or add it to PATH" ;;
    esac
  fi
fi
if [ "$systemd" = 1 ]; then
  ROOT=$ROOT DRY_RUN=$dry_run PREFIX=$PREFIX bash scripts/systemd.sh install
fi
say "done"
