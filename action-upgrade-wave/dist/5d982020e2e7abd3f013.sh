# fleet's deploy helper: installed by the deployer at /run/fleet/activate.sh on each SSH host (POSIX
# sh; NixOS and the simulated hosts alike), and sent as `sh -s probe` by the upgrade-wave gate.
# /run is a tmpfs, so a reboot clears it and every state file.
#
#   state [SYSTEM]   the host's state as key=value lines (present=1 when SYSTEM is in the store)
#   start WAIT_S BOOT_ID ID ACTION SYSTEM SET_PROFILE PREV PREV_ACTION CONFIRM_S LIMIT_S
#                    runs `run` detached from the ssh session (a transient systemd unit, or setsid
#                    without systemd) so a dropped connection cannot interrupt an activation, then
#                    waits like `wait` for up to WAIT_S. Starting an ID again only waits, so a retry
#                    is safe; on a host whose boot id is no longer BOOT_ID it starts nothing and
#                    reports `rebooted`.
#   run ...          sets the profile (SET_PROFILE=1), runs SYSTEM's switch-to-configuration ACTION
#                    with a time limit; then, when CONFIRM_S > 0, waits that long for `confirm` and
#                    otherwise (timeout, or `abort`) restores PREV itself: profile back to PREV, PREV's
#                    switch-to-configuration PREV_ACTION. A deployer that the new system cut off
#                    therefore gets the old system back without doing anything.
#   wait ID SECONDS STATE...   returns once the activation's state is none of STATE (or after
#                    SECONDS), printing state=... and the log's tail
#   confirm ID SECONDS, abort ID SECONDS   then wait for the outcome, and print the host's state as
#                    well (after `--- host`); both may be repeated
#   reboot           reboots a second later, after this ssh command has returned
#   probe            what the upgrade-wave gate needs: current and booted system, generation,
#                    adoption time (/run/current-system is replaced by a rename at every switch, so
#                    the link's own mtime is when the current system was adopted), failed units,
#                    whether a reboot is needed, and the host's clock (the gate checks it against its own)
#
# State lines: starting, activating, activated CODE, done CODE, confirmed CODE,
# rolling-back CODE REASON, rolled-back CODE REASON ROLLBACK_CODE, refused busy; missing for an
# unknown ID, rebooted from start (see above).
set -u
# shellcheck source=../lib/system.sh
. "$(dirname "$0")/../lib/system.sh" # fleet:inline
dir=/run/fleet
profile=/nix/var/nix/profiles/system

with_host=0
now() { date +%s; }
put() { fleet_put "$1.state" "$2"; }
get() { cat "$dir/$1.state" 2>/dev/null || echo missing; }

# Starts a command outside the caller's session: a transient unit under systemd, setsid otherwise.
detach() {
  unit=$1; shift
  if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
    systemd-run --unit="$unit" --collect --quiet --setenv=PATH="$PATH" "$@"
  else
    setsid -f "$@" </dev/null >/dev/null 2>&1
  fi
}

cmd_state() {
  printf 'current=%s\n' "$(fleet_current_system)"
  printf 'booted=%s\n' "$(fleet_booted_system)"
  printf 'profile=%s\n' "$(readlink -f "$profile" 2>/dev/null)"
  printf 'profile-link=%s\n' "$(readlink "$profile" 2>/dev/null)"
  printf 'boot-id=%s\n' "$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)"
  printf 'free-kib=%s\n' "$(df -Pk /nix/store 2>/dev/null | awk 'NR == 2 { print $4 }')"
  if [ -d /run/systemd/system ]; then echo systemd=1; else echo systemd=0; fi
  if [ -n "$1" ]; then
    if nix-store --check-validity "$1" 2>/dev/null; then echo present=1; else echo present=0; fi
  fi
  if owner=$(fleet_lock_owner "$dir/lock"); then printf 'busy=%s\n' "$owner"; fi
  # Old activations' files (a week) go; /run is cleared at boot anyway.
  find "$dir" -maxdepth 1 -type f -mtime +7 -delete 2>/dev/null
  return 0
}

