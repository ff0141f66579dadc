#!/bin/sh
# Start or resume the shipped model's training in the background, outside the work tree.
#
#   model/train_full_background.sh                       # from the repository root
#   TRAIN_INIT=path/model.pdparams model/train_full_background.sh   # first start of a finetune
#
# TRAIN_PROFILE picks the phase: finetune (default: the shipped 3x48x320 model,
# continuing trained weights) or full (from random weights).  State, log and
# final outputs go to $TRAIN_STATE (default /work/train-state/tune48), which
# survives a re-laid work tree; the val/test splits it evaluates on are
# rendered beside it once (deterministic, identical to build/data/{val,test}).
# Two data-parallel processes, one OpenMP thread each, under nice so the rest
# of the machine stays responsive.  Safe to run again after a kill: --resume
# continues from the newest saved state, or from the committed checkpoint
# (model/checkpoints/en_PP-OCRv3_rec, weights and step) when that one was
# trained with the same config and profile; a first finetune needs TRAIN_INIT.
set -e
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
STATE=${TRAIN_STATE:-/work/train-state/tune48}
PROFILE=${TRAIN_PROFILE:-finetune}
DATA=$(dirname "$STATE")/data
CFG=model/configs/en_PP-OCRv3_rec.yml
mkdir -p "$STATE"
for split in val test; do
    [ -f "$DATA/$split/label.txt" ] || nice -n 10 $PY -m model.splits --config $CFG --split $split --out "$DATA/$split"
done
nohup nice -n 10 $PY -m model.train --config $CFG --profile "$PROFILE" --out "$STATE" --nproc 2 --resume \
    --resume-from model/checkpoints/en_PP-OCRv3_rec ${TRAIN_INIT:+--init "$TRAIN_INIT"} \
    --val "$DATA/val/label.txt" --test "$DATA/test/label.txt" >> "$STATE/nohup.log" 2>&1 &
echo $! > "$STATE/train.pid"
echo "training in the background: pid $(cat "$STATE/train.pid"), log $STATE/train.log"
