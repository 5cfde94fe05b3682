#!/usr/bin/env bash
# Installs what the project needs from Debian's packages when it is missing:
# PostgreSQL server binaries (tests and the local stack), Node.js (CDK's jsii), and optionally Chromium.
# Usage: scripts/ensure-system-deps.sh [--browser]
set -euo pipefail
want=()
have_pg() { ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1; }
have_pg || want+=(postgresql)
command -v node >/dev/null 2>&1 || want+=(nodejs)
if [[ "${1:-}" == "--browser" ]]; then
  command -v chromium >/dev/null 2>&1 || want+=(chromium)
fi
if ((${#want[@]})); then
  echo "installing from Debian: ${want[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
fi
