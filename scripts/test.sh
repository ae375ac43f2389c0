#!/usr/bin/env bash
# Runs Yakumo's whole test suite on a fresh Debian/Ubuntu machine: installs system packages, builds,
# tests. GPU code runs on whatever Vulkan device is present (Mesa's CPU lavapipe when there is none).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
export PATH="$HOME/.cargo/bin:$PATH"
# --no-fail-fast: one failing test binary does not hide the results of the others.
cargo test --workspace --no-fail-fast
bash scripts/xr-test.sh
