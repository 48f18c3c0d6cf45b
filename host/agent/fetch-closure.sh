# shellcheck shell=sh
# shellcheck disable=SC2154,SC2034 # the agent sets what this reads and reads what this sets
# Sourced by fleet-agent.sh: fetches the NARs of a closure with curl into a staging store in the
# agent's state, resumable across runs. A link cut mid-NAR or a power loss costs only the bytes in
# flight: the next run asks for the rest (HTTP Range), and the paths already staged stay staged.
# Nix then substitutes from the staging store first and checks every path exactly as it would from
# the network (the narinfo's signature against the trusted keys, the NAR's hash).
#
# Nix alone keeps each path it fetched completely, but starts a NAR cut off by a lost link or a
# killed process from its first byte again; over a link of a few hundred kbit/s that is hours.
#
# Staging store ($state/fetch, root-only like the rest of the state):
#   nix-cache-info
#   <hash>.narinfo          a path whose NAR is complete (a binary cache Nix reads as file://)
#   nar/<file>              the complete NARs
#   partial/<hash>.narinfo  the narinfo of a path whose NAR is still coming,
#   partial/<hash>.source   the substituter it came from (the NAR must come from the same one),
#   partial/<file>          and that NAR so far.
#
# It needs substituters curl can read (http, https, file); with others (s3://, ssh://) or none
# configured, Nix fetches as before. Reads $state, $tmp, $substituters, $connect_timeout,
# $bandwidth_limit; uses is_store_path and log from the agent.

stage_dir() { printf '%s' "$state/fetch"; }

# True when every substituter is one curl reads.
can_stage() {
  [ -n "$substituters" ] || return 1
  for sub in $substituters; do
    case $sub in http://* | https://* | file://*) ;; *) return 1 ;; esac
  done
}

# stage_curl URL FILE [RESUME]: fetches URL to FILE (appending to it with RESUME); sets curl_code
# (the HTTP status) and returns curl's exit status. A link that delivers nothing for two minutes
# counts as cut; there is no overall limit. Under a bandwidth limit HTTP fetches are paced.
stage_curl() {
  [ -n "${3:-}" ] || rm -f "$2"
  if [ -n "$bandwidth_limit" ]; then
    case $1 in http://* | https://*)
      stage_paced "$1" "$2"
      return
      ;;
    esac
  fi
  if [ -n "${3:-}" ]; then resume=-; else resume=0; fi
  stage_curl_run "$1" -C "$resume" -o "$2"
}

# stage_curl_run URL CURL-ARGS...: curl with the agent's settings; sets curl_code.
stage_curl_run() {
  url=$1
  shift
  # -f: an error answer's body never lands in the file (a resumed NAR would carry it).
  set -- curl -fsS -L --proto '=http,https,file' --connect-timeout "$connect_timeout" --speed-limit 1 --speed-time 120 \
    -w '%{http_code}' "$@" "$url"
  [ -n "$bandwidth_limit" ] && set -- "$@" --limit-rate "$bandwidth_limit"
  curl_code=$("$@" 2>"$tmp/curl.err")
}

# bytes_per_second LIMIT: LIMIT (curl's --limit-rate: 1000, 200k, 1m, 1g; 1024-based) in bytes.
bytes_per_second() {
  number=${1%[kKmMgG]}
  case $number in '' | 0* | *[!0-9]*) return 1 ;; esac
  case $1 in
    *[kK]) echo $((number * 1024)) ;;
    *[mM]) echo $((number * 1048576)) ;;
    *[gG]) echo $((number * 1073741824)) ;;
    *) echo "$number" ;;
  esac
}

