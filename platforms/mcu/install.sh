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

exec bash "$(dirname "$0")/../apt_install.sh" platforms/mcu/install.sh "${PACKAGES[@]}"
