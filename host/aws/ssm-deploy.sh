#!/usr/bin/env bash
set -euo pipefail
# The script of the NixOS-Deploy SSM command document (host/aws/NixOS-Deploy.json, generated from
# this file and ssm-document.json by `npm run build`; see host/aws/README.md). SSM runs it as root on
# the instance with the document's parameters; it never evaluates Nix code.
# shellcheck source=../lib/system.sh
. "$(dirname "$0")/../lib/system.sh" # fleet:inline
export PATH="/run/current-system/sw/bin:/nix/var/nix/profiles/default/bin:/run/wrappers/bin:/usr/local/bin:/usr/bin:/bin:${PATH:-}"
# Parameters arrive as SSM_<name> environment variables (interpolationType ENV_VAR); agents older
# than that substitute the text below instead, which each parameter's allowedPattern keeps free of quotes.
if [ -z "${SSM_storePath+x}" ]; then SSM_storePath='{{ storePath }}'; fi
if [ -z "${SSM_substituters+x}" ]; then SSM_substituters='{{ substituters }}'; fi
if [ -z "${SSM_action+x}" ]; then SSM_action='{{ action }}'; fi
if [ -z "${SSM_rollback+x}" ]; then SSM_rollback='{{ rollback }}'; fi
system=$SSM_storePath
action=$SSM_action
rollback=$SSM_rollback
profile=/nix/var/nix/profiles/system
say() { printf 'fleet: %s\n' "$*"; }
finish() {
  code=$1
  shift
  if [ "$#" -gt 0 ]; then say "$*"; fi
  say "current=$(fleet_current_system)"
  say "booted=$(fleet_booted_system)"
  say "generation=$(fleet_generation "$profile")"
  say "exit=$code"
  exit "$code"
}
case "$system" in /nix/store/?*) ;; *) finish 1 "storePath $system is not a store path" ;; esac
case "$action" in switch | boot | test | dry-activate | reboot) ;; *) finish 1 "unknown action $action" ;; esac
case "$rollback" in auto | off) ;; *) finish 1 "unknown rollback mode $rollback" ;; esac
prev=$(fleet_current_system)
say "before=$prev"
say "target=$system"
# exit 194 below makes SSM reboot the instance and run this script again: then it is done.
if [ "$action" = reboot ] && [ "$(fleet_booted_system)" = "$system" ]; then finish 0 "rebooted into $system"; fi
set -- --extra-experimental-features nix-command --option require-sigs true
if [ -n "$SSM_substituters" ]; then set -- "$@" --option substituters "$SSM_substituters"; fi
# The keys come only from the instance's nix.conf (its NixOS configuration or AMI), never a parameter.
case "$action" in
  test | dry-activate) nix build "$@" --no-link "$system" || finish 1 "could not fetch $system; nothing changed" ;;
  *) nix build "$@" --no-link --profile "$profile" "$system" || finish 1 "could not fetch $system; nothing changed" ;;
esac
case "$action" in reboot) s2c=boot ;; *) s2c=$action ;; esac
rc=0
"$system/bin/switch-to-configuration" "$s2c" || rc=$?
if [ "$action" = dry-activate ]; then finish "$rc" "dry-activate exited with $rc"; fi
case "$rc" in
  0 | 100) ;;
  4) finish 4 "switch-to-configuration $s2c exited with 4: some units failed (the new system is kept)" ;;
  *)
    if [ "$rollback" != auto ] || [ -z "$prev" ]; then finish 12 "switch-to-configuration $s2c exited with $rc; not rolled back (rollback $rollback)"; fi
    prev_action=$(fleet_rollback_action "$action")
    if [ "$action" != test ]; then nix-env -p "$profile" --set "$prev" || finish 11 "switch-to-configuration $s2c exited with $rc; the rollback could not reset $profile"; fi
    prc=0
    "$prev/bin/switch-to-configuration" "$prev_action" || prc=$?
    case "$prc" in 0 | 4 | 100) finish 10 "rolled back to $prev: switch-to-configuration $s2c exited with $rc" ;; esac
    finish 11 "switch-to-configuration $s2c exited with $rc; the rollback to $prev failed too ($prc)"
    ;;
esac
if [ "$action" = switch ] && [ -d /run/systemd/system ]; then
  state=$(timeout 300 systemctl is-system-running --wait 2>/dev/null || true)
  if [ "$state" = degraded ]; then finish 4 "activated, but the system is degraded: $(fleet_failed_units | tr '\n' ' ')"; fi
fi
if [ "$action" = reboot ]; then
  say "rebooting into $system"
  exit 194
fi
finish 0 "$action done"
