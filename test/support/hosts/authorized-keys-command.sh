#!/bin/sh
# sshd's AuthorizedKeysCommand on a simulated host: the deploy key, except while the running
# system is one that locks everyone out (switch-to-configuration's drop-ssh fault), which ends
# when another system is activated (the rollback).
blocked=$(cat /run/fleet-sim/ssh-blocked 2>/dev/null || true)
if [ -n "$blocked" ] && [ "$(readlink -f /run/current-system 2>/dev/null)" = "$blocked" ]; then exit 0; fi
cat /etc/ssh/authorized_keys
