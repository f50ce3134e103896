#!/usr/bin/env python3
"""Write tests/fixtures/tiny_vgg16_keras2_h5py.h5: a tiny VGG16 in the Keras 2 layout, written by
libhdf5 through h5py exactly as Keras 2 does (fixed-length byte-string attributes layer_names and
weight_names, datasets block{b}_conv{k}/block{b}_conv{k}_W_1:0 and _b_1:0, empty pool layers).

A regression fixture for the pure-Rust reader against files made by the C library. Values match
tests/weights.rs `tiny`: block b has b + 3 output channels; layer l's kernel is l + j / 1024 over
its row-major (kh, kw, cin, cout) index j, its bias -l - o / 8.

Needs: python3 -m pip install h5py numpy.   Usage: python3 scripts/make_keras2_fixture.py [out.h5]
"""
import os
import sys

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "tiny_vgg16_keras2_h5py.h5")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else OUT
    counts = [2, 2, 3, 3, 3]
    names = ["input_1"]
    layer, cin = 0, 3
    with h5py.File(out, "w") as f:
        for b, n in enumerate(counts):
            cout = b + 4
            for k in range(1, n + 1):
                name = f"block{b + 1}_conv{k}"
                g = f.create_group(name)
                kernel = (layer + np.arange(9 * cin * cout) / 1024.0).astype(np.float32).reshape(3, 3, cin, cout)
                bias = (-layer - np.arange(cout) / 8.0).astype(np.float32)
                weight_names = [f"{name}_W_1:0".encode(), f"{name}_b_1:0".encode()]
                g.attrs["weight_names"] = np.asarray(weight_names)
                g.create_dataset(weight_names[0].decode(), data=kernel)
                g.create_dataset(weight_names[1].decode(), data=bias)
                names.append(name)
                layer, cin = layer + 1, cout
            pool = f"block{b + 1}_pool"
            f.create_group(pool).attrs["weight_names"] = np.array([], dtype="S1")
            names.append(pool)
        f.attrs["layer_names"] = np.asarray([n.encode() for n in names])
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.1.5"
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
