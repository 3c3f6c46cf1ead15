#!/usr/bin/env bash
# Builds PostcsoCore.xcframework: the Rust core as a static library for iOS
# devices (aarch64-apple-ios) and the Apple-silicon simulator
# (aarch64-apple-ios-sim), each slice with the generated C header and a module
# map for the `postcsoFFI` module that Sources/PostcsoFFI/PostcsoFFI.swift imports.
#
# Needs macOS with Xcode (xcodebuild) and rustup. Run from anywhere:
#   ios/scripts/build-xcframework.sh            # profile `mobile` (size-tuned release)
#   PROFILE=release ios/scripts/build-xcframework.sh
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
ios="$(dirname "$here")"
root="$(dirname "$ios")"
profile="${PROFILE:-mobile}"
targets=(aarch64-apple-ios aarch64-apple-ios-sim)
out="$ios/PostcsoCore.xcframework"
stage="$root/target/xcframework-stage"

command -v xcodebuild >/dev/null || { echo "xcodebuild not found: this script needs macOS with Xcode" >&2; exit 1; }

# Bindings first, so the header in the framework matches the Swift source.
(cd "$root" && cargo xtask bindings --check) || {
  echo "the generated bindings are stale: run 'cargo xtask bindings' and commit" >&2; exit 1; }

# The bundled SQLite without what the core never uses (0.37 MB smaller); phone
# builds only, the station's SQLite needs the JSON functions.
LIBSQLITE3_FLAGS="$(sed '/^#/d' "$root/bindings/phone-sqlite.flags" | xargs)"
export LIBSQLITE3_FLAGS

rustup target add "${targets[@]}"
rm -rf "$stage" "$out"
args=()
for t in "${targets[@]}"; do
  (cd "$root" && cargo build -p postcso-ffi --lib --profile "$profile" --target "$t")
  headers="$stage/$t/Headers"
  mkdir -p "$headers"
  cp "$ios/Sources/PostcsoFFI/postcsoFFI.h" "$headers/"
  # Xcode looks for `module.modulemap` in a framework's Headers directory.
  cp "$ios/Sources/PostcsoFFI/postcsoFFI.modulemap" "$headers/module.modulemap"
  args+=(-library "$root/target/$t/$profile/libpostcso_ffi.a" -headers "$headers")
done
xcodebuild -create-xcframework "${args[@]}" -output "$out"
echo "built $out"
