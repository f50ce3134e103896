#!/bin/bash
# Run an ndstyle experiment as a Slurm job array: task i of N processes shard i/N.
# All tasks write into one shared experiment directory (on a shared file system); each run is
# locked while it runs, finished runs (metrics.json) are skipped, and interrupted ones resume
# from their checkpoints, so resubmitting the same array finishes what is left.
#
#   sbatch --array=0-3 examples/cluster/slurm_array.sh configs/image_sweep.yaml /shared/runs/image_sweep
#
#SBATCH --job-name=ndstyle
#SBATCH --cpus-per-task=4
#SBATCH --mem=8G
#SBATCH --time=02:00:00
#SBATCH --output=ndstyle-%A_%a.out
set -euo pipefail
CONFIG=${1:?usage: sbatch --array=0-(N-1) slurm_array.sh CONFIG OUTDIR}
OUTDIR=${2:?usage: sbatch --array=0-(N-1) slurm_array.sh CONFIG OUTDIR}
N=${SLURM_ARRAY_TASK_COUNT:?run as a job array (sbatch --array=0-N)}
I=${SLURM_ARRAY_TASK_ID}
ndstyle --threads "${SLURM_CPUS_PER_TASK:-1}" run "$CONFIG" --shard "$I/$N" -o "$OUTDIR" --quiet
# After the array: ndstyle status "$OUTDIR"
