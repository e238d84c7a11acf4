#!/usr/bin/env bash
# heck as a systemd service: what `install.sh --systemd` adds and `install.sh
# --uninstall` removes. Run through install.sh, which builds and installs the binary
# first. Environment: PREFIX (where the binary is, default /usr/local), ROOT (install
# under this directory instead of /: packaging and tests; no user is created and
# systemctl is not called), DRY_RUN=1 (print each step, change nothing).
#
# What it adds, each only if absent or different (so it is idempotent):
#   - a system user and group `heck` (useradd --system), the service runs as it;
#   - /etc/heck (0750 root:heck) with agent.yaml and targets.yaml (0640), never
#     overwriting files that exist: they are the operator's;
#   - /etc/systemd/system/heck.service, sandboxed (see UNIT below), with
#     ExecReload sending SIGHUP (targets file and keyring reloaded);
#   - /etc/heck/.installed, the list of what it added, which --uninstall follows.
# --uninstall stops and disables the service, removes the unit, the binary and the
# user it added, and the config files it wrote unless they were edited since (those
# stay, and it says so). The data in /var/lib/heck is never deleted: it says how.
set -euo pipefail

ACTION=${1:?usage: systemd.sh install|uninstall}
ROOT=${ROOT:-}
PREFIX=${PREFIX:-/usr/local}
DRY_RUN=${DRY_RUN:-0}
ETC="$ROOT/etc/heck"
UNIT="$ROOT/etc/systemd/system/heck.service"
MANIFEST="$ETC/.installed"
BIN="$PREFIX/bin/heck"