cmd_start() {
  secs=$1 boot=$2
  shift 2
  # Idempotent: a retry after a lost reply must not start a second activation, and a host that
  # rebooted meanwhile (its /run is empty) must not start one at all.
  if [ ! -f "$dir/$1.state" ]; then
    if [ -n "$boot" ] && [ "$boot" != "$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)" ]; then echo 'state=rebooted'; return; fi
    if owner=$(fleet_lock_owner "$dir/lock"); then echo "busy $owner"; exit 3; fi
    put "$dir/$1" starting
    detach "fleet-activate-$1" /bin/sh "$dir/activate.sh" run "$@" || put "$dir/$1" "done 1"
  fi
  cmd_wait "$1" "$secs" starting activating
}

cmd_run() {
  id=$1 action=$2 system=$3 set_profile=$4 prev=$5 prev_action=$6 confirm=$7 limit=$8
  st=$dir/$id
  exec >>"$st.log" 2>&1
  if ! fleet_lock_take "$dir/lock" "$id"; then put "$st" "refused busy"; exit 1; fi
  trap 'rm -rf "$dir/lock"' EXIT
  put "$st" activating
  code=0
  if [ "$set_profile" = 1 ]; then nix-env -p "$profile" --set "$system" || code=$?; fi
  if [ "$code" = 0 ]; then fleet_switch "$system" "$action" "$limit" || code=$?; fi
  echo "fleet: switch-to-configuration $action exited with $code"
  if [ "$confirm" -le 0 ]; then put "$st" "done $code"; exit 0; fi
  put "$st" "activated $code"
  deadline=$(( $(now) + confirm ))
  while [ ! -e "$st.confirm" ] && [ ! -e "$st.abort" ] && [ "$(now)" -lt "$deadline" ]; do sleep 0.2; done
  if [ -e "$st.abort" ]; then
    reason=abort
  elif [ -e "$st.confirm" ]; then
    put "$st" "confirmed $code"
    exit 0
  else
    reason=timeout
  fi
  put "$st" "rolling-back $code $reason"
  echo "fleet: rolling back to $prev ($reason)"
  rollback=0
  if [ "$set_profile" = 1 ]; then nix-env -p "$profile" --set "$prev" || rollback=$?; fi
  if [ "$rollback" = 0 ]; then fleet_switch "$prev" "$prev_action" "$limit" || rollback=$?; fi
  echo "fleet: rollback exited with $rollback"
  put "$st" "rolled-back $code $reason $rollback"
}

cmd_wait() {
  id=$1 deadline=$(( $(now) + $2 ))
  shift 2
  while :; do
    line=$(get "$id")
    word=$(echo "$line" | cut -d ' ' -f 1)
    waiting=0
    for transient in "$@"; do [ "$word" = "$transient" ] && waiting=1; done
    if [ "$waiting" = 0 ] || [ "$(now)" -ge "$deadline" ]; then break; fi
    sleep 0.2
  done
  printf 'state=%s\n' "$line"
  if [ "$with_host" = 1 ]; then echo '--- host'; cmd_state ''; fi
  if [ -f "$dir/$id.log" ]; then echo '--- log'; tail -n 40 "$dir/$id.log"; fi
}

cmd_probe() {
  reboot=0
  fleet_kernel_outdated && reboot=1
  printf 'fleet-probe=1\ncurrent=%s\nbooted=%s\ngeneration=%s\nadopted=%s\nfailed=%s\nreboot=%s\nclock=%s\n' \
    "$(fleet_current_system)" "$(fleet_booted_system)" "$(fleet_generation "$profile")" \
    "$(stat -c %Y /run/current-system 2>/dev/null || true)" "$(fleet_failed_units | tr '\n' ' ')" "$reboot" "$(now)"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  state) cmd_state "$@" ;;
  start) cmd_start "$@" ;;
  run) cmd_run "$@" ;;
  wait) cmd_wait "$@" ;;
  confirm) [ -f "$dir/$1.state" ] && touch "$dir/$1.confirm"; with_host=1 cmd_wait "$1" "$2" activated ;;
  abort) [ -f "$dir/$1.state" ] && touch "$dir/$1.abort"; with_host=1 cmd_wait "$1" "$2" activated rolling-back ;;
  probe) cmd_probe ;;
  reboot) detach fleet-reboot /bin/sh -c 'sleep 1; if [ -d /run/systemd/system ]; then systemctl reboot; else reboot; fi'; echo rebooting ;;
  *) echo "fleet helper: unknown command $cmd" >&2; exit 2 ;;
esac
