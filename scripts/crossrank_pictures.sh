#!/usr/bin/env bash
# Pictures of 2D styles on 3D content (docs/crossrank.md): the bundled moving-disc video styled by
# strokes.png, with and without the temporal term (docs/img/crossrank_video.png: content frames
# on top, result frames below), and the Shepp-Logan phantom styled by stripes.png, three orthogonal
# mid-slices of the content and of the result (docs/img/crossrank_volume.png). Prints each run's
# wall time and the flicker (mean absolute difference of consecutive frames, pixels in [0, 1]) of
# the content and of both video results. WORK=DIR reuses the results already in DIR.
#
#   scripts/crossrank_pictures.sh               # 100 L-BFGS iterations, 2 threads
#   THREADS=1 ITERS=50 scripts/crossrank_pictures.sh
#
# Needs python3 with numpy (PNG and NIfTI are read and written here without other packages).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
threads="${THREADS:-2}"
iters="${ITERS:-100}"
video="${VIDEO:-datasets/video/disc}"
video_style="${VIDEO_STYLE:-datasets/images/strokes.png}"
volume="${VOLUME:-datasets/volumes/phantom.nii.gz}"
volume_style="${VOLUME_STYLE:-datasets/images/stripes.png}"
work="${WORK:-$(mktemp -d)}"
echo "work: $work"

cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-$root/target}/release/ndstyle"
common=(--threads "$threads" --iters "$iters" --init content --overwrite --quiet --allow-no-progress)

timed() { # NAME OUTPUT ARGS...: run `ndstyle stylize` unless OUTPUT exists, print its wall time
    local name="$1" out="$2"
    shift 2
    [[ -e "$out" ]] && { echo "$name: reusing $out"; return; }
    local start
    start=$(date +%s%N)
    "$bin" stylize "${common[@]}" -o "$out" "$@"
    echo "$name: $(( ($(date +%s%N) - start) / 1000000 )) ms ($threads threads, $iters iterations)"
}
timed "video, temporal 1" "$work/video_t1" --content "$video" --style "$video_style" --temporal 1
timed "video, temporal 0" "$work/video_t0" --content "$video" --style "$video_style" --temporal 0
timed "volume" "$work/volume.npy" --content "$volume" --style "$volume_style" --window -1000,1000

mkdir -p docs/img
python3 - "$work" "$video" "$volume" docs/img <<'PY'
import glob, gzip, struct, sys, zlib
import numpy as np
work, video, volume, out = sys.argv[1:]

def read_png(path):
    """8-bit, non-interlaced grey / RGB / RGBA PNG as an H x W x C uint8 array."""
    data = open(path, "rb").read()
    pos, idat, head = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, colour, _, _, interlace = head
    c = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    assert depth == 8 and interlace == 0, f"{path}: only 8-bit non-interlaced PNG"
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + w * c)
    img = np.zeros((h, w * c), np.int32)
    for r in range(h):
        f, line = raw[r, 0], raw[r, 1:].astype(np.int32)
        up = img[r - 1] if r else np.zeros(w * c, np.int32)
        cur = img[r]
        for i in range(w * c):
            a = cur[i - c] if i >= c else 0
            b, d = up[i], up[i - c] if i >= c else 0
            if f == 0: p = 0
            elif f == 1: p = a
            elif f == 2: p = b
            elif f == 3: p = (a + b) // 2
            else:
                pa, pb, pc = abs(b - d), abs(a - d), abs(a + b - 2 * d)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else d)
            cur[i] = (line[i] + p) & 255
    return img.astype(np.uint8).reshape(h, w, c)

def write_png(path, rgb):
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[r].tobytes() for r in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))

def frames(folder):
    return np.stack([read_png(p) for p in sorted(glob.glob(f"{folder}/*.png"))]).astype(np.float64) / 255

def flicker(v):
    return float(np.abs(v[1:] - v[:-1]).mean())

def grid(rows, scale, gap=2):
    """Rows of equally sized H x W x 3 uint8 tiles, enlarged `scale` times, with white gaps."""
    h, w = rows[0][0].shape[:2]
    g = gap * scale
    sheet = np.full((len(rows) * (h * scale + g) - g, len(rows[0]) * (w * scale + g) - g, 3), 255, np.uint8)
    for i, row in enumerate(rows):
        for j, t in enumerate(row):
            y, x = i * (h * scale + g), j * (w * scale + g)
            sheet[y:y + h * scale, x:x + w * scale] = t.repeat(scale, 0).repeat(scale, 1)
    return sheet

# Video: content frames over result frames (with, then without the temporal term), 4 of them.
content, with_t, without_t = frames(video), frames(f"{work}/video_t1"), frames(f"{work}/video_t0")
print("flicker (mean |x_t - x_(t-1)|, pixels in [0, 1]):")
for name, v in [("content", content), ("result, temporal 1", with_t), ("result, temporal 0", without_t)]:
    print(f"  {name}: {flicker(v):.4f}")
pick = np.linspace(0, len(content) - 1, 4).round().astype(int)
to8 = lambda f: (np.clip(f, 0, 1) * 255).round().astype(np.uint8)
rows = [[to8(v[t]) for t in pick] for v in (content, with_t, without_t)]
write_png(f"{out}/crossrank_video.png", grid(rows, 4))
print(f"wrote {out}/crossrank_video.png: frames {[int(t) for t in pick]}; rows content, temporal 1, temporal 0")

# Volume: mid-slices across each axis of the content (read from the NIfTI) and of the result.
raw = gzip.decompress(open(volume, "rb").read())
dim = struct.unpack("<8h", raw[40:56])
code, offset = struct.unpack("<h", raw[70:72])[0], int(struct.unpack("<f", raw[108:112])[0])
dtype = {2: "u1", 4: "<i2", 8: "<i4", 16: "<f4", 64: "<f8"}[code]
nx, ny, nz = dim[1:4]
vol = np.frombuffer(raw[offset:offset + nx * ny * nz * np.dtype(dtype).itemsize], dtype).astype(np.float64)
vol = vol.reshape(nz, ny, nx)  # x fastest in the file: (z, y, x) in C order
res = np.load(f"{work}/volume.npy").astype(np.float64)
res = res.reshape(res.shape[-3:])
# The result's axis order: the permutation of the content's that matches it best.
perms = [(0, 1, 2), (2, 1, 0), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1)]
best = max(perms, key=lambda p: np.corrcoef(vol.transpose(p).ravel(), res.ravel())[0, 1])
vol = vol.transpose(best)
print(f"volume: result {res.shape}, content axes {best}, correlation {np.corrcoef(vol.ravel(), res.ravel())[0, 1]:.3f}")
lo, hi = -1000.0, 1000.0
def mids(v):
    n = v.shape
    return [v[n[0] // 2], v[:, n[1] // 2], v[:, :, n[2] // 2]]
grey = lambda s: np.repeat(to8((s - lo) / (hi - lo))[..., None], 3, axis=2)
write_png(f"{out}/crossrank_volume.png", grid([[grey(s) for s in mids(v)] for v in (vol, res)], 4))
print(f"wrote {out}/crossrank_volume.png: rows content, result; columns slices across axes 0, 1, 2")
PY
ls -l docs/img/crossrank_*.png
