#!/bin/sh
# Install what building, testing and the demo need, from Debian's packages only.
# Does nothing when everything is present; needs root otherwise.
set -eu
PKGS="build-essential pkg-config libssl-dev openssl libjansson-dev libcmocka-dev libcurl4-openssl-dev libtss2-dev swtpm swtpm-tools clang-14 libclang-rt-14-dev perl binutils python3 nodejs"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
command -v clang >/dev/null 2>&1 || missing="$missing clang"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "tether: missing Debian packages:$missing" >&2
    echo "tether: run as root (or: sudo apt-get install$missing)" >&2
    exit 1
fi
echo "tether: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
