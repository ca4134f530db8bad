#!/usr/bin/env bash
# Installs what the C library of plan files (platforms/lib) needs beyond the host compiler, from Debian's
# packages: the AArch64 and ARMv7 (hard-float) Linux cross compilers with their C libraries, and qemu's
# user-mode emulators that run their programs here (qemu-aarch64, qemu-arm). Quick and silent when everything
# is already there; safe to run again.
set -euo pipefail

PACKAGES=(
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross     # aarch64-linux-gnu-gcc, glibc for static linking
  gcc-arm-linux-gnueabihf libc6-dev-armhf-cross   # arm-linux-gnueabihf-gcc
  qemu-user                                       # qemu-aarch64, qemu-arm
  gcc libc6-dev                                   # host build, ASan/UBSan for the fuzz test
)

missing=()
for p in "${PACKAGES[@]}"; do
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
    echo "platforms/lib/install.sh: need root (or sudo) to apt-get install: ${missing[*]}" >&2
    exit 1
  fi
fi

# Another apt or dpkg (e.g. platforms/mcu/install.sh) may be running: wait for it rather than fail.
for _ in $(seq 600); do
  pgrep -x 'apt-get|apt|dpkg|unattended-upgr' >/dev/null || break
  sleep 1
done

echo "platforms/lib/install.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