say() { printf 'install.sh: %s\n' "$*"; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }
# Runs a step, or prints it with --dry-run.
run() {
  if [ "$DRY_RUN" = 1 ]; then printf 'install.sh: would run: %s\n' "$*"; else "$@"; fi
}
# Removes a file, saying so (or what it would do, with --dry-run).
remove() {
  if [ "$DRY_RUN" = 1 ]; then say "would remove $1"; else rm -f "$1"; say "removed $1"; fi
}
systemd_running() { [ -z "$ROOT" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
note() { # records one thing we added: KIND PATH [SHA]
  [ "$DRY_RUN" = 1 ] && return 0
  grep -qsF -- "$1 $2" "$MANIFEST" || printf '%s\n' "$*" >>"$MANIFEST"
}

unit_text() {
  cat <<UNIT
# Installed by heck's install.sh --systemd; install.sh --uninstall removes it.
[Unit]
Description=heck distributed health checker
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=heck
Group=heck
ExecStart=$BIN agent --config /etc/heck/agent.yaml
# SIGHUP reloads the targets file and the keyring file (--encrypt-file).
ExecReload=/bin/kill -HUP \$MAINPID
Restart=on-failure
RestartSec=2s
# Exit 2 is a configuration error (a bad setting, a data dir it cannot write): restarting
# would only repeat it, so systemd leaves the unit failed until the operator fixes it.
RestartPreventExitStatus=2
# heck leaves the cluster on SIGTERM and exits within 5 s.
TimeoutStopSec=10s
# /var/lib/heck, owned by the service user: history.sqlite and state.sqlite.
StateDirectory=heck
StateDirectoryMode=0750
UMask=0027
LimitNOFILE=65536
# Sandboxing: no privileges at all, a read-only system, no home directories.
NoNewPrivileges=yes
AmbientCapabilities=
CapabilityBoundingSet=
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
# Not set: MemoryDenyWriteExecute=yes, because Bun's JavaScript JIT needs writable code pages.

[Install]
WantedBy=multi-user.target
UNIT
}

agent_yaml() {
  cat <<'YAML'
# heck agent settings: every `heck agent` flag, _ for - (see `heck agent --help`).
# Relative paths are taken from this directory. `heck agent --config /etc/heck/agent.yaml
# --print-config` shows what is in effect. systemctl reload heck re-reads targets.yaml.
targets: targets.yaml
data_dir: /var/lib/heck
http: 127.0.0.1:8080
# Gossip stays on loopback until this node joins others; then set bind to an address
# peers reach, and a keyring (heck keygen > keyring; chmod 640, group heck):
# bind: 0.0.0.0:7946
# encrypt_file: keyring
# retry_join: [10.0.0.2:7946, 10.0.0.3:7946]
# api_token_file: api-token
YAML
}

targets_yaml() {
  cat <<'YAML'
# What this node contributes to the cluster's targets (see docs/SPEC.md "Targets file").
targets: []
YAML
}

# Writes $2 (text) to $1 with mode $3 unless the file exists; records it.
write_once() {
  local path=$1 text=$2 mode=$3
  if [ -e "$path" ]; then say "$path exists: kept as it is"; return 0; fi
  if [ "$DRY_RUN" = 1 ]; then say "would write $path"; return 0; fi
  printf '%s\n' "$text" >"$path.new"
  chmod "$mode" "$path.new"
  if [ -z "$ROOT" ]; then chgrp heck "$path.new"; fi
  mv "$path.new" "$path"
  note file "$path" "$(sha "$path")"
  say "wrote $path"
}

install_service() {
  [ -x "$ROOT$BIN" ] || [ "$DRY_RUN" = 1 ] || die "$ROOT$BIN is missing: run install.sh --systemd, which installs it first"
  if [ -n "$ROOT" ]; then
    say "--root: not creating the user heck (create it on the target system: useradd --system --user-group heck)"
  elif id heck >/dev/null 2>&1; then
    say "user heck exists"
  else
    run useradd --system --user-group --no-create-home --home-dir /var/lib/heck --shell /usr/sbin/nologin heck
    [ "$DRY_RUN" = 1 ] || say "created the system user heck"
    added_user=1
  fi
  if [ ! -d "$ETC" ]; then
    run mkdir -p "$ETC"
    run chmod 0750 "$ETC"
    [ -n "$ROOT" ] || run chgrp heck "$ETC"
    note dir "$ETC"
  fi
  if [ "${added_user:-0}" = 1 ]; then note user heck; fi
  note bin "$ROOT$BIN"
  write_once "$ETC/agent.yaml" "$(agent_yaml)" 0640
  write_once "$ETC/targets.yaml" "$(targets_yaml)" 0640
  local want
  want=$(unit_text)
  if [ -f "$UNIT" ] && [ "$(cat "$UNIT")" = "$want" ]; then
    say "$UNIT is up to date"
  elif [ "$DRY_RUN" = 1 ]; then
    say "would write $UNIT"
  else
    mkdir -p "$(dirname "$UNIT")"
    printf '%s\n' "$want" >"$UNIT.new" && mv "$UNIT.new" "$UNIT"
    note unit "$UNIT"
    say "wrote $UNIT"
    if systemd_running; then systemctl daemon-reload; fi
  fi
  if systemd_running; then
    say "next: edit $ETC/agent.yaml and $ETC/targets.yaml, then: systemctl enable --now heck"
  else
    say "systemd is not running here (or --root): enable it on the target system with: systemctl enable --now heck"
  fi
}

uninstall_service() {
  if [ ! -f "$MANIFEST" ]; then
    say "nothing to remove: $MANIFEST is absent (install.sh --systemd was not run here, or already undone)"
    return 0
  fi
  if systemd_running && systemctl list-unit-files heck.service >/dev/null 2>&1; then
    run systemctl disable --now heck.service || true
  fi
  local kind path digest kept=0
  # Last added first.
  while read -r kind path digest; do
    case "$kind" in
      unit | bin)
        if [ -e "$path" ]; then remove "$path"; fi
        if [ "$kind" = unit ] && systemd_running; then run systemctl daemon-reload; fi ;;
      file)
        if [ ! -e "$path" ]; then
          :
        elif [ "$(sha "$path")" = "$digest" ]; then
          remove "$path"
        else
          say "kept $path: it was edited since install (remove it yourself if you no longer need it)"; kept=1
        fi ;;
      user)
        if id heck >/dev/null 2>&1; then run userdel heck; [ "$DRY_RUN" = 1 ] || say "removed the user heck"; fi ;;
      *) ;; # dir: below, once the manifest itself is gone
    esac
  done < <(tac "$MANIFEST")
  if [ "$DRY_RUN" = 1 ]; then say "would remove $MANIFEST"; return 0; fi
  rm -f "$MANIFEST"
  if [ "$DRY_RUN" = 0 ] && [ -d "$ETC" ] && [ -z "$(ls -A "$ETC")" ]; then rmdir "$ETC"; say "removed $ETC"; fi
  if [ "$kept" = 1 ]; then say "$ETC stays for the files kept above"; fi
  say "the data in ${ROOT}/var/lib/heck (if any) was not touched; delete it with: rm -rf ${ROOT}/var/lib/heck"
}

case "$ACTION" in
  install) install_service ;;
  uninstall) uninstall_service ;;
  *) die "unknown action $ACTION" ;;
esac
