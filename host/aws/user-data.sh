#!/usr/bin/env bash
# fleet: user data for the NixOS instances of an Auto Scaling group (see host/aws/README.md).
#
# An instance refresh launches instances from a launch template version whose instance tags name
# the system to run (action-deploy's aws-asg transport writes them):
#   fleet:system                 the toplevel store path
#   fleet:substituters           caches to fetch it from, space separated
# At boot this script reads them from the instance metadata service (IMDSv2; the template must
# enable InstanceMetadataTags), fetches the closure without evaluating anything
# (nix build --profile on a store path, signatures required), makes it the boot default
# (switch-to-configuration boot) and kexecs into it. Once the instance runs that system (the next
# boot), it does nothing.
#
# The keys the closure must be signed with never come from a tag (anyone allowed ec2:CreateTags
# could name their own): put them in the launch template's user data, before this script,
#   FLEET_TRUSTED_PUBLIC_KEYS='cache.example.org-1:AbC…='
# or in the AMI's nix.conf (trusted-public-keys), which Nix uses when the variable is empty.
set -euo pipefail
export PATH="/run/current-system/sw/bin:/nix/var/nix/profiles/default/bin:/run/wrappers/bin:/usr/bin:/bin:${PATH:-}"

imds=${FLEET_IMDS_ENDPOINT:-http://169.254.169.254}
profile=/nix/var/nix/profiles/system
log() { printf 'fleet user-data: %s\n' "$*" >&2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The session token goes to curl through its config on stdin, not its argv.
token=$(curl -fsS --retry 5 --retry-connrefused --connect-timeout 2 --max-time 10 -X PUT \
  -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$imds/latest/api/token") || {
  log "no IMDSv2 session token from $imds"
  exit 1
}

# metadata PATH: prints the value; exit 1 when it does not exist (404), 2 on other failures.
metadata() {
  local code
  code=$(printf 'header = "X-aws-ec2-metadata-token: %s"\n' "$token" |
    curl -sS --retry 3 --retry-connrefused --connect-timeout 2 --max-time 10 --config - \
      -o "$tmp/value" -w '%{http_code}' "$imds/latest/meta-data/$1") || return 2
  case $code in
    200) cat "$tmp/value" ;;
    404) return 1 ;;
    *) return 2 ;;
  esac
}

keys=$(metadata tags/instance) || {
  log "instance tags are not in the instance metadata: enable InstanceMetadataTags in the launch template's metadata options"
  exit 1
}
case $'\n'"$keys"$'\n' in
  *$'\nfleet:system\n'*) ;;
  *)
    log "no fleet:system tag: nothing to deploy"
    exit 0
    ;;
esac
system=$(metadata tags/instance/fleet:system)
substituters=$(metadata tags/instance/fleet:substituters || true)
trusted_keys=${FLEET_TRUSTED_PUBLIC_KEYS:-}
case $'\n'"$keys"$'\n' in
  *$'\nfleet:trusted-public-keys\n'*) log "ignoring the fleet:trusted-public-keys tag: the keys come from the user data (FLEET_TRUSTED_PUBLIC_KEYS) or the AMI's nix.conf, never from a tag" ;;
esac

base=${system#/nix/store/}
if [ "$base" = "$system" ] || [ "${#base}" -lt 34 ] || [[ ! $base =~ ^[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+._?=-]+$ ]]; then
  log "fleet:system \"$system\" is not a store path"
  exit 1
fi

if [ "$(readlink -f /run/booted-system 2>/dev/null || true)" = "$system" ]; then
  log "running $system"
  exit 0
fi

set -- --extra-experimental-features nix-command --option require-sigs true
if [ -n "$substituters" ]; then set -- "$@" --option substituters "$substituters"; fi
if [ -n "$trusted_keys" ]; then set -- "$@" --option trusted-public-keys "$trusted_keys"; fi
# The network may take a moment at boot.
for attempt in 1 2 3 4 5; do
  if nix build "$@" --no-link --profile "$profile" "$system"; then break; fi
  if [ "$attempt" = 5 ]; then
    log "could not fetch $system from ${substituters:-the configured substituters}"
    exit 1
  fi
  sleep $((attempt * 5))
done
"$system/bin/switch-to-configuration" boot

if command -v kexec >/dev/null 2>&1; then
  log "kexec into $system"
  kexec --load "$system/kernel" --initrd="$system/initrd" --append="init=$system/init $(cat "$system/kernel-params")"
  systemctl kexec
else
  log "no kexec: rebooting into $system"
  systemctl reboot
fi
