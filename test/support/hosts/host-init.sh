#!/bin/sh
# PID 1 of a simulated host, started by index.ts inside
#   unshare --mount --pid --fork --mount-proc --propagation private --kill-child
# The host gets its own /nix (store, db, profiles), /run, /boot, /etc/ssh, /etc/nix, /root and
# boot id; it "boots" (fresh /run, new boot id, the boot loader's default system booted and
# current) and runs sshd. SIGUSR1 (the reboot shim) kills everything else and boots again.
#
#   host-init.sh ROOT SYSTEMD(0|1)
set -u
root=$1
systemd=$2

# Each host has its own /etc/nix; the machine must have the directory to mount it on (.ci/setup makes it).
for dir in /nix /etc/nix /boot; do
  [ -d "$dir" ] || { echo "host-init: $dir is missing on this machine: run .ci/setup" >&2; exit 1; }
done
mount --bind "$root/nix" /nix
mount --bind "$root/run" /run
mount --bind "$root/boot" /boot
mount --bind "$root/etc" /etc/ssh
mount --bind "$root/home" /root
mount --bind "$root/etc-nix" /etc/nix
mount --bind "$root/boot_id" /proc/sys/kernel/random/boot_id
# The simulated systemctl and systemd-run come first in root's PATH; where the machine has real ones,
# they are covered too, so that nothing a host runs can reach the machine's own systemd.
mount --bind "$root/sbin" /usr/local/sbin
for tool in systemctl systemd-run; do
  if [ -e "/usr/bin/$tool" ]; then mount --bind "$root/sbin/$tool" "/usr/bin/$tool"; fi
done

boot() {
  find /run -mindepth 1 -maxdepth 1 -exec rm -rf {} +
  cat /proc/sys/kernel/random/uuid > /proc/sys/kernel/random/boot_id
  default=$(cat /boot/default-system 2>/dev/null || true)
  if [ -n "$default" ]; then
    ln -s "$default" /run/booted-system
    ln -s "$default" /run/current-system
  fi
  mkdir -p /run/sshd /run/fleet-sim
  if [ "$systemd" = 1 ]; then mkdir -p /run/systemd/system; fi
}

rebooting=0
trap 'rebooting=1' USR1

while :; do
  boot
  /usr/sbin/sshd -D -e -f /etc/ssh/sshd_config 2>>"$root/sshd.log" &
  sshd=$!
  while :; do
    wait "$sshd"
    [ "$rebooting" = 1 ] && break
    if ! kill -0 "$sshd" 2>/dev/null; then
      echo "sshd exited" >&2
      exit 1
    fi
  done
  rebooting=0
  sleep 0.3
  # Every process but this one: sshd, sessions, activations, timers.
  kill -KILL -1 2>/dev/null
  sleep 0.5
done
