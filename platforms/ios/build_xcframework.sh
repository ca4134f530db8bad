#!/usr/bin/env bash
# Build EdgerunRuntime.xcframework: the edgerun C library (platforms/lib + every kernel) as static libraries for
# iOS devices (arm64) and the iOS simulator (arm64 + x86_64), with edgerun_runtime.h and a module map, so that
# an Xcode project (or a Swift package's binaryTarget) can `import EdgerunRuntime` from Swift.
#
# NEEDS macOS WITH XCODE (xcrun, clang from the iOS SDKs, libtool, lipo, xcodebuild). It was NOT run where it
# was written (a Linux machine without Xcode); there, tests/platforms/test_java.py only checks that the
# library compiles and links for aarch64-macos with `zig cc` (PyPI's ziglang), that the module map imports,
# and that `--list-sources` below lists the same files as platforms/lib/build.py.
#
# Usage:   platforms/ios/build_xcframework.sh [OUT_DIR]        (default: build/ios under the repository)
#          platforms/ios/build_xcframework.sh --list-sources  (print the C sources and exit; runs anywhere)
# Env:     IOS_MIN (default 13.0)  minimum iOS version
#          JOBS    (default: CPU count) parallel compiles
# Result:  OUT_DIR/EdgerunRuntime.xcframework
#            ios-arm64/libedgerun_runtime.a                 + Headers/{edgerun_runtime.h,module.modulemap}
#            ios-arm64_x86_64-simulator/libedgerun_runtime.a + Headers/...
#
# Plans for the phone: `edgerun compile MODEL --target ios-arm64 --format plan -o model.plan` on the desktop;
# bundle model.plan as a resource and open it with edgerun_open_file (see Example.swift).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LIB="$ROOT/platforms/lib"
KERNELS="$ROOT/kernels"

# The same list as platforms/lib/build.py library_sources(): the library, the reference kernels, the kernel
# table, CPU dispatch and thread pool, then the optimized folders (the x86 ones compile to nothing on ARM).
sources() {
  ls "$LIB"/src/*.c | LC_ALL=C sort
  ls "$KERNELS"/ref/*.c | LC_ALL=C sort
  echo "$KERNELS/exec.c"
  echo "$KERNELS/host_isa.c"
  echo "$KERNELS/pool.c"
  for folder in opt x86 neon; do
    ls "$KERNELS/$folder"/*.c 2>/dev/null | LC_ALL=C sort
  done
}

if [[ "${1:-}" == "--list-sources" ]]; then
  sources
  exit 0
fi

OUT="${1:-$ROOT/build/ios}"
IOS_MIN="${IOS_MIN:-13.0}"
JOBS="${JOBS:-$(sysctl -n hw.ncpu 2>/dev/null || echo 4)}"
for tool in xcrun xcodebuild; do
  command -v "$tool" >/dev/null || { echo "error: $tool not found: this script needs macOS with Xcode" >&2; exit 1; }
done

INCLUDES=(-I"$LIB/include" -I"$LIB/src" -I"$KERNELS/include" -I"$KERNELS/list" -I"$KERNELS")
# The flags of platforms/lib/build.py (CFLAGS), plus bitcode-free, position-independent objects.
CFLAGS=(-std=c11 -O2 -Wall -fno-strict-aliasing -ffunction-sections -fdata-sections -fPIC -fvisibility=hidden)

# build SDK ARCH TARGET_TRIPLE: compile every source into $OUT/obj/SDK-ARCH (JOBS at a time), archive
# libedgerun_runtime.a there and print its path.
build() {
  local sdk="$1" arch="$2" triple="$3"
  local dir="$OUT/obj/$sdk-$arch" cc sysroot src k=0 pid
  local pids=()
  rm -rf "$dir" && mkdir -p "$dir"
  cc="$(xcrun -sdk "$sdk" --find clang)"
  sysroot="$(xcrun -sdk "$sdk" --show-sdk-path)"
  while read -r src; do
    # numbered object names: ref/ and opt/ have files of the same name
    "$cc" -target "$triple" -isysroot "$sysroot" "${CFLAGS[@]}" "${INCLUDES[@]}" \
      -c "$src" -o "$dir/$(printf '%03d' "$k")_$(basename "${src%.c}").o" >&2 &
    pids+=("$!")
    k=$((k + 1))
    if (( ${#pids[@]} >= JOBS )); then
      for pid in "${pids[@]}"; do wait "$pid"; done   # a failed compile stops the script (set -e)
      pids=()
    fi
  done < <(sources)
  for pid in "${pids[@]+"${pids[@]}"}"; do wait "$pid"; done
  xcrun -sdk "$sdk" libtool -static -o "$dir/libedgerun_runtime.a" "$dir"/*.o >&2
  echo "$dir/libedgerun_runtime.a"
}

rm -rf "$OUT/EdgerunRuntime.xcframework" "$OUT/headers" "$OUT/lib"
mkdir -p "$OUT/headers" "$OUT/lib/ios" "$OUT/lib/sim"

# Headers: the API and a module map naming it from beside (the tree's module.modulemap points into lib/include).
cp "$LIB/include/edgerun_runtime.h" "$OUT/headers/"
cat > "$OUT/headers/module.modulemap" <<'EOF'
module EdgerunRuntime {
  header "edgerun_runtime.h"
  link "edgerun_runtime"
  export *
}
EOF

device="$(build iphoneos arm64 "arm64-apple-ios$IOS_MIN")"
sim_arm="$(build iphonesimulator arm64 "arm64-apple-ios$IOS_MIN-simulator")"
sim_x86="$(build iphonesimulator x86_64 "x86_64-apple-ios$IOS_MIN-simulator")"
cp "$device" "$OUT/lib/ios/libedgerun_runtime.a"
xcrun lipo -create "$sim_arm" "$sim_x86" -output "$OUT/lib/sim/libedgerun_runtime.a"

xcodebuild -create-xcframework \
  -library "$OUT/lib/ios/libedgerun_runtime.a" -headers "$OUT/headers" \
  -library "$OUT/lib/sim/libedgerun_runtime.a" -headers "$OUT/headers" \
  -output "$OUT/EdgerunRuntime.xcframework"
echo "$OUT/EdgerunRuntime.xcframework"
