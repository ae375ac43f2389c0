#!/usr/bin/env bash
# Packs the stripped release binaries and the GStreamer core libraries they link (everything
# `ldd` lists except the C runtime) into .gpu/bins.tar.xz for scripts/gpu-figures.sh on a GPU
# server without cargo. Build first:
#   cargo build --release -p yakumo-train -p yakumo-ingest -p yakumo-player -p yakumo-kernels \
#     --features yakumo-kernels/cuda --bins
set -euo pipefail
cd "$(dirname "$0")/.."
release="${CARGO_TARGET_DIR:-target}/release"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib" .gpu
for b in yakumo-train yakumo-ingest yakumo-player knn-bench; do
  strip -o "$stage/bin/$b" "$release/$b"
done
ldd "$release/yakumo-ingest" | awk '/=> \// {print $3}' \
  | grep -Ev '/(libc|libm|libgcc_s|libstdc\+\+|ld-linux[^/]*)\.so' \
  | while read -r lib; do cp -L "$lib" "$stage/lib/"; done
XZ_OPT="${XZ_OPT:--3}" tar cJf .gpu/bins.tar.xz.tmp -C "$stage" bin lib
mv .gpu/bins.tar.xz.tmp .gpu/bins.tar.xz
du -h .gpu/bins.tar.xz
