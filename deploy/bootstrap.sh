#!/usr/bin/env bash
# Installs what fieldline needs on Debian 12 + Node 20, so that `npm run demo` and `npm test`
# work on a fresh clone: Debian packages with apt when run as root (else the exact command is
# printed), then npm dependencies when node_modules is missing or older than the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
have nats-server || need+=(nats-server)
have influxd || need+=(influxdb)
have socat || need+=(socat)
have mosquitto || need+=(mosquitto)
have mosquitto_pub || need+=(mosquitto-clients)
have chromium || need+=(chromium)
# The .deb tests: lintian (0 errors on each package), readelf for native modules' Depends.
have lintian || need+=(lintian)
have readelf || need+=(binutils)
# The Prometheus tests: promtool (config, rules, metrics) and a real scrape of the demo's services.
{ have prometheus && have promtool; } || need+=(prometheus)

if ((${#need[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "fieldline: installing Debian packages: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "fieldline needs these Debian packages. Install them with:" >&2
    echo "  sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "fieldline: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi
