#!/usr/bin/env bash
# Measures the GPU figures of docs/BENCHMARKS.md on a headless NVIDIA server (see
# ../shared/GPU.md): stripped release binaries (bin/) and GStreamer's core libraries (lib/;
# yakumo-ingest links them, `synth --truth-only` needs no plugin) built elsewhere and packed as
# .gpu/bins.tar.xz, the Vulkan/EGL loaders as .debs in .gl/. Work data goes under $WORK (default
# /tmp/yakumo-gpu), logs and a table under $OUT (default ./gpu-out).
#
#   bash scripts/gpu-figures.sh PHASE...
#   phases: setup data carve carve-compare kernels train-bench train-probe train-long eval bake-short
#           determinism player stereo pack
# (pack, last: the device tool returns only a few files, so every log goes into $OUT/logs.tgz).
# Every step runs under `timeout` ($STEP_S seconds, default 300) and a step that fails or times out
# is recorded in the table, not fatal. A fit that reaches its time limit gets SIGINT, so it stops
# like Ctrl-C: checkpoint, metrics and JSON summary written.
set -euo pipefail
cd "$(dirname "$0")/.."
work="${WORK:-/tmp/yakumo-gpu}"
bin="$work/bin"
out="${OUT:-$PWD/gpu-out}"
mkdir -p "$work" "$out"
export VK_DRIVER_FILES="${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}"
table="$out/table.txt"
step_s="${STEP_S:-300}"

# Settings of the issue's target run: 16 cameras (1 held out), 1024x1024, 60 frames; SEED and
# HOLDOUT (held-out cameras) give other rigs.
CAMERAS="${CAMERAS:-16}"
FRAMES="${FRAMES:-60}"
SIZE="${SIZE:-1024x1024}"
POINTS="${POINTS:-262144}"
SEED="${SEED:-0}"
HOLDOUT="${HOLDOUT:-1}"
rig="$work/rig-${CAMERAS}x${FRAMES}-${SIZE}"
[ "$SEED" = 0 ] || rig="$rig-seed$SEED"

row() { echo "$*" | tee -a "$table"; }

setup() {
  if ! ldconfig -p | grep -q libvulkan.so.1; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  if [ ! -x "$bin/yakumo-train" ] || [ .gpu/bins.tar.xz -nt "$bin/yakumo-train" ]; then
    tar xJf .gpu/bins.tar.xz -C "$work"
  fi
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
}

data() {
  if [ ! -f "$rig/truth/clip.yk4d" ]; then
    local t0=$SECONDS
    LD_LIBRARY_PATH="$work/lib" "$bin/yakumo-ingest" synth --out "$rig" --truth-only \
      --cameras "$CAMERAS" --frames "$FRAMES" --size "$SIZE" --points "$POINTS" --seed "$SEED" --json \
      > "$out/synth.json" 2> "$out/synth.log"
    row "synth --truth-only ${CAMERAS} cams x ${FRAMES} frames ${SIZE}: $((SECONDS - t0)) s"
  fi
  # A clip with 1M points for the player (2 frames).
  if [ ! -f "$work/rig-1m/truth/clip.yk4d" ]; then
    LD_LIBRARY_PATH="$work/lib" "$bin/yakumo-ingest" synth --out "$work/rig-1m" --truth-only \
      --cameras 2 --frames 2 --size 256x256 --points 1000000 > /dev/null 2> "$out/synth-1m.log"
  fi
}

kernels() {
  for b in cuda wgpu; do
    "$bin/knn-bench" --backend "$b" --points 250000 --width 1024 --height 1024 --k 15 \
      --reps 50 --json > "$out/knn-$b.json" 2> "$out/knn-$b.log"
    row "knn-bench $b: $(cat "$out/knn-$b.json")"
  done
}

carve() {
  if [ ! -f "$work/points/.complete" ]; then
    local t0=$SECONDS
    mkdir -p "$work/points"
    if timeout "$step_s" "$bin/yakumo-train" carve "$rig/truth" --out "$work/points" --voxel 0.005 \
      --points "$POINTS" --json > "$out/carve.json" 2> "$out/carve.log"; then
      touch "$work/points/.complete"
    fi
    row "carve ${FRAMES} frames at 5 mm, ${POINTS} points (--backend auto): $((SECONDS - t0)) s; $(head -c 300 "$out/carve.json" | tr -d '\n ')"
  fi
}

