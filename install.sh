#!/usr/bin/env bash
# Installs heck from this checkout on a machine that has only Node.js and npm.
# Idempotent: run it again and it only redoes what is missing or out of date.
#
#   ./install.sh                 # deps + build + install dist/heck into $PREFIX/bin
#   PREFIX=$HOME/.local ./install.sh
#   ./install.sh --no-install    # deps + build only (what the tests need)
set -euo pipefail
cd "$(dirname "$0")"

say() { printf 'install.sh: %s\n' "$*"; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }

install_bin=1
for arg in "$@"; do
  case "$arg" in
    --no-install) install_bin=0 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) die "unknown option '$arg' (try --help)" ;;
  esac
done

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
    if [ -w /usr/local/bin ] || [ "$(id -u)" = 0 ]; then PREFIX=/usr/local; else PREFIX="$HOME/.local"; fi
  fi
  mkdir -p "$PREFIX/bin"
  if cmp -s dist/heck "$PREFIX/bin/heck"; then
    say "$PREFIX/bin/heck is already this build"
  else
    install -m 0755 dist/heck "$PREFIX/bin/heck.new" && mv -f "$PREFIX/bin/heck.new" "$PREFIX/bin/heck"
    say "installed $PREFIX/bin/heck ($("$PREFIX/bin/heck" version))"
  fi
  case ":$PATH:" in
    *":$PREFIX/bin:"*) ;;
    *) say "note: $PREFIX/bin is not on your PATH; run it as $PREFIX/bin/heck or add it to PATH" ;;
  esac
fi
say "done"
