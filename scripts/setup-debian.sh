#!/usr/bin/env bash
# Installs what Yakumo needs from the system on Debian 12+/Ubuntu 22.04+: GStreamer (decode, x264
# encode, AAC), Mesa's Vulkan drivers (lavapipe runs everything without a GPU), python3-opencv (for
# the calibration-file interop test), Xvfb (a virtual display for the headset test's mirror window)
# and a C toolchain. Safe to run again: it only installs what is
# missing. Rust itself comes from https://rustup.rs when `cargo` is not found.
set -euo pipefail

packages=(
  build-essential pkg-config
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-tools
  mesa-vulkan-drivers libvulkan1
  python3 python3-opencv
  xvfb
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "yakumo setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  [ -x "$HOME/.cargo/bin/cargo" ] || {
    echo "yakumo setup: installing Rust with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  }
fi
