#!/usr/bin/env bash
# Per-kernel GPU time of a few training iterations on the GPU server (after
# `scripts/gpu-figures.sh setup data`): CubeCL's profiling logger (cubecl.toml in the working
# directory) times every kernel launch; the log is summed by kernel name, slowest first.
#   bash scripts/gpu-profile.sh [BACKEND]      (WORK, OUT, CAMERAS, FRAMES, SIZE, POINTS as there)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${WORK:-/tmp/yakumo-gpu}"
out="${OUT:-$PWD/gpu-out}"
rig="$work/rig-${CAMERAS:-16}x${FRAMES:-60}-${SIZE:-1024x1024}"
log="$out/cubecl-profile.log"
mkdir -p "$out"
rm -f "$log"
cat > cubecl.toml <<TOML
[profiling.logger]
level = "basic"
file = "$log"
append = true
TOML
trap 'rm -f cubecl.toml' EXIT
timeout "${STEP_S:-300}" "$work/bin/yakumo-train" bench "$rig/truth" --points "$rig/truth/points" \
  --n-points "${POINTS:-262144}" --backend "${1:-cuda}" --warmup 1 --iters 2 --json \
  > "$out/profile-bench.json" 2> "$out/profile-bench.log" || true
# Lines look like "| 1.234ms    | KernelBinop | MulOp | CudaRuntime" (summary tables, whose second
# field is not a duration, are skipped): per kernel (all fields after the duration), the total,
# the launch count and the slowest launch, in milliseconds.
awk -F'|' 'NF >= 3 && $2 ~ /^ *[0-9.]+(ns|µs|us|ms|s) *$/ {
    d = $2; gsub(/ /, "", d)
    name = $3; for (i = 4; i <= NF; i++) name = name "|" $i
    gsub(/ +/, " ", name); name = substr(name, 1, 200)
    v = d + 0
    if (d ~ /ns$/) v /= 1e6; else if (d ~ /µs$/ || d ~ /us$/) v /= 1e3;
    else if (d ~ /ms$/) v += 0; else if (d ~ /s$/) v *= 1e3
    total[name] += v; count[name]++; if (v > worst[name]) worst[name] = v
  } END {
    for (n in total) printf "%10.2f ms %6d launches, slowest %8.3f ms  %s\n", total[n], count[n], worst[n], n
  }' "$log" | sort -rn > "$out/kernels.txt"
head -n 30 "$out/kernels.txt"
