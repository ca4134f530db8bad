#!/usr/bin/env bash
# Installs the Debian packages given as arguments that are not installed yet (apt-get, as root or through
# sudo), waiting for another apt/dpkg to finish first. Quick and silent when everything is already there.
# Used by platforms/mcu/install.sh, platforms/lib/install.sh and runtime/report/install.sh with their package
# lists.
#   usage: apt_install.sh WHO PACKAGE...     (WHO names the caller in messages)
set -euo pipefail
who=$1
shift
missing=()
for p in "$@"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then
    SUDO="sudo"
  else
    echo "$who: need root (or sudo) to apt-get install: ${missing[*]}" >&2
    exit 1
  fi
fi

# Another apt or dpkg (a provisioning script, the other installer) may be running: wait for it rather than fail.
for _ in $(seq 600); do
  busy=0   # one name per pgrep: procps refuses patterns over 15 characters (it matched nothing before)
  for name in apt-get apt dpkg unattended-upgr; do
    if pgrep -x "$name" >/dev/null; then busy=1; fi
  done
  [ "$busy" -eq 1 ] || break
  sleep 1
done

echo "$who: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