# stage_paced URL FILE: appends the rest of URL to FILE in ranges of four seconds' worth at the
# bandwidth limit, sleeping after each until the run's bytes so far are due. curl's --limit-rate
# (kept within each range) alone averages loosely: Debian 12's curl 7.88 let a 100k limit run at
# 400k over a 1 MB/s link, and lets a small NAR through in one burst. Returns as curl -C - would:
# 0 at the end, 33 when the server ignores ranges, 22 with curl_code 416 when nothing is left.
stage_paced() {
  rate=$(bytes_per_second "$bandwidth_limit")
  piece=$((rate * 4))
  [ -n "${paced_since:-}" ] || { paced_since=$(date +%s) && paced_bytes=0; }
  first=yes
  while :; do
    from=$(stat -c %s "$2" 2>/dev/null || echo 0)
    rm -f "$2.range"
    rc=0
    stage_curl_run "$1" -r "$from-$((from + piece - 1))" -o "$2.range" || rc=$?
    got=$(stat -c %s "$2.range" 2>/dev/null || echo 0)
    case $curl_code in
      206) cat "$2.range" >>"$2" || return 1 ;;
      200) [ "$from" = 0 ] && mv -f "$2.range" "$2" || got=0 rc=33 ;;
      # The end came on a whole range.
      416) [ -n "$first" ] || rc=0 ;;
    esac
    rm -f "$2.range"
    paced_bytes=$((paced_bytes + got))
    due=$((paced_since + paced_bytes / rate))
    now=$(date +%s)
    [ "$now" -ge "$due" ] || sleep $((due - now))
    [ "$rc" = 0 ] || return "$rc"
    [ "$curl_code" = 206 ] && [ "$got" = "$piece" ] || return 0
    first=
  done
}