# The hull's cell tests on each backend (CARVE_BACKENDS, default "cpu wgpu cuda") for the first
# CARVE_FRAMES (default 10) frames at 5 and 2 mm: total and hull seconds, and how many inside
# voxels differ from the CPU's.
carve_compare() {
  local frames="${CARVE_FRAMES:-10}"
  for voxel in 0.005 0.002; do
    for b in ${CARVE_BACKENDS:-cpu wgpu cuda}; do
      local dir="$work/carve-$b-$voxel"
      rm -rf "$dir"
      timeout "$step_s" "$bin/yakumo-train" carve "$rig/truth" --out "$dir" --voxel "$voxel" \
        --points "$POINTS" --frames "0..$frames" --backend "$b" --json \
        > "$out/carve-$b-$voxel.json" 2> "$out/carve-$b-$voxel.log" || echo "(exit $?)" >> "$out/carve-$b-$voxel.json"
      row "carve $frames frames at $voxel m on $b: $(python3 - "$out/carve-$b-$voxel.json" "$out/carve-cpu-$voxel.json" <<'PY'
import json, sys
try:
    s = json.load(open(sys.argv[1]))
    ref = json.load(open(sys.argv[2]))
except Exception as e:
    print(f"no summary ({e})")
    sys.exit()
hull = sum(f["stages"]["hull"] for f in s["frames"])
rest = sum(f["stages"]["parts"] + f["stages"]["surface"] for f in s["frames"])
diff = max(abs(a["inside_voxels"] - b["inside_voxels"]) / b["inside_voxels"]
           for a, b in zip(s["frames"], ref["frames"]))
print(f"{s['seconds']:.1f} s total, hull {hull:.1f} s, rest {rest:.1f} s, "
      f"inside voxels {s['frames'][0]['inside_voxels']} in frame 0, at most {100 * diff:.3f} % off the CPU's")
PY
)"
    done
  done
}

