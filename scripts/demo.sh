#!/usr/bin/env bash
# The Yakumo journey on the built-in synthetic capture, end to end:
#   synthetic rig → calibration from the board videos → ingest (audio sync, masks from clean
#   plates) → space carving → training (GPU when there is one, else the CPU) → bake → player
#   (desktop window when a display exists, else a turntable video).
# Every stage writes under $YAKUMO_DEMO_OUT (default out/demo) and is skipped when its output is
# already there; training resumes from its last checkpoint, so an interrupted demo continues where
# it stopped. $YAKUMO_DEMO_ITERS (default 100) sets the training length.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
export PATH="$HOME/.cargo/bin:$PATH"

out="${YAKUMO_DEMO_OUT:-out/demo}"
target="${CARGO_TARGET_DIR:-target}"
mkdir -p "$out"

# The CUDA backend is built only where an NVIDIA driver is installed: without one it could not run,
# and leaving it out saves a few minutes of a first build on a small machine.
features=()
if ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1'; then
  echo "== building (release, with CUDA: an NVIDIA driver is installed; the first time takes a while)"
else
  echo "== building (release, without CUDA: no NVIDIA driver found; the first time takes a while)"
  features=(--no-default-features)
fi
cargo build --release -p yakumo-ingest -p yakumo-train -p yakumo-player "${features[@]}"
bin="$target/release"
# 100 iterations: on this sparse 8-camera rig the held-out view scores the same after 100 as after
# 300 (docs/BENCHMARKS.md, "Quality on the demo"), at a third of the time on a CPU.
iters="${YAKUMO_DEMO_ITERS:-100}"

stage() { # stage NAME DONE_PATH COMMAND...: runs COMMAND unless DONE_PATH exists
  local name=$1 done=$2; shift 2
  if [ -e "$done" ]; then echo "== $name: already done ($done)"; return; fi
  echo "== $name"
  "$@"
}

capture="$out/capture"
# A genlocked rig (no --offsets-ms): calibrating from unsynchronised board videos is not solved yet.
stage "synthetic capture (8 cameras, 16 frames, 640x480)" "$capture/truth/clip.yk4d" \
  "$bin/yakumo-ingest" synth --out "$capture" --cameras 8 --frames 16 --size 640x480 \
    --calib-frames 120 --points 60000 --seed 7
stage "calibration from the board videos" "$out/calib/extri.yml" \
  "$bin/yakumo-ingest" calibrate --board "$capture/calib/board.toml" --input "$capture/calib" --out "$out/calib" --up +z
stage "ingest (audio sync, plate masks, images at 160x120 for a quick training)" "$out/dataset/yakumo.toml" \
  "$bin/yakumo-ingest" run --videos "$capture/videos" --calib "$out/calib" --plates "$capture/plates" \
    --out "$out/dataset" --sync audio --frames 0..4 --size 160x120
stage "space carving" "$out/points/.complete" \
  sh -c "'$bin/yakumo-train' carve '$out/dataset' --out '$out/points' --voxel 0.01 --points 20000 && touch '$out/points/.complete'"

run="$out/run"
if [ -e "$run/.complete" ]; then
  echo "== training: already done ($run)"
else
  resume=()
  [ ! -f "$run/checkpoint.bin" ] || resume=(--resume)
  echo "== training ($iters iterations, one camera held out; ${resume[*]:-new run})"
  "$bin/yakumo-train" fit "$out/dataset" --out "$run" --points "$out/points" --iters "$iters" \
    --grid 16,32,64 --preview-every 100 "${resume[@]}"
  touch "$run/.complete"
fi
clip="$out/clip.yk4d"
stage "bake" "$clip" "$bin/yakumo-train" bake "$run" --out "$clip"

echo "== player"
"$bin/yakumo-player" info "$clip"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  "$bin/yakumo-player" play "$clip" --desktop
else
  # A 3-second turntable video: 90 viewpoints round the clip, one per video frame, the clip
  # looping; GStreamer (installed by setup-debian.sh) encodes the images as H.264 4:2:0.
  tt="$out/turntable"
  "$bin/yakumo-player" render "$clip" --out "$tt" --orbit 90 --size 320x240 --turntable \
    --background 0.08,0.08,0.1
  if gst-launch-1.0 -q multifilesrc location="$tt/%06d.png" index=0 caps="image/png,framerate=30/1" \
      ! pngdec ! videoconvert ! video/x-raw,format=I420 ! x264enc ! mp4mux \
      ! filesink location="$tt.mp4.part" && mv "$tt.mp4.part" "$tt.mp4"; then
    echo "No display: wrote a turntable video to $tt.mp4 (its frames are in $tt/)"
  else
    echo "No display: wrote a turntable to $tt/ (encoding it as a video failed)"
  fi
fi

cat <<MSG

Done. What went where:
  $capture/       synthetic rig: videos/, calib/, plates/, truth/ (ground truth)
  $out/calib/     calibration recovered from the board videos (intri.yml, extri.yml, report)
  $out/dataset/   the ingested EasyVolcap dataset (images/, masks/, intri.yml, extri.yml, yakumo.toml)
  $out/points/    carved point clouds per frame (PLY)
  $run/           the training run: run.json, checkpoint.bin, metrics.jsonl, previews/ (held-out camera)
  $clip     the baked clip
  $out/turntable.mp4  a turntable video of it (made when there is no display)
Play it on the desktop:   $bin/yakumo-player play $clip --desktop
Play it in a headset:     start your OpenXR runtime (SteamVR, Oculus, WMR, Monado), then
                          $bin/yakumo-player play $clip
MSG
