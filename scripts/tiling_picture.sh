#!/usr/bin/env bash
# A volume stylised whole and over tiles, and the proof that tiles leave no seam: three orthogonal
# mid-slices of the tiled result with the tile borders marked (docs/img/tiling_slices.png), of the
# whole-input result (tiling_whole.png), of the per-voxel absolute difference of one evaluation's
# gradient, tiled − whole, at one point (tiling_grad_diff.png, `cargo bench --bench tiled -- check`),
# of the results after the L-BFGS iterations, tiled − whole (tiling_diff.png), and, for scale, of
# two whole-input runs that differ only in their thread count (tiling_diff_threads.png, on the same
# grey scale as tiling_diff.png). Prints the largest and mean differences. WORK=DIR reuses the
# results already in DIR.
#
#   scripts/tiling_picture.sh                    # 64³, tiles of 32, 5 L-BFGS iterations, 1 thread
#   SIDE=96 TILE=32 ITERS=10 scripts/tiling_picture.sh
#
# Content: an ellipsoid phantom; style: a gyroid texture (both generated here with numpy, .npy).
# Needs python3 with numpy.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
side="${SIDE:-64}"
tile="${TILE:-32}"
iters="${ITERS:-5}"
threads="${THREADS:-1}"
work="${WORK:-$(mktemp -d)}"
echo "work: $work"

python3 - "$work" "$side" <<'PY'
import sys
import numpy as np
work, n = sys.argv[1], int(sys.argv[2])
z, y, x = np.meshgrid(*[np.linspace(-1, 1, n)] * 3, indexing="ij")
# Ellipsoids of a 3D head phantom: (centre, semi-axes, value).
phantom = np.zeros((n, n, n), np.float32)
for (cz, cy, cx), (az, ay, ax), v in [((0, 0, 0), (0.9, 0.8, 0.7), 0.6), ((0, 0, 0), (0.85, 0.75, 0.65), -0.3),
                                       ((0.1, 0.25, -0.2), (0.3, 0.2, 0.15), 0.4), ((-0.2, -0.3, 0.25), (0.25, 0.25, 0.2), 0.3),
                                       ((0.3, -0.1, 0.0), (0.1, 0.1, 0.1), 0.5)]:
    phantom[((z - cz) / az) ** 2 + ((y - cy) / ay) ** 2 + ((x - cx) / ax) ** 2 <= 1] += v
np.save(f"{work}/content.npy", phantom[None])
m = 48
g = np.linspace(0, 4 * np.pi, m, endpoint=False)
gz, gy, gx = np.meshgrid(g, g, g, indexing="ij")
gyroid = np.sin(gx) * np.cos(gy) + np.sin(gy) * np.cos(gz) + np.sin(gz) * np.cos(gx)
np.save(f"{work}/style.npy", ((gyroid - gyroid.min()) / np.ptp(gyroid)).astype(np.float32)[None])
PY

cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-$root/target}/release/ndstyle"
args=(stylize --content "$work/content.npy" --style "$work/style.npy" --rank 3 --iters "$iters"
      --seed 1 --allow-no-progress --overwrite --quiet)
for mode in whole tiled whole_threads; do
    extra=(--threads "$threads")
    [[ "$mode" == tiled ]] && extra+=(--tile "$tile")
    [[ "$mode" == whole_threads ]] && extra=(--threads $((threads + 1)))
    [[ -s "$work/$mode.npy" ]] && { echo "$mode: reusing $work/$mode.npy"; continue; }
    start=$(date +%s%N)
    "$bin" "${args[@]}" "${extra[@]}" -o "$work/$mode.npy"
    echo "$mode: $(( ($(date +%s%N) - start) / 1000000 )) ms"
done

RAYON_NUM_THREADS="$threads" cargo bench --quiet --bench tiled -- check volume "${side}x${side}x${side}" "$tile" "$work"
mkdir -p docs/img
python3 - "$work" "$tile" docs/img <<'PY'
import struct, sys, zlib
import numpy as np
work, tile, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def load(name):
    a = np.load(f"{work}/{name}.npy").astype(np.float64)
    return a.reshape(a.shape[-3:])

def png(path, rgb):
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[r].tobytes() for r in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))

def mids(v):
    n = v.shape
    return [v[n[0] // 2], v[:, n[1] // 2], v[:, :, n[2] // 2]]

def strip(slices, lo, hi, marks, scale=3):
    """The slices side by side, grey from lo..hi, tile borders as red dots, 4-pixel gaps."""
    tiles = []
    for s in slices:
        g = np.clip((s - lo) / max(hi - lo, 1e-30), 0, 1)
        rgb = np.repeat((g * 255).astype(np.uint8)[..., None], 3, axis=2)
        rgb = rgb.repeat(scale, 0).repeat(scale, 1)
        if marks:
            for axis in (0, 1):
                for b in range(tile, s.shape[axis], tile):
                    line = [slice(None), slice(None)]
                    line[axis] = b * scale
                    idx = tuple(line)
                    dots = rgb[idx]
                    dots[::4] = (230, 40, 40)
        tiles.append(rgb)
    gap = np.full((tiles[0].shape[0], 4 * scale, 3), 255, np.uint8)
    return np.concatenate(sum(([t, gap] for t in tiles), [])[:-1], axis=1)

gw, gt = load("grad_whole"), load("grad_tiled")
gd = np.abs(gt - gw)
print(f"one evaluation: |gradient tiled - whole| max {gd.max():.3g}, {gd.max() / np.abs(gw).max():.3g} of the largest gradient")
png(f"{out}/tiling_grad_diff.png", strip(mids(gd), 0.0, gd.max(), True))
whole, tiled, other = load("whole"), load("tiled"), load("whole_threads")
diff, control = np.abs(tiled - whole), np.abs(other - whole)
print(f"value range {whole.min():.4g} .. {whole.max():.4g}")
for what, d in [("|tiled - whole|", diff), ("|whole, other thread count - whole|", control)]:
    print(f"{what}: max {d.max():.3g}, mean {d.mean():.3g}, max relative to the range {d.max() / np.ptp(whole):.3g}")
lo, hi = np.percentile(whole, [0.5, 99.5])
top = max(diff.max(), control.max())
png(f"{out}/tiling_slices.png", strip(mids(tiled), lo, hi, True))
png(f"{out}/tiling_whole.png", strip(mids(whole), lo, hi, False))
png(f"{out}/tiling_diff.png", strip(mids(diff), 0.0, top, True))
png(f"{out}/tiling_diff_threads.png", strip(mids(control), 0.0, top, True))
print(f"wrote {out}/tiling_{{slices,whole,grad_diff,diff,diff_threads}}.png (differences scaled 0 .. {top:.3g})")
PY
