#!/bin/sh
# systemctl (and reboot, which is a link to it) on a simulated host: the few questions a deploy
# asks systemd, answered from the simulation's state in /run/fleet-sim.
sim=/run/fleet-sim
if [ "$(basename "$0")" = reboot ]; then set -- reboot; fi

# Options (--wait, --quiet, …) change nothing here.
# shellcheck disable=SC2046
set -- $(for arg in "$@"; do case "$arg" in -*) ;; *) echo "$arg" ;; esac; done)
verb=${1:-}
unit=${2:-}

case "$verb" in
  is-system-running)
    if [ -s "$sim/failed-units" ]; then echo degraded; exit 1; fi
    echo running
    ;;
  is-active)
    if grep -qx "$unit" "$sim/failed-units" 2>/dev/null; then echo failed; exit 3; fi
    echo active
    ;;
  is-failed)
    if grep -qx "$unit" "$sim/failed-units" 2>/dev/null; then echo failed; exit 0; fi
    echo active
    exit 1
    ;;
  list-units)
    # `list-units --failed --plain --no-legend`: one failed unit a line, as systemd prints them.
    while read -r failed; do
      [ -n "$failed" ] && printf '%s loaded failed failed %s\n' "$failed" "$failed"
    done < "$sim/failed-units" 2>/dev/null
    ;;
  start)
    # A unit a test installed as an executable $sim/units/UNIT runs in the background, as with
    # --no-block; each start is logged in $sim/started.
    [ -x "$sim/units/$unit" ] || { echo "Failed to start $unit: Unit $unit not found." >&2; exit 5; }
    echo "$unit" >> "$sim/started"
    nohup "$sim/units/$unit" > "$sim/units/$unit.log" 2>&1 &
    ;;
  reboot)
    # PID 1 of the host's namespace is host-init.sh, which reboots on SIGUSR1.
    kill -USR1 1
    ;;
  *)
    echo "systemctl (simulated host): $* is not simulated" >&2
    exit 1
    ;;
esac