# fit RUN ITERS BACKEND POINTS [extra args]: a training run on the target rig from the initial
# points in POINTS (the carved ones, or the synthetic rig's true surface for an upper bound).
fit() {
  local run="$work/$1" iters=$2 backend=$3 points=$4
  shift 4
  rm -rf "$run"
  local t0=$SECONDS name
  name=$(basename "$run")
  timeout -s INT -k 60 "$step_s" "$bin/yakumo-train" fit "$rig/truth" --out "$run" --backend "$backend" \
    --iters "$iters" --points "$points" --n-points "$POINTS" --holdout "$HOLDOUT" --json --quiet "$@" \
    > "$out/$name.json" 2> "$out/$name.log" || echo "(exit $?)" >> "$out/$name.json"
  cp "$run/metrics.jsonl" "$out/$name.metrics.jsonl" 2> /dev/null || true
  local last
  last=$(ls "$run"/previews/*.png 2> /dev/null | tail -n 1 || true)
  [ -z "$last" ] || cp "$last" "$out/$name-$(basename "$last")"
  row "fit $name ($backend, $iters it, $(basename "$points"), $*): $((SECONDS - t0)) s wall; $(tr -d '\n ' < "$out/$name.json")"
}

train_bench() {
  local truth="$rig/truth/points"
  for b in ${BENCH_BACKENDS:-cuda wgpu}; do
    timeout "$step_s" "$bin/yakumo-train" bench "$rig/truth" --points "$truth" --n-points "$POINTS" \
      --frames 0..4 --backend "$b" --warmup 3 --iters 10 --json \
      > "$out/train-bench-$b.json" 2> "$out/train-bench-$b.log" || echo "(exit $?)" >> "$out/train-bench-$b.json"
    row "train bench $b (${CAMERAS} cams ${SIZE}, ${POINTS} points): $(tr -d '\n ' < "$out/train-bench-$b.json" | head -c 600)"
  done
}

train_probe() {
  local truth="$rig/truth/points"
  local iters="${PROBE_ITERS:-300}"
  fit probe-default "$iters" cuda "$truth" --preview-every 100
  fit probe-4k4d-radius "$iters" cuda "$truth" --preview-every 100 --init-radius 0.4
}

train_long() {
  fit long "${LONG_ITERS:-6000}" cuda "${LONG_POINTS:-$work/points}" \
    --preview-every "${PREVIEW_EVERY:-500}" ${LONG_ARGS:-}
}

eval_bake() {
  local run="$work/long"
  local t0=$SECONDS
  timeout "$step_s" "$bin/yakumo-train" eval "$run" --json > "$out/eval.json" 2> "$out/eval.log" \
    || echo "(exit $?)" >> "$out/eval.json"
  row "eval: $((SECONDS - t0)) s; $(head -c 300 "$out/eval.json" | tr -d '\n ')"
  t0=$SECONDS
  timeout "$step_s" "$bin/yakumo-train" bake "$run" --out "$work/long.yk4d" --json \
    > "$out/bake.json" 2> "$out/bake.log" || echo "(exit $?)" >> "$out/bake.json"
  row "bake: $((SECONDS - t0)) s; $(tr -d '\n ' < "$out/bake.json" | head -c 600)"
}

# A short run on the first SHORT_FRAMES frames (from the true surface), baked: the bake's time per
# frame and where it goes, without a whole 60-frame bake. BAKE_RIDGES lists `--ridge` values to
# compare; "default" (the default) leaves the binary's own default.
bake_short() {
  local frames="${SHORT_FRAMES:-10}"
  fit short "${SHORT_ITERS:-300}" cuda "$rig/truth/points" --frames "0..$frames"
  local t0 r ridge
  for r in ${BAKE_RIDGES:-default}; do
    t0=$SECONDS
    ridge=()
    [ "$r" = default ] || ridge=(--ridge "$r")
    timeout "$step_s" "$bin/yakumo-train" bake "$work/short" "${ridge[@]}" \
      --out "$work/short-$r.yk4d" --json > "$out/bake-short-$r.json" 2> "$out/bake-short-$r.log" \
      || echo "(exit $?)" >> "$out/bake-short-$r.json"
    row "bake (ridge $r) of $frames frames: $((SECONDS - t0)) s; $(tr -d '\n ' < "$out/bake-short-$r.json" | grep -o '"model_psnr.*"seconds":[0-9.]*')"
  done
}

# Two separate --deterministic fits must end with the same loss on CUDA.
determinism() {
  local a b
  for i in 1 2; do
    fit "det$i" 20 cuda "$rig/truth/points" --frames 0..2 --deterministic
  done
  a=$(grep -o '"loss":[^,]*' "$out/det1.json" || true)
  b=$(grep -o '"loss":[^,]*' "$out/det2.json" || true)
  if [ -n "$a" ] && [ "$a" = "$b" ]; then
    row "deterministic cuda: identical final $a"
  else
    row "deterministic cuda: final $a vs $b"
  fi
}

# Frame times of the player; PLAYER_PATHS (default "raster compute") picks the render paths,
# PLAYER_CLIPS (default "250k 1m") the clips.
player() {
  local -A clips=([250k]="$rig/truth/clip.yk4d" [1m]="$work/rig-1m/truth/clip.yk4d")
  for name in ${PLAYER_CLIPS:-250k 1m}; do
    local clip="${clips[$name]}"
    local pts
    pts=$(basename "$(dirname "$(dirname "$clip")")")
    for size in 1920x1080 3840x2160; do
      for k in 8 15; do
        for path in ${PLAYER_PATHS:-raster compute}; do
          "$bin/yakumo-player" bench "$clip" --size "$size" --k "$k" --path "$path" --frames 300 --json \
            > "$out/bench-$pts-$size-$k-$path.json" 2>> "$out/bench.log" || true
          row "bench $pts $size K=$k $path: $(tr -d '\n ' < "$out/bench-$pts-$size-$k-$path.json" | head -c 400)"
        done
      done
    done
    stereo_of "$clip"
  done
}

# Stereo frame times of `clip` at the per-eye sizes of Quest 3, Index and Vision Pro, K = 8,
# both eyes in the two layers of one texture as in the headset: the raster path in one multiview
# pass and with each eye on its own (--per-view), the compute path.
stereo_of() {
  local clip=$1 pts
  pts=$(basename "$(dirname "$(dirname "$clip")")")
  for size in 2064x2208 2016x2240 3660x3200; do
    for run in raster:multiview raster:per-view compute:per-view; do
      local path=${run%%:*} mode=${run#*:} flags=()
      [ "$path" = raster ] && [ "$mode" = per-view ] && flags=(--per-view)
      "$bin/yakumo-player" bench "$clip" --size "$size" --views 2 --k 8 --path "$path" "${flags[@]}" \
        --frames 300 --json > "$out/stereo-$pts-$size-$path-$mode.json" 2>> "$out/bench.log" || true
      row "stereo $pts 2x$size K=8 $path $mode: $(tr -d '\n ' < "$out/stereo-$pts-$size-$path-$mode.json" | head -c 400)"
    done
  done
}

pack() {
  (cd "$out" && find . -type f ! -name table.txt ! -name logs.tgz -print0 \
    | tar czf logs.tgz --null -T - --remove-files)
}

for phase in "$@"; do
  case "$phase" in
    setup) setup ;;
    data) data ;;
    carve) carve ;;
    carve-compare) carve_compare ;;
    kernels) kernels ;;
    train-bench) train_bench ;;
    train-probe) train_probe ;;
    train-long) train_long ;;
    eval) eval_bake ;;
    bake-short) bake_short ;;
    determinism) determinism ;;
    player) player ;;
    stereo) stereo_of "$rig/truth/clip.yk4d" ;;
    pack) pack ;;
    *) echo "unknown phase $phase" >&2; exit 2 ;;
  esac
done