# read_narinfo FILE PATH: sets nar_url, nar_file, file_size and nar_size from FILE, a narinfo that
# must be PATH's and name a NAR under nar/ (the staging store serves it from there).
read_narinfo() {
  nar_url='' file_size='' nar_size='' named=''
  while IFS= read -r line; do
    case $line in
      "StorePath: "*) named=${line#StorePath: } ;;
      "URL: "*) nar_url=${line#URL: } ;;
      "FileSize: "*) file_size=${line#FileSize: } ;;
      "NarSize: "*) nar_size=${line#NarSize: } ;;
    esac
  done <"$1"
  [ "$named" = "$2" ] || return 1
  nar_file=${nar_url#nar/}
  case $nar_url in nar/*) ;; *) return 1 ;; esac
  case $nar_file in '' | .* | *[!A-Za-z0-9._-]*) return 1 ;; esac
  is_number "$nar_size" || return 1
  [ -z "$file_size" ] || is_number "$file_size"
}

# stage_path PATH: PATH's narinfo and NAR into the staging store, from the first substituter that
# has it and answers (a mirror stands in for a store that is down). Sets stage_error, and
# curl_code to the last answer's HTTP status (000: no answer), when it fails.
stage_path() {
  dir=$(stage_dir)
  hash=${1#/nix/store/}
  hash=${hash%%-*}
  info=$dir/partial/$hash.narinfo
  stage_error="no substituter has $1 ($substituters)"
  for sub in $substituters; do
    stage_from "${sub%/}" "$1" && return 0
  done
  return 1
}

# stage_from SUBSTITUTER PATH: stage_path from one substituter.
stage_from() {
  sub=$1
  if [ ! -s "$info" ] || [ "$(cat "$dir/partial/$hash.source" 2>/dev/null)" != "$sub" ]; then
    rm -f "$info"
    rc=0
    stage_curl "$sub/$hash.narinfo" "$info.tmp" || rc=$?
    if [ "$rc" != 0 ]; then
      rm -f "$info.tmp"
      # Not there (S3 answers 403 to readers who may not list; file:// 37): no error of its own.
      [ "$curl_code" = 404 ] || [ "$curl_code" = 403 ] || [ "$rc" = 37 ] ||
        stage_error="cannot fetch $hash.narinfo from $sub: $(tail_of "$tmp/curl.err" 1) (curl exit $rc, HTTP ${curl_code:-none})"
      return 1
    fi
    printf '%s\n' "$sub" >"$dir/partial/$hash.source" && mv -f "$info.tmp" "$info" || return 1
  fi
  if ! read_narinfo "$info" "$2"; then
    stage_error="$sub/$hash.narinfo is not a narinfo of $2 with a NAR under nar/"
    rm -f "$info"
    return 1
  fi
  part=$dir/partial/$nar_file
  rc=0
  had=$(stat -c %s "$part" 2>/dev/null || echo 0)
  stage_curl "$sub/$nar_url" "$part" resume || rc=$?
  have=$(stat -c %s "$part" 2>/dev/null || echo 0)
  [ "$have" -le "$had" ] || staged_wire_bytes=$((staged_wire_bytes + have - had))
  # 33: the server ignored the range; 416: nothing left to send (complete already, or grown stale).
  if [ "$rc" = 33 ] || { [ "$curl_code" = 416 ] && [ "$have" != "$file_size" ]; }; then
    rm -f "$part"
    rc=0
    stage_curl "$sub/$nar_url" "$part" || rc=$?
    have=$(stat -c %s "$part" 2>/dev/null || echo 0)
    staged_wire_bytes=$((staged_wire_bytes + have))
  fi
  if [ -n "$file_size" ] && [ "$have" = "$file_size" ]; then
    rc=0
  elif [ "$rc" = 0 ] && [ -n "$file_size" ]; then
    # Not the size the narinfo names: not its NAR. Fetched again from the start next time.
    stage_error="$sub/$nar_url came to $have bytes, its narinfo says $file_size"
    rm -f "$part"
    return 1
  fi
  if [ "$rc" != 0 ]; then
    stage_error="$sub/$nar_url: $(tail_of "$tmp/curl.err" 1) (curl exit $rc, HTTP ${curl_code:-none}; $have bytes kept, the next run continues from there)"
    [ "$curl_code" = 404 ] && rm -f "$part"
    return 1
  fi
  mv -f "$part" "$dir/nar/$nar_file" && mv -f "$info" "$dir/$hash.narinfo" || return 1
  rm -f "$dir/partial/$hash.source"
  staged_nar_bytes=$((staged_nar_bytes + nar_size))
  return 0
}

# is_staged PATH: PATH's NAR is complete in the staging store.
is_staged() {
  hash=${1#/nix/store/}
  [ -f "$(stage_dir)/${hash%%-*}.narinfo" ]
}

# stage_closure MISSING: stages every path listed in the file MISSING (one a line) that is not
# staged yet, one after another. A path the server refuses is skipped for the others; a link that
# fails stops it (the rest would fail too). Sets staged_nar_bytes (NAR bytes of the paths staged),
# staged_wire_bytes (bytes the link delivered, parts of NARs included) and staged_seconds, all of
# this run, and stage_error (the first failure).
stage_closure() {
  dir=$(stage_dir)
  staged_nar_bytes=0
  staged_wire_bytes=0
  started=$(date +%s)
  paced_since=
  mkdir -p "$dir/nar" "$dir/partial" || {
    stage_error="cannot create $dir"
    return 1
  }
  [ -f "$dir/nix-cache-info" ] || printf 'StoreDir: /nix/store\nWantMassQuery: 0\nPriority: 10\n' >"$dir/nix-cache-info"
  status_of_stage=0
  first_error=
  while IFS= read -r path; do
    is_store_path "$path" || continue
    is_staged "$path" && continue
    stage_path "$path" && continue
    status_of_stage=1
    first_error=${first_error:-$stage_error}
    case ${curl_code:-000} in 000) break ;; esac
  done <"$1"
  stage_error=$first_error
  staged_seconds=$(($(date +%s) - started))
  return "$status_of_stage"
}

# Removes the staging store: its paths are in the Nix store now (or it must be fetched anew).
clear_stage() { rm -rf "$(stage_dir)"; }
