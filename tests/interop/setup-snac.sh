#!/usr/bin/env bash
# Installs snac2 (an independent ActivityPub server) from Debian's
# bookworm-backports, for the interop test tests/suite/interop_snac.rs.
#
# Idempotent; run as root on Debian 12 (bookworm):
#     sudo bash tests/interop/setup-snac.sh
#
# Adds the bookworm-backports source (reusing the mirror host the machine's
# existing apt sources already name), runs apt-get update and installs snac2
# with -t bookworm-backports. Prints the installed snac version.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "setup-snac.sh: must run as root (apt-get install)" >&2
    exit 1
fi

codename=""
if [ -r /etc/os-release ]; then
    codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
fi
if [ "$codename" != "bookworm" ]; then
    echo "setup-snac.sh: expected Debian 12 (bookworm), found '${codename:-unknown}'" >&2
    exit 1
fi

# Which Debian mirror do the existing sources use? Reuse it for backports.
# Reads uncommented lines of one-line (.list) and deb822 (.sources) files,
# takes the first URL ending in /debian (so not debian-security nor a
# third-party repository), and falls back to deb.debian.org.
mirror="$(
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        sed -e 's/#.*//' "$f"
    done | grep -Eo 'https?://[^[:space:]]+/debian/?([[:space:]]|$)' \
         | sed -e 's/[[:space:]]//g' -e 's#/$##' | head -n1 || true
)"
mirror="${mirror:-http://deb.debian.org/debian}"

# Is bookworm-backports already configured (on an uncommented line)?
has_backports() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        if sed -e 's/#.*//' "$f" | grep -Eq '(^|[[:space:]])bookworm-backports([[:space:]]|$)'; then
            return 0
        fi
    done
    return 1
}

list=/etc/apt/sources.list.d/bookworm-backports.list
if has_backports; then
    echo "bookworm-backports already configured"
else
    echo "adding $list (mirror $mirror)"
    echo "deb $mirror bookworm-backports main" > "$list"
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends -t bookworm-backports snac2

# The package sets up a system-wide instance (/var/lib/snac2, unit snac2).
# The tests use throwaway data folders and never need it running.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    systemctl disable --now snac2.service >/dev/null 2>&1 || true
fi

echo "installed: $(dpkg-query -W -f='${Package} ${Version}' snac2)"
snac 2>&1 | head -n1 || true
