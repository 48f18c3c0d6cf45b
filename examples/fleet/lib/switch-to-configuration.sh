#!/bin/sh
# Placeholder: the simulated-host work replaces this with the full contract (see test/support/hosts).
set -eu
echo "switch-to-configuration $*"
