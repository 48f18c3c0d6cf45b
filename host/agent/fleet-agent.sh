#!/bin/sh
# fleet-agent: the host side of fleet's pull deploys (see host/agent/README.md).
#
#   fleet-agent.sh [run]     fetch this host's manifest, converge to it, write the status report
#   fleet-agent.sh report    write the status report only
#   fleet-agent.sh version
#
# It uses only sh, coreutils, curl and nix; it never evaluates Nix code. Configuration comes from
# the environment (the NixOS module host/nixos/fleet-agent.nix sets it):
#
#   FLEET_AGENT_HOST                 this host's inventory name (required)
#   FLEET_AGENT_ENVIRONMENT          its environment (required)
#   FLEET_AGENT_STORE_URL            the store holding fleet/<environment>/<host>.json and the manifests,
#                                    as Nix and curl read it: https://cache.example.org, file:///srv/cache (required)
#   FLEET_AGENT_MANIFEST_KEYS        public keys manifests must be signed with, space separated (required)
#   FLEET_AGENT_MIRRORS              more stores holding the manifests, tried before STORE_URL, space separated
#                                    (a site cache on the LAN, a copy on a mounted disk: file:///media/fleet);
#                                    the newest manifest any of them has wins, and is checked the same way
#   FLEET_AGENT_SUBSTITUTERS         caches the system closure comes from (default: nix.conf's)
#   FLEET_AGENT_TRUSTED_PUBLIC_KEYS  keys for those caches (default: nix.conf's)
#   FLEET_AGENT_REPORT_URL           where the status report is PUT (default: STORE_URL/fleet/status/HOST.json)
#   FLEET_AGENT_REPORT_TOKEN_FILE    a root-only file with a bearer token for that PUT (optional)
#   FLEET_AGENT_STATE_DIR            default /var/lib/fleet-agent
#   FLEET_AGENT_HEALTH_CHECKS_DIR    executables run after a switch; any failure rolls back
#                                    (default /etc/fleet-agent/health-checks)
#   FLEET_AGENT_HEALTH_CHECK_TIMEOUT seconds per check (default 60)
#   FLEET_AGENT_SWITCH_TIMEOUT       seconds for switch-to-configuration (default 1800)
#   FLEET_AGENT_ALLOW_REBOOT         true: reboot by itself when the running kernel is out of date
#   FLEET_AGENT_REBOOT_WINDOW        HH:MM-HH:MM local time for reboots (default: any time)
#   FLEET_AGENT_ACTIVATION_WINDOW    HH:MM-HH:MM local time for switching to a new system (default: any time);
#                                    fetching happens at any time, and a manifest with "activation":"now" skips it
#   FLEET_AGENT_CONNECT_TIMEOUT      seconds (default 15)
#   FLEET_AGENT_BANDWIDTH_LIMIT      bytes per second for fetching the closure, as curl's --limit-rate
#                                    takes it (200k, 1m; default: none)
#   FLEET_AGENT_PROFILE              default /nix/var/nix/profiles/system
#   FLEET_AGENT_METRICS_PROMETHEUS_DIR  a node_exporter textfile directory: writes fleet.prom there (default: off)
#   FLEET_AGENT_METRICS_ZABBIX_FILE     writes the same facts as flat JSON for Zabbix to this file (default: off)
#
# Exit status: 0 when the host runs what it should (or there is nothing to do), 1 otherwise.
set -u
umask 077
# shellcheck source=../lib/system.sh
. "$(dirname "$0")/../lib/system.sh" # fleet:inline
# shellcheck source=fetch-closure.sh
. "$(dirname "$0")/fetch-closure.sh"

agent_version=1.1.0
host=${FLEET_AGENT_HOST:-}
environment=${FLEET_AGENT_ENVIRONMENT:-}
store_url=${FLEET_AGENT_STORE_URL:-}
store_url=${store_url%/}
mirrors=${FLEET_AGENT_MIRRORS:-}
manifest_keys=${FLEET_AGENT_MANIFEST_KEYS:-}
substituters=${FLEET_AGENT_SUBSTITUTERS:-}
trusted_keys=${FLEET_AGENT_TRUSTED_PUBLIC_KEYS:-}
report_url=${FLEET_AGENT_REPORT_URL:-}
token_file=${FLEET_AGENT_REPORT_TOKEN_FILE:-}
state=${FLEET_AGENT_STATE_DIR:-/var/lib/fleet-agent}
checks_dir=${FLEET_AGENT_HEALTH_CHECKS_DIR:-/etc/fleet-agent/health-checks}
check_timeout=${FLEET_AGENT_HEALTH_CHECK_TIMEOUT:-60}
switch_timeout=${FLEET_AGENT_SWITCH_TIMEOUT:-1800}
allow_reboot=${FLEET_AGENT_ALLOW_REBOOT:-false}
reboot_window=${FLEET_AGENT_REBOOT_WINDOW:-}
activation_window=${FLEET_AGENT_ACTIVATION_WINDOW:-}
connect_timeout=${FLEET_AGENT_CONNECT_TIMEOUT:-15}
bandwidth_limit=${FLEET_AGENT_BANDWIDTH_LIMIT:-}
profile=${FLEET_AGENT_PROFILE:-/nix/var/nix/profiles/system}
prometheus_dir=${FLEET_AGENT_METRICS_PROMETHEUS_DIR:-}
zabbix_file=${FLEET_AGENT_METRICS_ZABBIX_FILE:-}
# The applied manifest, kept as a profile beside the system's: it outlives a lost state directory
# (and keeps the manifest from garbage collection), so a replayed older manifest is refused even then.
manifest_profile="$(dirname "$profile")/fleet-manifest"

