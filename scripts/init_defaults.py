#!/usr/bin/env python3
"""Measure where `init: auto` should start, per kind: noise against the content, 50 L-BFGS
iterations on the bundled samples with the demo's options. Prints the final loss and the
result's roughness (RMS of first differences along each axis, over the content's) and, for
video, its flicker (mean |frame t+1 - frame t|, over the content's).

    python3 scripts/init_defaults.py [path/to/ndstyle]    # needs numpy
"""
import os, subprocess, sys, tempfile
import numpy as np

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/ndstyle"
CASES = [  # kind, content, style, extra options (as in `ndstyle demo`)
    ("signal", "signals/ecg_60bpm.csv", "signals/ecg_90bpm.csv", ["--beta", "1e4"]),
    ("audio", "audio/melody.wav", "audio/texture.wav", ["--n-fft", "512", "--hop", "128"]),
    ("volume", "volumes/phantom.nii.gz", "volumes/texture.nii.gz", ["--beta", "1e4"]),
    ("video", "video/disc", "video/waves", ["--beta", "1e4"]),
]

def stft(extra):
    """The options of `extra` that decide how the content is read (all but --beta)."""
    return [a for i, a in enumerate(extra) if "--beta" not in extra[max(i - 1, 0):i + 1]]

def final_loss(out):
    rows = open(os.path.splitext(out)[0] + ".losses.csv").read().split()
    return float(rows[-1].split(",")[1]), float(rows[1].split(",")[1])

def roughness(a):
    a = a.astype(np.float64)
    return np.sqrt(np.mean([np.mean(np.diff(a, axis=k) ** 2) for k in range(a.ndim) if a.shape[k] > 1]))

with tempfile.TemporaryDirectory() as d:
    subprocess.run([BIN, "datasets", "generate", "--out", d + "/s"], check=True, capture_output=True)
    print("| kind | init | first loss | final loss | roughness / content's | flicker / content's |")
    print("|---|---|---|---|---|---|")
    for kind, content, style, extra in CASES:
        c = os.path.join(d, "s", content)
        ref = d + f"/{kind}_base.npy"
        subprocess.run([BIN, "stylize", "--content", c, "--style", c, "-o", ref, "--iters", "1",
                        "--init", "content", "--alpha", "1", "--beta", "0", "--quiet",
                        "--allow-no-progress"] + stft(extra), check=True, capture_output=True)
        base = np.load(ref).squeeze()
        for init in ["noise", "content"]:
            out = d + f"/{kind}_{init}.npy"
            subprocess.run([BIN, "stylize", "--content", c, "--style", os.path.join(d, "s", style),
                            "-o", out, "--iters", "50", "--init", init, "--quiet"] + extra,
                           check=True, capture_output=True)
            r = np.load(out).squeeze()
            last, first = final_loss(out)
            flick = ""
            if kind == "video":
                t = 0  # (T, H, W, C): time first
                flick = "%.2f" % (np.mean(np.abs(np.diff(r, axis=t))) / np.mean(np.abs(np.diff(base, axis=t))))
            print(f"| {kind} | {init} | {first:.3g} | {last:.3g} | {roughness(r) / roughness(base):.2f} | {flick} |")
