#!/usr/bin/env bash
# Installs what edgerun's microcontroller targets need, from Debian's packages: the Arm and RISC-V
# bare-metal compilers with their C libraries (newlib with semihosting for Arm, picolibc for RISC-V),
# qemu's Arm and RISC-V system emulators, and a host C compiler (for the instruction-counting qemu
# plugin in plugin/). Quick and silent when everything is already there; safe to run again.
set -euo pipefail

PACKAGES=(
  gcc-arm-none-eabi libnewlib-arm-none-eabi      # arm-none-eabi-gcc, newlib + rdimon (semihosting)
  gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf  # riscv64-unknown-elf-gcc (-march=rv32imc), picolibc
  qemu-system-arm qemu-system-misc               # qemu-system-arm (mps2/mps3 boards), qemu-system-riscv32
  gcc libc6-dev                                  # host compiler for the qemu plugin
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
    echo "platforms/mcu/install.sh: need root (or sudo) to apt-get install: ${missing[*]}" >&2
    exit 1
  fi
fi

# Another apt or dpkg (e.g. a provisioning script) may be running: wait for it rather than fail.
for _ in $(seq 600); do
  pgrep -x 'apt-get|apt|dpkg|unattended-upgr' >/dev/null || break
  sleep 1
done

echo "platforms/mcu/install.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
