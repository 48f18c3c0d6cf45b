# shellcheck shell=sh
# What every fleet script on a host needs to know about the running NixOS system, written once.
# Sourced by scripts that run from files (the pull agent); inlined by fleet where a script is sent
# as one text (the SSH helper and probe, the SSM document): see src/host-scripts.

# The system that runs now, and the one the machine booted (store paths; empty when not NixOS).
fleet_current_system() { readlink -f /run/current-system 2>/dev/null || true; }
fleet_booted_system() { readlink -f /run/booted-system 2>/dev/null || true; }

# fleet_generation PROFILE: N when PROFILE points at system-N-link, empty otherwise.
fleet_generation() {
  fleet_link=$(readlink "$1" 2>/dev/null || true)
  fleet_link=${fleet_link##*/}
  case $fleet_link in
    system-*-link) fleet_link=${fleet_link#system-} && printf '%s\n' "${fleet_link%-link}" ;;
  esac
}

# True when the running kernel, initrd or modules are not the current system's: only a reboot applies them.
fleet_kernel_outdated() {
  fleet_cur=$(fleet_current_system)
  fleet_boot=$(fleet_booted_system)
  [ -n "$fleet_cur" ] || return 1
  for fleet_part in kernel initrd kernel-modules; do
    [ "$(readlink -f "$fleet_boot/$fleet_part" 2>/dev/null)" = "$(readlink -f "$fleet_cur/$fleet_part" 2>/dev/null)" ] || return 0
  done
  return 1
}

# Failed systemd units, one a line, reduced to the characters unit names may have.
fleet_failed_units() {
  [ -d /run/systemd/system ] || return 0
  systemctl list-units --failed --plain --no-legend --no-pager 2>/dev/null | cut -d ' ' -f 1 | tr -cd 'A-Za-z0-9@:._\\\n-'
}

# fleet_rollback_action ACTION: how to bring the previous system back after ACTION.
fleet_rollback_action() {
  case $1 in
    test) echo test ;;
    boot | reboot) echo boot ;;
    *) echo switch ;;
  esac
}

# fleet_switch SYSTEM ACTION SECONDS: SYSTEM's switch-to-configuration ACTION, for at most SECONDS.
fleet_switch() { timeout -k 10 "$3" "$1/bin/switch-to-configuration" "$2"; }

# fleet_put FILE VALUE: writes VALUE to FILE so that a reader sees the old value or the new, never half.
fleet_put() { printf '%s\n' "$2" > "$1.tmp" && mv -f "$1.tmp" "$1"; }

# This boot's id (empty where the kernel does not say).
fleet_boot_id() { cat /proc/sys/kernel/random/boot_id 2>/dev/null || true; }

# fleet_lock_owner DIR: prints the id of the live process holding the lock DIR; false when none does.
# A lock taken before the last boot is nobody's: its pid may belong to another process by now.
fleet_lock_owner() {
  [ -d "$1" ] || return 1
  fleet_pid=$(cat "$1/pid" 2>/dev/null) || return 1
  [ "$(cat "$1/boot" 2>/dev/null || true)" = "$(fleet_boot_id)" ] || return 1
  kill -0 "$fleet_pid" 2>/dev/null || return 1
  cat "$1/id" 2>/dev/null || echo unknown
}

# fleet_lock_take DIR ID: takes the lock DIR for this process (a lock whose holder died is taken
# over); false when a live process holds it.
fleet_lock_take() {
  if ! mkdir "$1" 2>/dev/null; then
    fleet_lock_owner "$1" >/dev/null && return 1
    rm -rf "$1"
    mkdir "$1" 2>/dev/null || return 1
  fi
  echo $$ > "$1/pid"
  fleet_boot_id > "$1/boot"
  echo "$2" > "$1/id"
}
