#!/usr/bin/env bash
# Photo style transfer with the pretrained VGG16 (HED backbone): datasets/images/landscape.png in the
# style of datasets/images/waves.png, small and quick, into out/photo/. Fetches the weights first if
# models/ lacks them (scripts/fetch_weights.sh).
#
#   scripts/photo_demo.sh                  # defaults below
#   MAX_SIDE=256 ITERS=100 scripts/photo_demo.sh
#
# The image is optimised in RGB [0, 1] space: the network's first layer applies the Caffe
# preprocessing, so the result needs no deprocessing.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

weights="$(scripts/fetch_weights.sh)"
out_dir="out/photo"
mkdir -p "$out_dir"

MAX_SIDE="${MAX_SIDE:-128}"
ITERS="${ITERS:-40}"
# Weights for the lecture normalisation with VGG16 (content relu4_2, style relu1_1..relu5_1):
# β/α = 0.1 starting from the content gives clear texture with the scene kept (1e-2: faint texture).
ALPHA="${ALPHA:-1}"
BETA="${BETA:-1e-1}"
INIT="${INIT:-content}"

cargo build --release --quiet
target/release/ndstyle stylize \
    --content datasets/images/landscape.png \
    --style datasets/images/waves.png \
    --extractor vgg16 --weights "$weights" \
    --max-side "$MAX_SIDE" --iters "$ITERS" \
    --alpha "$ALPHA" --beta "$BETA" --init "$INIT" \
    --output "$out_dir/landscape_waves.png" --overwrite "$@"
