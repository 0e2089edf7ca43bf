#!/bin/bash
# Queues the shards (a job array) and the merge, which starts only after every shard succeeded.
#   ./submit.sh            (settings: see shards.sbatch; exported variables reach both jobs)
set -euo pipefail
cd "$(dirname "$0")"
shards=$(sbatch --parsable shards.sbatch)
sbatch --dependency="afterok:${shards%%;*}" merge.sbatch
