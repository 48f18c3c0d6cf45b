#!/bin/sh
# fleet-cache-credentials: the credentials of fleet's self-hosted cache server
# (host/nixos/fleet-cache-server.nix, nginx config in this directory).
#
# Each pull host PUTs its status report with a bearer token of its own, derived from one master
# secret: token = hex(HMAC-SHA256(secret, "fleet-report:" + host)). The server keeps only the
# secret; the operator prints a host's token for its reportTokenFile. Rotating the secret
# changes every token.
#
#   fleet-cache-credentials.sh new-secret                          a fresh secret (64 hex digits) on stdout
#   fleet-cache-credentials.sh token SECRET_FILE HOST              HOST's report token on stdout
#   fleet-cache-credentials.sh report-map SECRET_FILE HOSTS_FILE OUT
#                                   nginx map entries ("Bearer <token>" host;) for the hosts in
#                                   HOSTS_FILE (one name a line) into OUT, mode 0640
#   fleet-cache-credentials.sh writers HTPASSWD_FILE OUT          the CI writers' htpasswd file, checked, into OUT
#
# SECRET_FILE "-" reads the secret from stdin. Secrets never reach an argv: the HMAC is computed
# with shell arithmetic and sha256sum reading stdin. Host names must follow the inventory's rule
# (letters, digits, ".", "_", "-", not starting with ".", "_" or "-"): nothing else can reach
# nginx's configuration.
set -eu

die() {
  printf 'fleet-cache-credentials: %s\n' "$*" >&2
  exit 1
}

valid_host() {
  case $1 in
    '' | [._-]* | *[!A-Za-z0-9._-]*) return 1 ;;
  esac
  return 0
}

# Reads the master secret (64 hex digits, surrounding blanks ignored) from $1 ("-": stdin) into $secret.
read_secret() {
  if [ "$1" = - ]; then
    secret=$(cat)
  else
    [ -r "$1" ] || die "cannot read the secret file $1"
    secret=$(cat -- "$1")
  fi
  secret=$(printf '%s' "$secret" | tr -d ' \t\r\n')
  case $secret in
    *[!0-9a-fA-F]*) die 'the secret must be 64 hex digits (make one with: fleet-cache-credentials.sh new-secret)' ;;
  esac
  [ "${#secret}" -eq 64 ] || die 'the secret must be 64 hex digits (make one with: fleet-cache-credentials.sh new-secret)'
}

# Prints printf %b escapes (\0ooo) for the bytes of the hex string $1, each XORed with $2.
hex_escapes() {
  rest=$1 out=''
  while [ -n "$rest" ]; do
    pair=${rest%"${rest#??}"}
    rest=${rest#??}
    byte=$((0x$pair ^ $2))
    out="$out\\0$((byte / 64))$((byte / 8 % 8))$((byte % 8))"
  done
  printf '%s' "$out"
}

# Sets $ipad and $opad, the HMAC-SHA256 key blocks of $secret (32 bytes, zero-padded to 64).
key_blocks() {
  padded="${secret}0000000000000000000000000000000000000000000000000000000000000000"
  ipad=$(hex_escapes "$padded" 54)  # 0x36
  opad=$(hex_escapes "$padded" 92)  # 0x5c
}

# Prints the token of host $1 (needs key_blocks).
host_token() {
  inner=$({ printf '%b' "$ipad"; printf 'fleet-report:%s' "$1"; } | sha256sum)
  inner=${inner%% *}
  outer=$({ printf '%b' "$opad"; printf '%b' "$(hex_escapes "$inner" 0)"; } | sha256sum)
  printf '%s\n' "${outer%% *}"
}

# Writes stdin to $1 atomically (a temp file beside it, renamed), mode 0640.
write_file() {
  tmp="$1.tmp.$$"
  (umask 027 && cat >"$tmp") || { rm -f -- "$tmp"; die "cannot write $1"; }
  mv -f -- "$tmp" "$1"
}

command=${1:-}
[ $# -gt 0 ] && shift
case $command in
  new-secret)
    [ $# -eq 0 ] || die 'usage: new-secret'
    od -An -tx1 -N32 /dev/urandom | tr -d ' \n'
    echo
    ;;
  token)
    [ $# -eq 2 ] || die 'usage: token SECRET_FILE HOST'
    valid_host "$2" || die "not an inventory host name: $2"
    read_secret "$1"
    key_blocks
    host_token "$2"
    ;;
  report-map)
    [ $# -eq 3 ] || die 'usage: report-map SECRET_FILE HOSTS_FILE OUT'
    [ -r "$2" ] || die "cannot read the host list $2"
    read_secret "$1"
    key_blocks
    # Checks every name before anything is written: one bad line writes nothing.
    while IFS= read -r host || [ -n "$host" ]; do
      [ -z "$host" ] && continue
      valid_host "$host" || die "not an inventory host name in $2: $host"
    done <"$2"
    while IFS= read -r host || [ -n "$host" ]; do
      [ -z "$host" ] && continue
      printf '"Bearer %s" %s;\n' "$(host_token "$host")" "$host"
    done <"$2" | write_file "$3"
    count=$(grep -c . "$3" || true)
    printf 'fleet-cache-credentials: report tokens for %s host(s) in %s\n' "$count" "$3" >&2
    ;;
  writers)
    [ $# -eq 2 ] || die 'usage: writers HTPASSWD_FILE OUT'
    [ -r "$1" ] || die "cannot read the writers' htpasswd file $1"
    # user:hash lines only (a plain password would be taken as a crypt hash and never match).
    # shellcheck disable=SC2016 # a regex: $ is literal
    if grep -v -E -q '^[A-Za-z0-9._-]+:\$(2[aby]|5|6|apr1)\$[^[:space:]:]+$' "$1"; then
      die "$1 must hold only user:hash lines (make one with: printf 'ci:%s\\n' \"\$(openssl passwd -6)\")"
    fi
    grep -q . "$1" || die "$1 holds no writer"
    write_file "$2" <"$1"
    ;;
  *)
    die 'usage: fleet-cache-credentials.sh new-secret | token SECRET_FILE HOST | report-map SECRET_FILE HOSTS_FILE OUT | writers HTPASSWD_FILE OUT'
    ;;
esac
