#!/bin/sh
# systemd-run on a simulated host: starts the command outside the caller's session, as a
# transient unit would be (it survives the ssh connection that started it).
while [ $# -gt 0 ]; do
  case "$1" in
    --setenv=*) export "${1#--setenv=}"; shift ;;
    -E | --setenv) export "${2?}"; shift 2 ;;
    -u | --unit | -p | --property | --description) shift 2 ;;
    --) shift; break ;;
    -*) shift ;;
    *) break ;;
  esac
done
if [ $# -eq 0 ]; then
  echo "systemd-run (simulated host): no command" >&2
  exit 1
fi
exec setsid -f "$@" </dev/null >/dev/null 2>&1
