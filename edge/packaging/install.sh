#!/bin/sh
# One-line install of the fieldline edge agent on a device that already has Node.js (>= 18):
#   curl -fsSL https://YOUR-HOST/install.sh | sudo sh -s -- https://YOUR-HOST/fieldline-edge_0.1.0_all.deb
# or, with the .deb copied to the device:  sudo sh install.sh ./fieldline-edge_0.1.0_all.deb
set -eu
DEB="${1:-}"
[ -n "$DEB" ] || { echo "usage: install.sh <URL or path of fieldline-edge_*.deb>" >&2; exit 64; }
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root (sudo)" >&2; exit 77; }
command -v node >/dev/null || { echo "install.sh: Node.js is not installed (apt-get install nodejs)" >&2; exit 69; }
MAJOR=$(node -p 'process.versions.node.split(".")[0]')
[ "$MAJOR" -ge 18 ] || { echo "install.sh: Node.js >= 18 needed, found $(node -v)" >&2; exit 69; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
case "$DEB" in
  http://*|https://*) curl -fsSL -o "$TMP/fieldline-edge.deb" "$DEB" ;;
  *) cp "$DEB" "$TMP/fieldline-edge.deb" ;;
esac
# Node may come from outside Debian (nodesource, a tarball): then dpkg cannot see the nodejs package.
if dpkg -s nodejs >/dev/null 2>&1; then dpkg -i "$TMP/fieldline-edge.deb"; else dpkg -i --ignore-depends=nodejs "$TMP/fieldline-edge.deb"; fi
echo "Installed. Edit /etc/fieldline/edge.yaml, check it with: fieldline-edge check-config"
echo "then start it with: systemctl start fieldline-edge && journalctl -u fieldline-edge -f"
