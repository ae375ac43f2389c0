#!/usr/bin/env bash
# Keeps a persistent cargo target dir (CI's build cache) from filling the disk. Every commit leaves
# new hashed copies of the workspace's own test binaries and libraries that no later build reads;
# this keeps the newest copy of each and drops the others, drops third-party build outputs nobody
# has read for 3 days (left behind by dependency upgrades), and empties the whole cache when the
# disk is still short of MIN_FREE_GB (a full rebuild is slow but never fails for lack of space).
# A change of the build profiles or of the compiler makes every output stale at once: then the cache
# is emptied too, instead of holding two full builds until the 3 days pass.
# Usage: prune-target.sh TARGET_DIR [MIN_FREE_GB]   (run from the workspace root)
set -euo pipefail
target=$1
min_free_gb=${2:-12}
[ -d "$target" ] || exit 0

# The profiles are the last sections of the workspace's Cargo.toml.
cache_key="$(rustc -V 2>/dev/null || true) $(sed -n '/^\[profile/,$p' Cargo.toml | cksum)"
if [ "$(cat "$target/.yakumo-cache-key" 2>/dev/null || true)" != "$cache_key" ]; then
  echo "prune-target: compiler or build profiles changed; emptying the build cache"
  rm -rf "${target:?}"/*
fi
printf '%s' "$cache_key" >"$target/.yakumo-cache-key"

free_gb() { df -P -B1G "$target" | awk 'NR == 2 { print $4 }'; }

for deps in "$target"/*/deps; do
  [ -d "$deps" ] || continue
  # Workspace executables (test binaries have no extension) and libyakumo_* libraries: group by the
  # name before the 16-hex-digit hash, keep the newest of each group.
  declare -A newest=()
  while read -r _ file; do
    [[ $file =~ ^(.+)-[0-9a-f]{16}(\.[a-z]+)?$ ]] || continue
    key="${BASH_REMATCH[1]}${BASH_REMATCH[2]}"
    if [ -n "${newest[$key]:-}" ]; then
      stem=${file%%.*}
      rm -f "$deps/$file" "$deps/$stem.d" "$deps/${stem#lib}.d"
    else
      newest[$key]=$file
    fi
  done < <(find "$deps" -maxdepth 1 -type f \( -name 'libyakumo_*' -o ! -name '*.*' \) \
    -printf '%T@ %f\n' | sort -rn)
  unset newest
  find "$deps" -type f -atime +3 -delete 2>/dev/null || true
done
rm -rf "$target"/*/incremental

if [ "$(free_gb)" -lt "$min_free_gb" ]; then
  echo "prune-target: only $(free_gb) GB free on the disk of $target; emptying the build cache"
  rm -rf "${target:?}"/*
fi
echo "prune-target: $(du -sh "$target" | cut -f1) in $target, $(free_gb) GB free"
