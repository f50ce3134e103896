#!/usr/bin/env bash
# Pictures of every modality stylised with the default command (docs/gallery.md, "Every modality
# with the default command"): the bundled samples in datasets/, one `ndstyle stylize` each with
# only the options `ndstyle demo` uses, then examples/modality_gallery.rs renders
# docs/img/gallery_{ecg,audio,image,volume,video}.png (content | style | result). Prints each run's
# wall time and the first and final total loss (OUT.losses.csv). Rerun it after any change to the
# outputs: every run is redone (--overwrite) and every picture is redrawn.
#
#   scripts/gallery_pictures.sh                   # 2 threads, the default iterations, into out/gallery
#   THREADS=1 ITERS=50 WORK=/tmp/g scripts/gallery_pictures.sh
#   RENDER_ONLY=1 scripts/gallery_pictures.sh     # redraw from the results already in WORK
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
threads="${THREADS:-2}"
work="${WORK:-out/gallery}"
data="${DATA:-datasets}"
mkdir -p "$work" docs/img
echo "machine: $(grep -m1 "model name" /proc/cpuinfo | sed 's/.*: //'), $threads threads"

cargo build --release --quiet --bin ndstyle --example modality_gallery
bin="${CARGO_TARGET_DIR:-$root/target}/release/ndstyle"
gallery="${CARGO_TARGET_DIR:-$root/target}/release/examples/modality_gallery"
common=(--threads "$threads" --overwrite --quiet)
[[ -n "${ITERS:-}" ]] && common+=(--iters "$ITERS")

run() { # OUT CONTENT STYLE [OPTIONS...]: stylise, then print wall time and first/final loss
    local out="$1" content="$2" style="$3"
    shift 3
    echo "\$ ndstyle stylize --content $content --style $style -o $out${*:+ $*} ${common[*]}"
    local start ms
    start=$(date +%s%N)
    "$bin" stylize --content "$content" --style "$style" -o "$out" "$@" "${common[@]}"
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    local name="${out##*/}"
    name="${name%.gz}"
    local log="$(dirname "$out")/${name%.*}.losses.csv" # OUT less its extension, .losses.csv
    awk -F, -v ms="$ms" -v out="$out" '
        NR == 2 { first = $2 }
        NR > 1 { last = $2; it = $1; secs = $NF }
        END { printf "%s: %.1f s wall, loss %.4g (iteration 0) -> %.4g (iteration %d, %.1f s in the log)\n",
                     out, ms / 1000, first, last, it, secs }' "$log"
}

if [[ -z "${RENDER_ONLY:-}" ]]; then
    run "$work/ecg.csv" "$data/signals/ecg_60bpm.csv" "$data/signals/ecg_90bpm.csv" --beta 1e4
    run "$work/audio.wav" "$data/audio/melody.wav" "$data/audio/texture.wav" --n-fft 512 --hop 128
    run "$work/image.png" "$data/images/landscape.png" "$data/images/waves.png"
    run "$work/volume.nii.gz" "$data/volumes/phantom.nii.gz" "$data/volumes/texture.nii.gz" --beta 1e4
    run "$work/video" "$data/video/disc" "$data/video/waves" --beta 1e4
fi

"$gallery" ecg docs/img/gallery_ecg.png "$data/signals/ecg_60bpm.csv" "$data/signals/ecg_90bpm.csv" "$work/ecg.csv"
"$gallery" audio docs/img/gallery_audio.png "$data/audio/melody.wav" "$data/audio/texture.wav" "$work/audio.wav"
"$gallery" image docs/img/gallery_image.png "$data/images/landscape.png" "$data/images/waves.png" "$work/image.png"
"$gallery" volume docs/img/gallery_volume.png "$data/volumes/phantom.nii.gz" "$data/volumes/texture.nii.gz" \
    "$work/volume.nii.gz"
"$gallery" video docs/img/gallery_video.png "$data/video/disc" "$data/video/waves" "$work/video"
ls -l docs/img/gallery_*.png
