#!/usr/bin/env bash
# Installs what building and testing rnnrt needs (Debian/Ubuntu), only where missing: the C libraries it builds
# against, and python3 for tools/test.sh's documentation check.
set -euo pipefail
need=()
for pkg in libzip-dev libprotobuf-c-dev python3; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "installing ${need[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