nixx() { nix --extra-experimental-features nix-command "$@"; }
log() { printf 'fleet-agent: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 2
}

# What went wrong in this run (empty: nothing); it goes into the report.
run_error=
fail() {
  run_error=$*
  log "$*"
  return 1
}

# --- small helpers ------------------------------------------------------------------------------

# The last lines of a file, on one line (for error messages).
tail_of() { tail -n "${2:-3}" "$1" 2>/dev/null | tr '\n\t' '  ' | cut -c 1-600; }

# Writes a state file atomically.
put_state() { fleet_put "$state/$1" "$2"; }
get_state() { cat "$state/$1" 2>/dev/null || true; }

is_store_path() {
  case $1 in /nix/store/*) ;; *) return 1 ;; esac
  base=${1#/nix/store/}
  hash=${base%%-*}
  [ "${#hash}" -eq 32 ] || return 1
  case $hash in *[!0-9a-df-np-sv-z]*) return 1 ;; esac
  case ${base#*-} in '' | *[!A-Za-z0-9+._?=-]*) return 1 ;; esac
  return 0
}

is_number() {
  case $1 in '' | *[!0-9]*) return 1 ;; esac
  [ "${#1}" -le 15 ]
}

# A value from canonical one-line JSON (strings without quotes or backslashes, integers, null):
#   json_field NAME JSON  -> prints the value ("" for null), fails when the key is absent.
json_field() {
  case $2 in *"\"$1\":"*) ;; *) return 1 ;; esac
  v=${2#*\""$1"\":}
  case $v in
    \"*)
      v=${v#\"}
      v=${v%%\"*}
      ;;
    null*) v= ;;
    *) v=${v%%[,\}]*} ;;
  esac
  printf '%s' "$v"
}

# A JSON string of arbitrary text: control characters become spaces, \ and " are escaped.
json_string() {
  s=$(printf '%s' "$1" | tr '\000-\037' ' ' | cut -c 1-2000)
  out=
  while :; do
    case $s in
      *[\\\"]*)
        pre=${s%%[\\\"]*}
        rest=${s#"$pre"}
        ch=${rest%"${rest#?}"}
        out="$out$pre\\$ch"
        s=${rest#?}
        ;;
      *)
        out="$out$s"
        break
        ;;
    esac
  done
  printf '"%s"' "$out"
}

json_or_null() { if [ -n "$1" ]; then json_string "$1"; else printf null; fi; }

# Minutes since midnight of HH:MM.
minutes() {
  h=${1%%:*}
  m=${1#*:}
  h=${h#0}
  m=${m#0}
  echo $((${h:-0} * 60 + ${m:-0}))
}

# in_window HH:MM-HH:MM: now, local time, is inside it (an empty window is always open; it may span midnight).
in_window() {
  [ -n "$1" ] || return 0
  lower=$(minutes "${1%-*}")
  upper=$(minutes "${1#*-}")
  now=$(minutes "$(date +%H:%M)")
  if [ "$lower" -le "$upper" ]; then
    [ "$now" -ge "$lower" ] && [ "$now" -lt "$upper" ]
  else
    [ "$now" -ge "$lower" ] || [ "$now" -lt "$upper" ]
  fi
}

# The running kernel is not the current system's, or the boot default is not what runs.
needs_reboot() {
  cur=$(fleet_current_system)
  [ -n "$cur" ] || return 1
  fleet_kernel_outdated && return 0
  [ "$(readlink -f "$profile" 2>/dev/null)" = "$cur" ] || return 0
  return 1
}


# --- the lock -----------------------------------------------------------------------------------

take_lock() {
  if ! fleet_lock_take "$state/lock" run; then
    pid=$(cat "$state/lock/pid" 2>/dev/null || true)
    if fleet_lock_owner "$state/lock" >/dev/null; then die "another run (pid $pid) is in progress"; fi
    die "cannot take the lock $state/lock"
  fi
  trap 'rm -rf "$state/lock" "$tmp"' EXIT
  trap 'exit 1' INT TERM
}

# --- fetching -----------------------------------------------------------------------------------

# fetch URL FILE: 0 fetched, 3 not there, 1 failed (the reason in $fetch_error).
fetch() {
  fetch_error=
  code=$(curl -sS -L --proto '=http,https,file' --connect-timeout "$connect_timeout" --max-time 300 --retry 2 \
    -o "$2" -w '%{http_code}' "$1" 2>"$tmp/curl.err")
  rc=$?
  case $1 in
    file://*)
      [ "$rc" = 0 ] && return 0
      [ "$rc" = 37 ] && return 3
      ;;
    *)
      # S3 answers 403 for a missing key when the reader may not list the bucket.
      [ "$rc" = 0 ] && case $code in 2??) return 0 ;; 404 | 403) return 3 ;; esac
      ;;
  esac
  fetch_error="$(tail_of "$tmp/curl.err" 1) (curl exit $rc, HTTP ${code:-none})"
  return 1
}

# Substitutes a manifest path (from $manifest_store, where its pointer was) with the manifest keys as the only trusted keys, then makes sure
# Nix really checked a signature: content-addressed paths need none, so they are refused, and
# `nix store verify` checks the signature also when the path was already in the store.
verify_manifest_path() {
  if ! nix-store --realise "$1" \
    --option substituters "$manifest_store" \
    --option trusted-public-keys "$manifest_keys" \
    --option require-sigs true \
    --option narinfo-cache-negative-ttl 0 \
    --option connect-timeout "$connect_timeout" >/dev/null 2>"$tmp/nix.err"; then
    fail "manifest refused: could not fetch $1 with a valid signature from $manifest_store: $(tail_of "$tmp/nix.err" 4)"
    return 1
  fi
  info=$(nixx path-info --json "$1" 2>"$tmp/nix.err" | tr -d ' \n\t\r') || {
    fail "manifest refused: nix path-info $1 failed: $(tail_of "$tmp/nix.err" 2)"
    return 1
  }
  case $info in
    *'"ca":null'*) ;;
    *'"ca":'*)
      fail "manifest refused: $1 is content-addressed, so no signature vouches for it"
      return 1
      ;;
  esac
  if ! nixx store verify --sigs-needed 1 --option trusted-public-keys "$manifest_keys" "$1" >/dev/null 2>"$tmp/nix.err"; then
    fail "manifest refused: $1 is not signed by a manifest key ($(tail_of "$tmp/nix.err" 2))"
    return 1
  fi
}

# realise_system SYSTEM [staged]: substitutes SYSTEM's closure from the substituters, or with
# `staged` from the staging store alone (it holds every missing path then).
realise_system() {
  staged=${2:-}
  set -- nix-store --realise "$1" --option require-sigs true --option narinfo-cache-negative-ttl 0 --option connect-timeout "$connect_timeout"
  if [ -n "$staged" ]; then
    set -- "$@" --option substituters "file://$(stage_dir)"
  elif [ -n "$substituters" ]; then
    set -- "$@" --option substituters "$substituters"
  fi
  [ -n "$trusted_keys" ] && set -- "$@" --option trusted-public-keys "$trusted_keys"
  "$@" >/dev/null 2>"$tmp/nix.err"
}

# --- download progress --------------------------------------------------------------------------

# The stores the progress may be measured against, in order: the substituters, else the manifest store.
progress_stores() { printf '%s' "${substituters:-$store_url}"; }

# measure_download SYSTEM: records in the state file `download` what of SYSTEM's closure the local
# store still lacks (one-line JSON: paths and NAR bytes, by the progress store's narinfos), or
# `fetched SYSTEM` when it lacks nothing. Progress that cannot be measured (the store does not have
# the closure, or is down) removes the file: unknown, never guessed. It never fails the run.
measure_download() {
  rm -f "$tmp/missing"
  listed=
  for from in $(progress_stores); do
    if nixx path-info -r -s --store "$from" --option connect-timeout "$connect_timeout" "$1" >"$tmp/closure" 2>"$tmp/nix.err"; then
      listed=1
      break
    fi
    log "cannot list the closure of $1 in $from: $(tail_of "$tmp/nix.err" 1)"
  done
  if [ -z "$listed" ]; then
    log "download progress unknown: no store could list the closure of $1"
    rm -f "$state/download"
    return 0
  fi
  total_paths=0 total_bytes=0
  while read -r path size; do
    { is_store_path "$path" && is_number "$size"; } || continue
    total_paths=$((total_paths + 1))
    total_bytes=$((total_bytes + size))
  done <"$tmp/closure"
  # Store paths hold no whitespace, but may hold '?': no globbing while they are split into words.
  set -f
  # shellcheck disable=SC2046
  nix-store --check-validity --print-invalid $(cut -f 1 "$tmp/closure") >"$tmp/missing" 2>"$tmp/nix.err"
  rc=$?
  missing_paths=0 missing_bytes=0
  if [ "$rc" = 0 ] && [ -s "$tmp/missing" ]; then
    # shellcheck disable=SC2046
    nixx path-info -s --store "$from" $(cat "$tmp/missing") >"$tmp/missing-sizes" 2>"$tmp/nix.err" || rc=$?
  fi
  set +f
  if [ "$rc" != 0 ]; then
    log "download progress unknown: $(tail_of "$tmp/nix.err" 1)"
    rm -f "$state/download"
    return 0
  fi
  if [ -s "$tmp/missing" ]; then
    while read -r path size; do
      { is_store_path "$path" && is_number "$size"; } || continue
      # Staged paths are fetched; Nix only has to unpack them.
      is_staged "$path" && continue
      missing_paths=$((missing_paths + 1))
      missing_bytes=$((missing_bytes + size))
    done <"$tmp/missing-sizes"
  fi
  if [ "$missing_paths" = 0 ]; then
    put_state download "fetched $1"
    return 0
  fi
  put_state download "$(printf '{"system":%s,"paths":%s,"bytes":%s,"totalPaths":%s,"totalBytes":%s,"measuredAt":"%s"}' \
    "$(json_string "$1")" "$missing_paths" "$missing_bytes" "$total_paths" "$total_bytes" "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"
  log "$1: $missing_paths of $total_paths paths ($missing_bytes of $total_bytes NAR bytes) still to fetch from $from"
}

# What the link delivered in this run's staging, in bytes per second, kept for the reports: the
# fleet's estimate of how long the next download takes (only a run that moved bytes measures).
remember_rate() {
  [ "${staged_wire_bytes:-0}" -gt 0 ] || return 0
  put_state rate $((staged_wire_bytes / (staged_seconds > 0 ? staged_seconds : 1)))
}

# --- activation ---------------------------------------------------------------------------------

# activate SYSTEM ACTION: sets the profile and runs switch-to-configuration; prints its exit code.
activate() {
  nix-env -p "$profile" --set "$1" 2>"$tmp/nix.err" || {
    echo "profile"
    return
  }
  rc=0
  fleet_switch "$1" "$2" "$switch_timeout" >&2 || rc=$?
  echo "$rc"
}

run_health_checks() {
  [ -d "$checks_dir" ] || return 0
  for check in "$checks_dir"/*; do
    if [ ! -f "$check" ] || [ ! -x "$check" ]; then continue; fi
    rc=0
    timeout -k 5 "$check_timeout" "$check" >"$tmp/check.out" 2>&1 || rc=$?
    if [ "$rc" != 0 ]; then
      health_error="health check $(basename "$check") failed (exit $rc): $(tail_of "$tmp/check.out" 2)"
      return 1
    fi
  done
  return 0
}

# Restores PREV exactly (its store path, not "the previous generation") and checks it runs.
roll_back() {
  prev=$1
  prev_action=$2
  reason=$3
  if [ -z "$prev" ]; then
    fail "$reason; no previous system to roll back to"
    return
  fi
  log "rolling back to $prev: $reason"
  rc=$(activate "$prev" "$prev_action")
  case $rc in
    0 | 4 | 100) ;;
    *)
      fail "$reason; the rollback to $prev failed too (switch-to-configuration $prev_action: $rc)"
      return
      ;;
  esac
  if [ "$prev_action" = switch ] && [ "$(fleet_current_system)" != "$prev" ]; then
    fail "$reason; after the rollback the host runs $(fleet_current_system), not $prev"
    return
  fi
  fail "rolled back to $prev: $reason"
}

# apply MANIFEST_PATH JSON: the manifest is verified and newer than the last applied one.
apply() {
  mpath=$1
  m=$2
  system=$(json_field system "$m")
  action=$(json_field action "$m")
  rollback=$(json_field rollback "$m")
  sequence=$(json_field sequence "$m")
  activation=$(json_field activation "$m") || activation=
  prev=$(fleet_current_system)

  log "manifest $sequence: $action $system"
  measure_download "$system"
  if [ "$(head -c 1 "$state/download" 2>/dev/null)" = '{' ]; then
    # Reported before the fetch, which may take hours: the fleet sees the host is fetching, and how much.
    # In a subshell: gather_facts sets variables (sequence, …) this run still needs as they are.
    (gather_facts && write_report) || true
  fi
  staged=
  if can_stage && [ -s "$tmp/missing" ]; then
    staged=1
    if ! stage_closure "$tmp/missing"; then
      # Not recorded as applied: the next run continues where this one stopped (poor links come back).
      fail "could not fetch $system: $stage_error"
      remember_rate
      measure_download "$system"
      return 1
    fi
    remember_rate
  fi
  if ! realise_system "$system" $staged; then
    # Not recorded as applied: the next run tries again.
    fail "could not fetch $system from ${substituters:-the configured substituters}: $(tail_of "$tmp/nix.err" 2)"
    # Everything was staged, yet Nix refused it (a NAR that does not match its narinfo): fetch anew.
    clear_stage
    measure_download "$system"
    return 1
  fi
  clear_stage
  put_state download "fetched $system"
  if [ "$activation" != now ] && ! in_window "$activation_window"; then
    # Not applied: a later run inside the window finds the closure there and switches.
    put_state waiting "fetched $system; waits for the activation window $activation_window"
    log "manifest $sequence: $system is here; switching waits for the activation window $activation_window"
    return 0
  fi

  # The point of no return: a crash from here on must not apply the manifest a second time.
  put_state sequence "$sequence"
  put_state manifest "$mpath"
  nix-env -p "$manifest_profile" --set "$mpath" 2>"$tmp/nix.err" || log "could not record $mpath in $manifest_profile: $(tail_of "$tmp/nix.err" 1)"
  put_state desired "$system"
  put_state manifest.json "$m"
  put_state error "activation of $system was interrupted"
  rm -f "$state/reboot-requested"

  case $action in
    switch) s2c=switch ;;
    *) s2c=boot ;;
  esac
  rc=$(activate "$system" "$s2c")
  problem=
  case $rc in
    0 | 100) ;;
    4) ;;
    profile) problem="could not set $profile to $system: $(tail_of "$tmp/nix.err" 2)" ;;
    *) problem="switch-to-configuration $s2c exited with $rc" ;;
  esac
  if [ -z "$problem" ] && [ "$s2c" = switch ]; then
    health_error=
    run_health_checks || problem=$health_error
  fi

  if [ -n "$problem" ]; then
    if [ "$rollback" = auto ] && [ "$rc" != profile ]; then
      roll_back "$prev" "$s2c" "$problem"
    else
      fail "$problem"
    fi
    put_state error "$run_error"
    return 1
  fi
  if [ "$rc" = 4 ]; then
    # Activated, but units failed: kept (it is a degraded host, not a broken one).
    fail "switch-to-configuration $s2c exited with 4: some units failed"
    put_state error "$run_error"
    return 1
  fi
  put_state error ""
  [ "$action" = reboot ] && : > "$state/reboot-requested"
  log "manifest $sequence applied: $(fleet_current_system) runs"
  return 0
}

# The manifest the profile beside the system's records as applied (empty when none).
applied_manifest() { readlink -f "$manifest_profile" 2>/dev/null || true; }

# The sequence every new manifest must exceed: the state's, or the manifest profile's when the
# state was lost (the larger of the two; a loss is logged).
sequence_floor() {
  from_state=$(get_state sequence)
  is_number "$from_state" || from_state=0
  from_profile=0
  recorded=$(applied_manifest)
  if [ -n "$recorded" ]; then
    n=${recorded#/nix/store/*-fleet-manifest-"$host"-}
    is_number "$n" && from_profile=$n
  fi
  if [ "$from_profile" -gt "$from_state" ]; then
    log "the agent's state has sequence $from_state but $manifest_profile records $from_profile: state was lost; using $from_profile"
    echo "$from_profile"
  else
    echo "$from_state"
  fi
}

# The manifest pointers of the mirrors and the store (asked in that order), as lines
# "SEQUENCE SOURCE STORE-PATH" in $tmp/candidates, newest first (at one sequence, in source order).
# 0: some found; 3: none has one; 1: none found and some could not be read (why: $pointer_error).
# A source that fails is passed over for the next.
find_pointers() {
  pointer_error=''
  : >"$tmp/candidates"
  for source in $mirrors $store_url; do
    source=${source%/}
    url="$source/fleet/$environment/$host.json"
    fetch "$url" "$tmp/pointer.json"
    case $? in
      0) ;;
      3)
        log "no manifest for $host in $environment at $url (${code:-missing})"
        continue
        ;;
      *)
        pointer_error="${pointer_error:+$pointer_error; }could not fetch the manifest pointer $url: $fetch_error"
        continue
        ;;
    esac
    pointer=$(tr -d ' \n\t\r' <"$tmp/pointer.json")
    candidate=$(json_field storePath "$pointer") || candidate=
    if ! is_store_path "$candidate"; then
      pointer_error="${pointer_error:+$pointer_error; }manifest refused: $url names no manifest store path"
      continue
    fi
    name=${candidate#/nix/store/*-}
    n=${name#fleet-manifest-"$host"-}
    if [ "$name" = "$n" ] || ! is_number "$n"; then
      pointer_error="${pointer_error:+$pointer_error; }manifest refused: $candidate is not a manifest of $host"
      continue
    fi
    # A mirror that is behind (a disk from last month) is no replay: passed over, not refused.
    if [ "$source" != "$store_url" ] && [ "$n" -le "$(sequence_floor 2>/dev/null)" ]; then
      log "the mirror $source has manifest $n, not newer than the one applied"
      continue
    fi
    printf '%s %s %s\n' "$n" "$source" "$candidate" >>"$tmp/candidates"
  done
  sort -s -k1,1nr -o "$tmp/candidates" "$tmp/candidates"
  [ -s "$tmp/candidates" ] && return 0
  [ -n "$pointer_error" ] && return 1
  return 3
}

# check_manifest: the manifest $mpath (sequence $number, from $manifest_store) is fetched with a
# valid signature and sets m, system, action and sequence; 1 (why: $run_error) when it is refused.
check_manifest() {
  verify_manifest_path "$mpath" || return 1
  m=$(cat "$mpath")
  format=$(json_field format "$m") || format=
  m_host=$(json_field host "$m") || m_host=
  m_env=$(json_field environment "$m") || m_env=
  system=$(json_field system "$m") || system=
  action=$(json_field action "$m") || action=
  sequence=$(json_field sequence "$m") || sequence=
  expires=$(json_field expiresAt "$m") || expires=
  [ "$format" = 1 ] || { fail "manifest refused: format ${format:-missing} is not 1 (update the agent)"; return 1; }
  [ "$m_host" = "$host" ] || { fail "manifest refused: it is for host ${m_host:-?}, not $host"; return 1; }
  [ "$m_env" = "$environment" ] || { fail "manifest refused: it is for environment ${m_env:-?}, not $environment"; return 1; }
  is_store_path "$system" || { fail "manifest refused: system ${system:-?} is not a store path"; return 1; }
  case $action in switch | boot | reboot) ;; *) fail "manifest refused: unknown action ${action:-?}"; return 1 ;; esac
  { is_number "$sequence" && [ "$sequence" = "$number" ]; } || { fail "manifest refused: its sequence ${sequence:-?} does not match its name"; return 1; }

  last=$(sequence_floor)
  if [ "$sequence" -lt "$last" ]; then
    fail "manifest refused: sequence $sequence is older than the applied $last (a replayed manifest?)"
    return 1
  fi
  if [ "$sequence" -eq "$last" ]; then
    fail "manifest refused: sequence $sequence was applied already from another manifest ($(applied_manifest)), replayed?"
    return 1
  fi
  expiry=$(date -u -d "$expires" +%s 2>/dev/null) || { fail "manifest refused: expiry ${expires:-?} is not a time"; return 1; }
  if [ "$(date -u +%s)" -ge "$expiry" ]; then
    fail "manifest refused: sequence $sequence expired at $expires"
    return 1
  fi
}

# One run: returns 0 when nothing is wrong. The newest manifest that passes every check is applied;
# a newer one that is refused (a forged manifest on a mirror) does not hide it, but stays the run's
# error, so the host reports it until the source is sound again.
converge() {
  find_pointers
  case $? in
    0) ;;
    3) return 0 ;;
    *)
      fail "$pointer_error"
      return 1
      ;;
  esac
  refused=
  found=
  while read -r number manifest_store mpath <&3; do
    if [ "$mpath" = "$(get_state manifest)" ] || [ "$mpath" = "$(applied_manifest)" ]; then
      log "manifest $number is applied already"
      break
    fi
    [ "$manifest_store" = "$store_url" ] || log "manifest $number from the mirror $manifest_store"
    if check_manifest; then
      found=1
      break
    fi
    if [ "$manifest_store" != "$store_url" ]; then
      run_error="$run_error (from the mirror $manifest_store)"
    fi
    refused="${refused:+$refused; }$run_error"
  done 3<"$tmp/candidates"
  if [ -n "$found" ]; then
    # What the host should run from now on, even if fetching or switching fails (the metrics say so).
    put_state accepted "$system"
    if ! apply "$mpath" "$m"; then
      [ -n "$refused" ] && fail "$refused; $run_error"
      return 1
    fi
  fi
  [ -z "$refused" ] && return 0
  fail "$refused"
  return 1
}

# --- the status report --------------------------------------------------------------------------

# The profile's generations other than $1, newest first (at most 10), as comma-separated JSON strings:
# what a rollback can go back to, which the cache's garbage collection keeps.
earlier_generations() {
  numbers=
  for link in "$profile"-*-link; do
    [ -L "$link" ] || continue
    n=${link#"$profile"-}
    n=${n%-link}
    is_number "$n" && [ "$n" != "$1" ] && numbers="$numbers$n
"
  done
  list=
  for n in $(printf '%s' "$numbers" | sort -rn | head -n 10); do
    target=$(readlink -f "$profile-$n-link") || continue
    list="$list${list:+,}$(json_string "$target")"
  done
  printf '%s' "$list"
}

# What the report and the metrics say about the host, read once after the run.
gather_facts() {
  cur=$(fleet_current_system)
  boot=$(fleet_booted_system)
  [ -n "$boot" ] || boot=$cur
  gen=$(fleet_generation "$profile")
  is_number "$gen" || gen=
  failed_units=$(fleet_failed_units)
  if needs_reboot; then reboot=1; else reboot=0; fi
  error=$run_error
  [ -n "$error" ] || error=$(get_state error)
  waiting=$(get_state waiting)
  rate=$(get_state rate)
  is_number "$rate" || rate=
  sequence=$(get_state sequence)
  is_number "$sequence" || sequence=
  desired=$(get_state desired)
  # The newest manifest that passed every check; before the agent kept it, the applied one's.
  accepted=$(get_state accepted)
  is_store_path "$accepted" || accepted=$desired
  now=$(date -u +%s)
  adopted=$(stat -c %Y /run/current-system 2>/dev/null || echo "$now")
  [ "$adopted" -le "$now" ] || adopted=$now
  last_run=$(get_state last-run)
  last_run_at=${last_run% *}
  last_run_ok=${last_run#* }
  { is_number "$last_run_at" && is_number "$last_run_ok"; } || last_run_at='' last_run_ok=''
  # What of the accepted system is still to fetch: the record (JSON) while it is pending, else
  # nothing; download_known says whether "nothing" is known (fetched, or nothing to fetch).
  download=$(get_state download)
  download_known=1
  case $download in
    "{\"system\":\"$accepted\","*) [ "$cur" != "$accepted" ] || download= ;;
    "fetched $accepted") download= ;;
    *)
      download=
      [ -z "$accepted" ] || [ "$cur" = "$accepted" ] || download_known=
      ;;
  esac
}

number_or_null() { printf '%s' "${1:-null}"; }

render_report() {
  units=
  for unit in $failed_units; do units="$units${units:+,}$(json_string "$unit")"; done
  if [ "$reboot" = 1 ]; then needs=true; else needs=false; fi
  printf '{"format":1,"host":%s,"system":%s,"booted":%s,"profileGeneration":%s,"failedUnits":[%s],"needsReboot":%s,"lastError":%s,"reportedAt":"%s","adoptedAt":"%s","manifestSequence":%s,"agentVersion":"%s","desired":%s,"generations":[%s],"download":%s,"waiting":%s,"fetchBytesPerSecond":%s}\n' \
    "$(json_string "$host")" "$(json_string "$cur")" "$(json_string "$boot")" "$(number_or_null "$gen")" "$units" "$needs" \
    "$(json_or_null "$error")" "$(date -u -d "@$now" +%Y-%m-%dT%H:%M:%SZ)" "$(date -u -d "@$adopted" +%Y-%m-%dT%H:%M:%SZ)" \
    "$(number_or_null "$sequence")" "$agent_version" "$(json_or_null "$desired")" "$(earlier_generations "$gen")" "${download:-null}" "$(json_or_null "$waiting")" "$(number_or_null "$rate")"
}

# Writes the report to the state directory, then uploads it (a failed upload is retried next run).
write_report() {
  render_report > "$state/status.json.tmp" && mv -f "$state/status.json.tmp" "$state/status.json"
  url=${report_url:-$store_url/fleet/status/$host.json}
  case $url in
    file://*)
      file=${url#file://}
      mkdir -p "$(dirname "$file")" && cp "$state/status.json" "$file.tmp.$$" && mv -f "$file.tmp.$$" "$file" && return 0
      log "could not write the status report to $file"
      return 1
      ;;
  esac
  set -- curl -sS --proto '=http,https' --connect-timeout "$connect_timeout" --max-time 60 --retry 3 \
    -T "$state/status.json" -H 'Content-Type: application/json' -o /dev/null -w '%{http_code}'
  if [ -n "$token_file" ]; then
    token=$(cat "$token_file" 2>/dev/null) || { log "cannot read the report token $token_file"; return 1; }
    case $token in '' | *[!A-Za-z0-9._~+/=-]*) log "the report token in $token_file is empty or has odd characters"; return 1 ;; esac
    # The token goes to curl on stdin (printf is a shell builtin): never in an argv.
    code=$(printf 'header = "Authorization: Bearer %s"\n' "$token" | "$@" --config - "$url" 2>"$tmp/curl.err")
  else
    code=$("$@" "$url" 2>"$tmp/curl.err")
  fi
  case $code in
    2??) return 0 ;;
  esac
  log "could not upload the status report to $url: HTTP ${code:-none} $(tail_of "$tmp/curl.err" 1)"
  return 1
}

# --- metrics (node_exporter textfile, Zabbix JSON) ----------------------------------------------

nl='
'

# A label value in the Prometheus text format: backslash, double quote and newline escaped.
prom_label() {
  s=$1
  out=
  while :; do
    case $s in
      *[\\\"$nl]*)
        pre=${s%%[\\\""$nl"]*}
        rest=${s#"$pre"}
        ch=${rest%"${rest#?}"}
        case $ch in
          "$nl") out="$out$pre\\n" ;;
          *) out="$out$pre\\$ch" ;;
        esac
        s=${rest#?}
        ;;
      *)
        out="$out$s"
        break
        ;;
    esac
  done
  printf '%s' "$out"
}

# gauge NAME HELP: the family's header (every metric here is a gauge).
gauge() { printf '# HELP %s %s\n# TYPE %s gauge\n' "$1" "$2" "$1"; }

# sample NAME VALUE [LABELS]: one sample, labelled with the host (LABELS escaped already).
sample() { printf '%s{host="%s"%s} %s\n' "$1" "$prom_host" "${3:+,$3}" "$2"; }

# A fact the agent does not know is left out, not made up.
known_sample() {
  [ -n "$2" ] || return 0
  gauge "$1" "$3"
  sample "$1" "$2"
}

# download_fact FIELD DEFAULT: a number from the pending download; DEFAULT when nothing is pending,
# and nothing at all when that is not known.
download_fact() {
  if [ -n "$download" ]; then
    json_field "$1" "$download"
  elif [ -n "$download_known" ]; then
    printf '%s' "$2"
  fi
}

up_to_date() {
  [ -n "$accepted" ] || return 0
  if [ "$cur" = "$accepted" ]; then echo 1; else echo 0; fi
}

unit_count() { printf '%s' "$failed_units" | grep -c .; }

render_prometheus() {
  prom_host=$(prom_label "$host")
  gauge fleet_agent_info "The pull agent's version; always 1."
  sample fleet_agent_info 1 "version=\"$(prom_label "$agent_version")\""
  if [ -n "$cur" ]; then
    gauge fleet_host_system_info "The host's systems (store paths): current, booted, and desired (the newest accepted manifest's); always 1."
    sample fleet_host_system_info 1 "current=\"$(prom_label "$cur")\",booted=\"$(prom_label "$boot")\",desired=\"$(prom_label "$accepted")\""
    gauge fleet_host_adopted_timestamp_seconds "When the current system was switched to (Unix time)."
    sample fleet_host_adopted_timestamp_seconds "$adopted"
  fi
  known_sample fleet_host_up_to_date "$(up_to_date)" "1 when the host runs the newest accepted manifest's system, 0 when not (left out before any manifest)."
  known_sample fleet_agent_last_run_timestamp_seconds "$last_run_at" "When the agent's last run ended (Unix time)."
  known_sample fleet_agent_last_run_success "$last_run_ok" "1 when the agent's last run succeeded, 0 when it failed (the reason is in the status report's lastError)."
  gauge fleet_host_failed_units "How many systemd units are failed."
  sample fleet_host_failed_units "$(unit_count)"
  if [ -n "$failed_units" ]; then
    gauge fleet_host_failed_unit "A systemd unit that is failed; always 1."
    for unit in $failed_units; do sample fleet_host_failed_unit 1 "unit=\"$(prom_label "$unit")\""; done
  fi
  gauge fleet_host_needs_reboot "1 when only a reboot applies the current system (kernel, initrd, modules) or the boot default is not what runs."
  sample fleet_host_needs_reboot "$reboot"
  known_sample fleet_manifest_sequence "$sequence" "The sequence number of the last manifest applied (a rolled-back one included)."
  known_sample fleet_host_download_paths_remaining "$(download_fact paths 0)" "Store paths of the desired system's closure the host still has to fetch (0: nothing pending; left out when not known)."
  known_sample fleet_host_download_bytes_remaining "$(download_fact bytes 0)" "NAR bytes of those paths (0: nothing pending; left out when not known)."
  known_sample fleet_host_download_bytes_total "$(download_fact totalBytes '')" "NAR bytes of the whole closure being fetched (left out when nothing is pending)."
  known_sample fleet_host_fetch_bytes_per_second "$rate" "Bytes per second the link delivered the last time the agent fetched a closure (left out before it measured one)."
  known_sample fleet_host_profile_generation "$gen" "The system profile's generation number."
}

render_zabbix() {
  names=
  for unit in $failed_units; do names="$names${names:+ }$unit"; done
  adopted_or_null=null
  [ -z "$cur" ] || adopted_or_null=$adopted
  printf '{"host":%s,"agent_version":%s,"current_system":%s,"booted_system":%s,"desired_system":%s,"up_to_date":%s,"adopted_timestamp_seconds":%s,"last_run_timestamp_seconds":%s,"last_run_success":%s,"failed_units":%s,"failed_unit_names":%s,"needs_reboot":%s,"manifest_sequence":%s,"profile_generation":%s,"download_paths_remaining":%s,"download_bytes_remaining":%s,"fetch_bytes_per_second":%s,"last_error":%s}\n' \
    "$(json_string "$host")" "$(json_string "$agent_version")" "$(json_or_null "$cur")" "$(json_or_null "$boot")" "$(json_or_null "$accepted")" \
    "$(number_or_null "$(up_to_date)")" "$adopted_or_null" \
    "$(number_or_null "$last_run_at")" "$(number_or_null "$last_run_ok")" "$(unit_count)" "$(json_string "$names")" "$reboot" \
    "$(number_or_null "$sequence")" "$(number_or_null "$gen")" "$(number_or_null "$(download_fact paths 0)")" "$(number_or_null "$(download_fact bytes 0)")" "$(number_or_null "$rate")" "$(json_or_null "$error")"
}

# publish_file SOURCE FILE: puts SOURCE at FILE through a temporary file beside it, so a reader never
# sees half of it. The temporary name does not end in .prom: node_exporter reads only *.prom files.
# mktemp creates it exclusively under a fresh name: a link planted in a shared directory is never
# followed by root.
publish_file() {
  if part=$(mktemp "$(dirname "$2")/.$(basename "$2").XXXXXX" 2>/dev/null); then
    # World-readable: the exporters run as their own users, and nothing here is secret (the report is public).
    cat "$1" > "$part" && chmod 0644 "$part" && mv -f "$part" "$2" && return 0
    rm -f "$part"
  fi
  log "could not write $2"
  return 1
}

# A metrics file that cannot be written is logged, but does not fail the run it describes.
write_metrics() {
  if [ -n "$prometheus_dir" ]; then
    render_prometheus > "$tmp/fleet.prom" && publish_file "$tmp/fleet.prom" "$prometheus_dir/fleet.prom"
  fi
  if [ -n "$zabbix_file" ]; then
    render_zabbix > "$tmp/zabbix.json" && publish_file "$tmp/zabbix.json" "$zabbix_file"
  fi
  return 0
}

# Only runs count as runs: `report` describes the last run, it is not one.
record_run() {
  last_run_at=$now
  last_run_ok=$((status == 0))
  put_state last-run "$last_run_at $last_run_ok"
}

# --- reboots ------------------------------------------------------------------------------------

maybe_reboot() {
  if [ -e "$state/reboot-requested" ] && [ "$(fleet_booted_system)" = "$(get_state desired)" ]; then
    rm -f "$state/reboot-requested"
  fi
  wanted=
  [ -e "$state/reboot-requested" ] && wanted="the manifest asks for a reboot"
  if [ -z "$wanted" ] && [ "$allow_reboot" = true ] && needs_reboot; then wanted="the running kernel is out of date"; fi
  [ -n "$wanted" ] || return 0
  if ! in_window "$reboot_window"; then
    log "reboot postponed to the window $reboot_window: $wanted"
    put_state waiting "$wanted; postponed to the reboot window $reboot_window"
    return 0
  fi
  log "rebooting: $wanted"
  rm -f "$state/reboot-requested"
  reboot_now=1
}

# --- main ---------------------------------------------------------------------------------------

command=${1:-run}
case $command in
  version)
    echo "fleet-agent $agent_version"
    exit 0
    ;;
  run | report) ;;
  *) die "unknown command $command (run, report, version)" ;;
esac

[ -n "$host" ] || die "FLEET_AGENT_HOST is not set"
[ -n "$environment" ] || die "FLEET_AGENT_ENVIRONMENT is not set"
[ -n "$store_url" ] || die "FLEET_AGENT_STORE_URL is not set"
[ -n "$manifest_keys" ] || die "FLEET_AGENT_MANIFEST_KEYS is not set"
[ -z "$bandwidth_limit" ] || bytes_per_second "$bandwidth_limit" >/dev/null ||
  die "FLEET_AGENT_BANDWIDTH_LIMIT \"$bandwidth_limit\" is not bytes per second such as 200k or 1m"
for window in "$reboot_window" "$activation_window"; do
  case $window in
    '' | [0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]) ;;
    *) die "the window \"$window\" is not HH:MM-HH:MM (local time, for example 01:00-05:00)" ;;
  esac
done

mkdir -p "$state" || die "cannot create $state"
chmod 0700 "$state"
tmp=$(mktemp -d) || die "cannot create a temporary directory"
take_lock

status=0
reboot_now=
if [ "$command" = run ]; then
  # Set again by this run if it still waits.
  rm -f "$state/waiting"
  converge || status=1
  maybe_reboot
fi
gather_facts
write_report || status=1
[ "$command" = run ] && record_run
write_metrics
if [ -n "$reboot_now" ]; then
  systemctl reboot || reboot
fi
exit "$status"
