#!/usr/bin/env bash
# The Yakumo journey on the built-in synthetic capture, end to end:
#   synthetic rig → calibration from the board videos → ingest (audio sync, masks from clean
#   plates) → space carving → … → player (desktop window when a display exists, else PNGs).
# Every stage writes under $YAKUMO_DEMO_OUT (default out/demo) and is skipped when its output is
# already there, so an interrupted demo continues where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
export PATH="$HOME/.cargo/bin:$PATH"

out="${YAKUMO_DEMO_OUT:-out/demo}"
target="${CARGO_TARGET_DIR:-target}"
mkdir -p "$out"

echo "== building (first time: several minutes)"
cargo build -p yakumo-ingest -p yakumo-train -p yakumo-player
bin="$target/debug"

stage() { # stage NAME DONE_PATH COMMAND...: runs COMMAND unless DONE_PATH exists
  local name=$1 done=$2; shift 2
  if [ -e "$done" ]; then echo "== $name: already done ($done)"; return; fi
  echo "== $name"
  "$@"
}

capture="$out/capture"
stage "synthetic capture (8 cameras, 16 frames, 320x240, cameras out of sync)" "$capture/truth/clip.yk4d" \
  "$bin/yakumo-ingest" synth --out "$capture" --cameras 8 --frames 16 --size 320x240 \
    --offsets-ms 0,21,-13,35,8,-30,17,-5 --calib-frames 90 --points 60000 --seed 7
stage "calibration from the board videos" "$out/calib/extri.yml" \
  "$bin/yakumo-ingest" calibrate --board "$capture/calib/board.toml" --input "$capture/calib" --out "$out/calib"
stage "ingest (audio sync, plate masks)" "$out/dataset/yakumo.toml" \
  "$bin/yakumo-ingest" run --videos "$capture/videos" --calib "$out/calib" --plates "$capture/plates" \
    --out "$out/dataset" --sync audio
stage "space carving" "$out/points/.complete" \
  sh -c "'$bin/yakumo-train' carve '$out/dataset' --out '$out/points' --voxel 0.01 --points 60000 && touch '$out/points/.complete'"

clip="$capture/truth/clip.yk4d"
echo "== player"
"$bin/yakumo-player" info "$clip"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  "$bin/yakumo-player" play "$clip" --desktop
else
  "$bin/yakumo-player" render "$clip" --out "$out/turntable" --orbit 24 --size 320x240
  echo "No display: wrote a turntable to $out/turntable/"
fi

cat <<MSG

Done. What went where:
  $capture/       synthetic rig: videos/, calib/, plates/, truth/ (ground truth)
  $out/calib/     calibration recovered from the board videos (intri.yml, extri.yml, report)
  $out/dataset/   the ingested EasyVolcap dataset (images/, masks/, intri.yml, extri.yml, yakumo.toml)
  $out/points/    carved point clouds per frame (PLY)
Play a clip on the desktop:  $bin/yakumo-player play CLIP.yk4d --desktop
MSG
