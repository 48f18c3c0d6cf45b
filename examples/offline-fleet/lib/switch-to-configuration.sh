#!/bin/sh
# switch-to-configuration for the example fleet's systems: NixOS's contract, reduced to what a
# deploy can observe, so the fleet actions can be tested against simulated hosts
# (test/support/hosts) without systemd.
#
#   switch-to-configuration switch|boot|test|dry-activate
#
# - switch, test: /run/current-system points at this system.
# - switch, boot: the boot loader's default entry (/boot/default-system) is this system.
# - dry-activate: prints what would change and changes nothing.
# Exit codes as NixOS: 0 done, 4 done but some units failed, 100 done but a reboot is needed
# (the kernel differs from the booted one), anything else failed.
#
# Faults for tests: /run/fleet-sim/fault holds one word, consumed by the next switch, boot or
# test (so the rollback that follows succeeds):
#   fail          activate, then fail (exit 1)
#   degraded      activate; app.service fails (exit 4)
#   needs-reboot  activate, then ask for a reboot (exit 100)
#   hang          activate, then hang (until the deployer's time limit kills it)
#   drop-ssh      activate, then cut the host off: ssh sessions are killed and logins refused
#                 while this system is current (see the hosts' AuthorizedKeysCommand)
#   health-fail   activate (exit 0); app.service fails afterwards, so health checks see it
set -eu

action=${1:-}
case "$action" in
  switch | boot | test | dry-activate) ;;
  *)
    echo "usage: $0 switch|boot|test|dry-activate" >&2
    exit 1
    ;;
esac

system=$(cd "$(dirname "$0")/.." && pwd -P)
sim=/run/fleet-sim
current=$(readlink -f /run/current-system 2>/dev/null || true)
booted=$(readlink -f /run/booted-system 2>/dev/null || true)
kernel() { readlink -f "$1/kernel" 2>/dev/null || echo none; }
# Every descendant of a process (sh functions share variables: print before recursing).
descendants() {
  for child in $(pgrep -P "$1" || true); do
    echo "$child"
    descendants "$child"
  done
}

if [ "$action" = dry-activate ]; then
  echo "would activate $system"
  echo "would stop/start units of ${current:-no system}"
  if [ -n "$booted" ] && [ "$(kernel "$system")" != "$(kernel "$booted")" ]; then echo "would need a reboot: the kernel changed"; fi
  exit 0
fi

fault=
if [ -f "$sim/fault" ]; then
  fault=$(cat "$sim/fault")
  rm -f "$sim/fault"
  echo "fleet-sim: fault $fault"
fi

if [ "$action" = switch ] || [ "$action" = boot ]; then
  echo "updating the boot loader: default entry $system"
  mkdir -p /boot
  printf '%s\n' "$system" > /boot/default-system.tmp
  mv -f /boot/default-system.tmp /boot/default-system
fi

if [ "$action" = switch ] || [ "$action" = test ]; then
  echo "activating the configuration $system"
  mkdir -p "$sim"
  ln -sfn "$system" /run/.current-system.tmp
  mv -fT /run/.current-system.tmp /run/current-system
  rm -f "$sim/failed-units"
fi

case "$fault" in
  '') ;;
  fail)
    echo "error: the activation script failed" >&2
    exit 1
    ;;
  degraded)
    echo app.service > "$sim/failed-units"
    echo "warning: the following units failed: app.service" >&2
    exit 4
    ;;
  needs-reboot)
    echo "a reboot is needed to finish the switch"
    exit 100
    ;;
  hang)
    echo "starting units… (hangs)"
    exec sleep 2147483647
    ;;
  drop-ssh)
    printf '%s\n' "$system" > "$sim/ssh-blocked"
    echo "restarting sshd with a configuration that locks everyone out"
    pid=$(cat /run/sshd.pid 2>/dev/null || true)
    # shellcheck disable=SC2046
    if [ -n "$pid" ]; then kill -KILL $(descendants "$pid") 2>/dev/null || true; fi
    ;;
  health-fail)
    echo app.service > "$sim/failed-units"
    ;;
  *)
    echo "fleet-sim: unknown fault $fault" >&2
    exit 1
    ;;
esac

if [ "$action" != boot ] && [ -n "$booted" ] && [ "$(kernel "$system")" != "$(kernel "$booted")" ]; then
  echo "the kernel changed: reboot to finish"
  exit 100
fi
exit 0
