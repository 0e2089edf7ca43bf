#!/usr/bin/env bash
# Retrains the whole zoo: generates the synth dataset if missing, trains, exports and
# checks each model, then records each val mAP through the harness (record_map.ts).
# CPU only, one torch thread per model. The Faster R-CNN pair trains from scratch first;
# every other model starts from the trained backbone + FPN of the Faster R-CNN with the
# same anti-aliasing (and the two-stage anchor-free model also from its RoI heads), so
# plain and anti-aliased twins keep identical data, seed, schedule and initialisation
# recipe. JOBS=2 (default) runs the plain queue and the anti-aliased queue side by side.
#   models/zoo/train/train_all.sh                      # all models
#   ONLY="zoo-fcos zoo-fcos-aa" models/zoo/train/train_all.sh
#   ITERS=3000 JOBS=1 models/zoo/train/train_all.sh    # longer schedule, one at a time
set -euo pipefail
cd "$(dirname "$0")/../../.."
PY=${PY:-/usr/bin/python3}
DATA=${DATA:-datasets/synth}
ITERS=${ITERS:-1200}           # Faster R-CNN pair, from scratch
FT_ITERS=${FT_ITERS:-1000}     # every model that starts from a trained backbone
RETINA_ITERS=${RETINA_ITERS:-3000}  # RetinaNet learns slowest (focal loss over 9 anchors per location)
WARMUP=${WARMUP:-50}
THREADS=${THREADS:-1}
JOBS=${JOBS:-2}
mkdir -p models/zoo/logs

if [ ! -f "$DATA/train/instances.json" ] || [ ! -f "$DATA/val/instances.json" ]; then
  npx tsx src/cli/index.ts datasets synth --out "$DATA" --images 2000 --val 200 --seed 0 --size 256 -q
fi

# name arch blur twin (- = none) init-from (- = scratch) iterations [extra train.py flags];
# a model's init-from comes first
MODELS=(
  "zoo-fasterrcnn fasterrcnn 1 zoo-fasterrcnn-aa - $ITERS"
  "zoo-fasterrcnn-aa fasterrcnn 3 zoo-fasterrcnn - $ITERS"
  "zoo-fcos fcos 1 zoo-fcos-aa zoo-fasterrcnn $FT_ITERS"
  "zoo-fcos-aa fcos 3 zoo-fcos zoo-fasterrcnn-aa $FT_ITERS"
  "zoo-fcos-aps fcos 1 - zoo-fasterrcnn $FT_ITERS --aps --baseline zoo-fcos"
  "zoo-retinanet retinanet 1 zoo-retinanet-aa zoo-fasterrcnn $RETINA_ITERS"
  "zoo-retinanet-aa retinanet 3 zoo-retinanet zoo-fasterrcnn-aa $RETINA_ITERS"
  "zoo-fcosrcnn fcosrcnn 1 zoo-fcosrcnn-aa zoo-fasterrcnn $FT_ITERS"
  "zoo-fcosrcnn-aa fcosrcnn 3 zoo-fcosrcnn zoo-fasterrcnn-aa $FT_ITERS"
)

train_one() {
  local name=$1 arch=$2 blur=$3 twin=$4 init=$5 iters=$6 extra=("${@:7}")
  if [ "$init" != - ]; then extra+=(--init-from "$init"); fi
  if [ "$twin" != - ]; then extra+=(--twin "$twin"); fi
  echo "== $name ($(date -u +%H:%M:%S)) $iters iterations, init $([ "$init" = - ] && echo scratch || echo "$init")"
  "$PY" models/zoo/train/train.py --arch "$arch" --blur "$blur" --name "$name" \
    --data "$DATA" --iters "$iters" --warmup "$WARMUP" --threads "$THREADS" --seed 0 "${extra[@]}" \
    > "models/zoo/logs/$name.log" 2>&1 || { echo "$name failed: see models/zoo/logs/$name.log"; return 1; }
  node models/zoo/train/check_onnx.mjs "$name" | tee -a "models/zoo/logs/$name.log"
}

# queue PLAIN|AA: the models of one anti-aliasing setting, in order
queue() {
  for spec in "${MODELS[@]}"; do
    read -r name arch blur twin init iters flags <<<"$spec"
    if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then continue; fi
    if [ "$1" = PLAIN ] && [ "$blur" != 1 ]; then continue; fi
    if [ "$1" = AA ] && [ "$blur" = 1 ]; then continue; fi
    # shellcheck disable=SC2086  # flags: word-split on purpose
    train_one "$name" "$arch" "$blur" "$twin" "$init" "$iters" $flags
  done
}

if [ "$JOBS" -ge 2 ]; then
  queue PLAIN & plain=$!
  queue AA & aa=$!
  wait "$plain"; wait "$aa"
else
  queue ALL
fi
if [ "${RECORD_MAP:-1}" = 1 ]; then
  npx tsx models/zoo/train/record_map.ts ${ONLY:-}
fi
