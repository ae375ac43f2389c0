#!/usr/bin/env bash
# The OpenXR player against a real runtime: Monado (simulated HMD, headless null compositor) on
# Mesa's lavapipe, inside a Debian trixie root (Debian 12 has no Monado package), following
# ../shared/XR-TESTING.md. Builds the root once and caches it (YAKUMO_XR_ROOT, default
# /var/cache/yakumo-ci/trixie), plays a small test clip for YAKUMO_XR_FRAMES frames (default 120)
# with per-eye image dumps, once per render path (compute, raster), stops Monado, runs the stereo
# render tests on the root's newer lavapipe (Mesa 25, whose multiview works where Debian 12's does
# not, so the raster path's single-pass stereo is checked bit for bit against drawing each eye),
# then checks the results with the ignored Rust test player-xr/tests/xr_monado.rs (per path: session reached
# FOCUSED, frames submitted with both eyes, disparity of the two eyes' images against the IPD,
# clean exit; with Xvfb installed, the desktop mirror window showed the left eye on its virtual
# display).
# Needs root or sudo (debootstrap, chroot, bind mounts) and, the first time, Debian's mirrors.
set -euo pipefail
cd "$(dirname "$0")/.."

ROOT=${YAKUMO_XR_ROOT:-/var/cache/yakumo-ci/trixie}
MIRROR=${YAKUMO_DEBIAN_MIRROR:-http://deb.debian.org/debian}
FRAMES=${YAKUMO_XR_FRAMES:-120}
# One session per render path, one after the other on the same Monado service.
PATHS="compute raster"
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
OUT=$TARGET/xr-test
# The X libraries are what the player's desktop mirror window needs (winit loads them at run time).
PACKAGES="monado-service libopenxr1-monado libopenxr-loader1 libopenxr-utils mesa-vulkan-drivers \
libx11-6 libx11-xcb1 libxcursor1 libxrandr2 libxi6 libxkbcommon-x11-0"
RUN=/opt/yakumo-xr-test

as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
export PATH="$HOME/.cargo/bin:$PATH"
say() { echo "xr-test: $*" >&2; }

# Unmounts everything mounted under $1 (deepest first); fails if anything stays mounted.
unmount_under() {
  local dir
  dir=$(realpath -m "$1")
  awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    "${as_root[@]}" umount "$m" || "${as_root[@]}" umount -l "$m"
  done
  if awk -v d="$dir/" 'index($2, d) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
    say "cannot unmount everything under $dir"
    return 1
  fi
}

mount_binds() {
  for fs in proc dev sys; do
    "${as_root[@]}" mount --bind "/$fs" "$1/$fs"
  done
}

# 1. The player and the test clip, built on the host (the binary runs on trixie's newer glibc).
cargo build -p yakumo-player --bin yakumo-player --example xr_test_clip
render_test=$(cargo test -p yakumo-player --test render --no-run 2>&1 |
  sed -n 's/.*Executable tests\/render.rs (\(.*\))$/\1/p')
[ -x "$render_test" ] || { say "cannot find the render test binary"; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT"
"$TARGET/debug/examples/xr_test_clip" "$OUT/figure.yk4d"

# 2. The trixie root with Monado, made once and reused while its package list is unchanged.
if [ "$("${as_root[@]}" cat "$ROOT/.yakumo-xr-packages" 2>/dev/null || true)" != "$PACKAGES" ]; then
  command -v debootstrap >/dev/null || {
    "${as_root[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq debootstrap
  }
  tmp="$ROOT.tmp"
  unmount_under "$tmp"
  "${as_root[@]}" rm -rf "$tmp"
  say "making the trixie root in $ROOT (once; about a minute)"
  "${as_root[@]}" mkdir -p "$(dirname "$ROOT")"
  "${as_root[@]}" debootstrap --variant=minbase trixie "$tmp" "$MIRROR" >"$OUT/debootstrap.log" 2>&1 || {
    tail -20 "$OUT/debootstrap.log" >&2
    exit 1
  }
  "${as_root[@]}" cp /etc/resolv.conf "$tmp/etc/"
  trap 'unmount_under "$tmp"' EXIT
  mount_binds "$tmp"
  # shellcheck disable=SC2086
  "${as_root[@]}" chroot "$tmp" sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends $PACKAGES" >"$OUT/apt.log" 2>&1 || {
    tail -20 "$OUT/apt.log" >&2
    exit 1
  }
  unmount_under "$tmp"
  trap - EXIT
  echo "$PACKAGES" | "${as_root[@]}" tee "$tmp/.yakumo-xr-packages" >/dev/null
  unmount_under "$ROOT"
  "${as_root[@]}" rm -rf "$ROOT"
  "${as_root[@]}" mv "$tmp" "$ROOT"
fi

# 3. Monado and the player inside the root.
"${as_root[@]}" rm -rf "$ROOT$RUN"
"${as_root[@]}" mkdir -p "$ROOT$RUN"
"${as_root[@]}" cp "$TARGET/debug/yakumo-player" "$OUT/figure.yk4d" "$ROOT$RUN/"
"${as_root[@]}" cp "$render_test" "$ROOT$RUN/render-test"
# A virtual display (Xvfb, when installed) for the mirror window, shared through its socket.
display=
if command -v Xvfb >/dev/null; then
  Xvfb :87 -screen 0 1280x1024x24 -nolisten tcp >"$OUT/xvfb.log" 2>&1 &
  xvfb=$!
  for i in $(seq 50); do [ -S /tmp/.X11-unix/X87 ] && break; sleep 0.1; done
  [ -S /tmp/.X11-unix/X87 ] && display=:87
fi
stop_xvfb() { [ -z "${xvfb:-}" ] || kill "$xvfb" 2>/dev/null || true; }
trap 'unmount_under "$ROOT"; stop_xvfb' EXIT
mount_binds "$ROOT"
if [ -n "$display" ]; then
  "${as_root[@]}" mkdir -p "$ROOT/tmp/.X11-unix"
  "${as_root[@]}" mount --bind /tmp/.X11-unix "$ROOT/tmp/.X11-unix"
fi
say "playing $FRAMES frames per render path ($PATHS) against Monado (simulated HMD, null compositor, lavapipe)"
"${as_root[@]}" chroot "$ROOT" /bin/sh -c "
  cd $RUN
  export VK_DRIVER_FILES=\$(ls /usr/share/vulkan/icd.d/lvp_icd*.json | head -n 1)
  export XDG_RUNTIME_DIR=/tmp/yakumo-xdg XRT_COMPOSITOR_NULL=1 XRT_NO_STDIN=1
  rm -rf \$XDG_RUNTIME_DIR && mkdir -p -m 700 \$XDG_RUNTIME_DIR
  monado-service > monado.log 2>&1 &
  monado=\$!
  for i in \$(seq 100); do [ -S \$XDG_RUNTIME_DIR/monado_comp_ipc ] && break; sleep 0.1; done
  [ -z "$display" ] || export DISPLAY=$display
  for path in $PATHS; do
    mkdir -p \$path
    RUST_LOG=info timeout 900 ./yakumo-player play figure.yk4d --xr --path \$path \
      --max-frames $FRAMES --dump-frames \$path/dump --dump-count 3 --k 8 --json \
      > \$path/summary.json 2> \$path/player.log
    echo \$? > \$path/player.rc
  done
  kill \$monado
  wait \$monado
  echo \$? > monado.rc
  ./render-test stereo multiview --nocapture --test-threads 1 > render-test.log 2>&1
  echo \$? > render-test.rc
" || true
unmount_under "$ROOT"
stop_xvfb
trap - EXIT
"${as_root[@]}" cp -r "$ROOT$RUN/." "$OUT/"
"${as_root[@]}" chown -R "$(id -u):$(id -g)" "$OUT"
for path in $PATHS; do
  say "$path path: player exit status $(cat "$OUT/$path/player.rc" 2>/dev/null || echo missing); log in $OUT/$path/player.log"
done

# 4. The checks.
say "stereo render tests on the root's lavapipe: exit status $(cat "$OUT/render-test.rc" 2>/dev/null || echo missing)"
grep -h "multiview self-test" "$OUT/render-test.log" >&2 || true
if [ "$(cat "$OUT/render-test.rc" 2>/dev/null)" != 0 ] || ! grep -q "self-test passed" "$OUT/render-test.log"; then
  say "the stereo render tests failed, or multiview was not exercised (log: $OUT/render-test.log)"
  tail -30 "$OUT/render-test.log" >&2 || true
  exit 1
fi
YAKUMO_XR_RESULTS="$OUT" YAKUMO_XR_MIRROR=${display:+1} cargo test -p yakumo-player --test xr_monado -- --ignored --nocapture
