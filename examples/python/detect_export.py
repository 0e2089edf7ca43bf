#!/usr/bin/env python3
"""Run a torchvision detector on a shiftbench export folder and write its results.

    shiftbench export --input-size 320x320 --fit letterbox --pad-value 0,0,0 \\
        --dataset ../shared/data/coco128 --shifts grid:1 --out exports/coco128
    python3 examples/python/detect_export.py exports/coco128 --weights fasterrcnn_mobilenet_v3_large_320_fpn.pth
    shiftbench score exports/coco128 --name fasterrcnn-mnv3-320 --family two-stage,anchor-based --out reports/fasterrcnn

For every image of export.json and every shift index k it reads inputs/<imageId>/<k>.png, runs
the model and writes detections/shift_<k>.json: COCO results [{image_id, category_id, bbox
[x, y, w, h], score}] in the pixels of that PNG (and detections/timing.json: the seconds spent
in the model). shiftbench projects them back and scores them.

The model's own resizing is switched off (min_size/max_size = the input size for Faster R-CNN;
SSDlite always works at 320x320, so export with --input-size 320x320), so the network sees the
exported pixels as they are: a one-pixel shift of the PNG is a one-pixel shift for the network.
torchvision models take RGB in [0, 1] and normalise inside, so no other preprocessing is done.

Weights: nothing is downloaded. --weights FILE loads a state dict saved with
torch.save(model.state_dict(), FILE) (e.g. torchvision's COCO checkpoint, whose labels are COCO
category ids); without it the model is randomly initialised (seeded by --seed), which makes
detections to check the pipeline with, not to measure a real detector.
A JSON summary goes to stdout: {"model", "inputs", "seconds", "detections": [count per shift]}.
"""
import argparse
import json
import os
import sys
import time

import torch
import torchvision
from PIL import Image
from torchvision.transforms.functional import pil_to_tensor

MODELS = ("fasterrcnn_mobilenet_v3_large_320_fpn", "ssdlite320_mobilenet_v3_large")


def build_model(name, num_classes, width, height, score_threshold):
    """A torchvision detector without downloaded weights, working at the export's input size."""
    det = torchvision.models.detection
    if name == "fasterrcnn_mobilenet_v3_large_320_fpn":
        return det.fasterrcnn_mobilenet_v3_large_320_fpn(
            weights=None, weights_backbone=None, num_classes=num_classes,
            min_size=min(width, height), max_size=max(width, height), box_score_thresh=score_threshold)
    if (width, height) != (320, 320):
        print(f"warning: ssdlite320 resizes every input to 320x320, this export is {width}x{height}: "
              "shifts are then not whole pixels for the network (export with --input-size 320x320)", file=sys.stderr)
    return det.ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=num_classes,
                                             score_thresh=score_threshold)


def load_weights(model, file):
    """Loads a state dict (or a checkpoint holding one under "model"); BatchNorm counters may be absent."""
    state = torch.load(file, map_location="cpu")
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        sys.exit(f"error: {file} does not fit the model: missing {missing[:5]}, unexpected {unexpected[:5]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("export_dir", help="the folder `shiftbench export` wrote (export.json, inputs/)")
    ap.add_argument("--model", choices=MODELS, default=MODELS[0])
    ap.add_argument("--weights", help="local state dict (.pth); default: random initialisation")
    ap.add_argument("--num-classes", type=int,
                    help="classes incl. background (default: 91 with --weights or a label-free export, else the largest category id + 1)")
    ap.add_argument("--score-threshold", type=float, default=0.001, help="lowest score kept (default 0.001)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random initialisation")
    ap.add_argument("--threads", type=int, help="torch CPU threads")
    args = ap.parse_args()

    with open(os.path.join(args.export_dir, "export.json"), encoding="utf-8") as f:
        export = json.load(f)
    width, height = export["input"]["widthPx"], export["input"]["heightPx"]
    categories = [c["id"] for c in export["dataset"]["categories"]]
    num_classes = args.num_classes or (91 if args.weights else max(categories, default=90) + 1)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = build_model(args.model, num_classes, width, height, args.score_threshold)
    if args.weights:
        load_weights(model, args.weights)
    model.eval()

    shifts = len(export["shiftSet"]["shifts"])
    results = [[] for _ in range(shifts)]
    inputs = 0
    seconds = 0.0
    with torch.no_grad():
        for image in export["images"]:
            if "skipped" in image:
                continue
            batch = []
            for inp in image["inputs"]:
                with Image.open(os.path.join(args.export_dir, inp["file"])) as png:
                    batch.append(pil_to_tensor(png.convert("RGB")).float() / 255.0)
            start = time.perf_counter()
            outputs = model(batch)
            seconds += time.perf_counter() - start
            inputs += len(batch)
            for inp, out in zip(image["inputs"], outputs):
                for (x1, y1, x2, y2), label, score in zip(out["boxes"].tolist(), out["labels"].tolist(), out["scores"].tolist()):
                    results[inp["index"]].append(
                        {"image_id": image["id"], "category_id": int(label), "bbox": [x1, y1, x2 - x1, y2 - y1], "score": score})

    os.makedirs(os.path.join(args.export_dir, "detections"), exist_ok=True)
    for k, dets in enumerate(results):
        with open(os.path.join(args.export_dir, "detections", f"shift_{k}.json"), "w", encoding="utf-8") as f:
            json.dump(dets, f)
    with open(os.path.join(args.export_dir, "detections", "timing.json"), "w", encoding="utf-8") as f:
        json.dump({"inferenceSeconds": seconds}, f)
    print(json.dumps({"model": args.model, "weights": args.weights or "random", "inputs": inputs,
                      "seconds": round(seconds, 3), "detections": [len(d) for d in results]}))


if __name__ == "__main__":
    main()
