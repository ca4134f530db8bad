#!/usr/bin/env bash
# Installs what the C library of plan files (platforms/lib) needs beyond the host compiler, from Debian's
# packages: the AArch64 and ARMv7 (hard-float) Linux cross compilers with their C libraries, qemu's user-mode
# emulators that run their programs here (qemu-aarch64, qemu-arm), and Wine, which runs the Windows build.
# Quick and silent when everything is already there; safe to run again.
set -euo pipefail

PACKAGES=(
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross     # aarch64-linux-gnu-gcc, glibc for static linking
  gcc-arm-linux-gnueabihf libc6-dev-armhf-cross   # arm-linux-gnueabihf-gcc
  qemu-user                                       # qemu-aarch64, qemu-arm
  gcc libc6-dev                                   # host build, ASan/UBSan for the fuzz test
  wine64                                          # runs the Windows build of er_run (platforms/crossbuild.py)
)

exec bash "$(dirname "$0")/../apt_install.sh" platforms/lib/install.sh "${PACKAGES[@]}"
