#!/usr/bin/env bash
# Retrains the whole zoo from scratch: generates the synth dataset, then trains,
# exports and checks each model in order, then records each val mAP through the
# harness (record_map.ts). CPU only, one torch thread; roughly 15 min per plain model
# and 30 per anti-aliased one on a busy 2-core machine.
#   models/zoo/train/train_all.sh            # all models
#   ONLY="zoo-fcos zoo-fcos-aa" models/zoo/train/train_all.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
PY=${PY:-/usr/bin/python3}
DATA=${DATA:-datasets/synth}
ITERS=${ITERS:-700}
WARMUP=${WARMUP:-50}
THREADS=${THREADS:-1}
mkdir -p models/zoo/logs

if [ ! -f "$DATA/train/instances.json" ] || [ ! -f "$DATA/val/instances.json" ]; then
  npx tsx src/cli/index.ts datasets synth --out "$DATA" --images 2000 --val 200 --seed 0 --size 256 -q
fi

# name arch blur twin
MODELS=(
  "zoo-fcos fcos 1 zoo-fcos-aa"
  "zoo-fcos-aa fcos 3 zoo-fcos"
  "zoo-retinanet retinanet 1 zoo-retinanet-aa"
  "zoo-retinanet-aa retinanet 3 zoo-retinanet"
  "zoo-fasterrcnn fasterrcnn 1 zoo-fasterrcnn-aa"
  "zoo-fasterrcnn-aa fasterrcnn 3 zoo-fasterrcnn"
  "zoo-fcosrcnn fcosrcnn 1 zoo-fcosrcnn-aa"
  "zoo-fcosrcnn-aa fcosrcnn 3 zoo-fcosrcnn"
)
for spec in "${MODELS[@]}"; do
  read -r name arch blur twin <<<"$spec"
  if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then continue; fi
  echo "== $name ($(date -u +%H:%M:%S))"
  "$PY" models/zoo/train/train.py --arch "$arch" --blur "$blur" --name "$name" --twin "$twin" \
    --data "$DATA" --iters "$ITERS" --warmup "$WARMUP" --threads "$THREADS" --seed 0 > "models/zoo/logs/$name.log" 2>&1
  node models/zoo/train/check_onnx.mjs "$name" | tee -a "models/zoo/logs/$name.log"
done
if [ "${RECORD_MAP:-1}" = 1 ] && [ -f models/zoo/train/record_map.ts ]; then
  npx tsx models/zoo/train/record_map.ts
fi
