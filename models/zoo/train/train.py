"""Trains one zoo detector on a COCO-format split, evaluates it on the val split,
exports it to ONNX and records it in models/zoo/zoo.json.

  /usr/bin/python3 models/zoo/train/train.py --arch fcos --blur 1 --name zoo-fcos \
      --data datasets/synth --iters 1500
"""
import argparse
import hashlib
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coco_map import coco_map  # noqa: E402
from data import load_split, targets_for  # noqa: E402
import aps  # noqa: E402
from zoo_models import FAMILIES, TOTAL_STRIDE_PX, OnnxWrapper, build_detector  # noqa: E402

ZOO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLUR_NAMES = {1: False, 3: "blur3", 5: "blur5"}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", required=True, choices=sorted(FAMILIES))
    p.add_argument("--blur", type=int, default=1, choices=[1, 3, 5], help="1 = plain, 3/5 = anti-aliased")
    p.add_argument("--aps", action="store_true",
                   help="FCOS only: exactly circular-shift-equivariant variant (adaptive polyphase sampling, "
                        "circular padding, phase-aware FPN and decoding; see aps.py)")
    p.add_argument("--name", required=True)
    p.add_argument("--twin", default=None, help="name of the other twin (recorded in zoo.json)")
    p.add_argument("--baseline", default=None, help="--aps: the plain model it is compared with (recorded in zoo.json)")
    p.add_argument("--data", default="datasets/synth")
    p.add_argument("--iters", type=int, default=1500)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--score-thresh", type=float, default=0.01)
    p.add_argument("--work-dir", default=".tmp/zoo")
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--no-export", action="store_true")
    p.add_argument("--init-from", default=None,
                   help="zoo model name whose trained weights (<work-dir>/<name>.pt) start this one: "
                        "every parameter and buffer with the same name and shape is copied (backbone + FPN; "
                        "RoI heads too for a two-stage model); the rest starts from its usual initialisation")
    return p.parse_args()


def lr_at(it: int, args) -> float:
    if it < args.warmup:
        return args.lr * (it + 1) / args.warmup
    t = (it - args.warmup) / max(1, args.iters - args.warmup)
    return args.lr * 0.5 * (1 + math.cos(math.pi * t))


@torch.no_grad()
def evaluate(model, images, pixels, by_image, cat_ids):
    model.eval()
    dets = []
    for i in range(0, len(images), 8):
        batch = [pixels[j].float() / 255 for j in range(i, min(i + 8, len(images)))]
        outs = model(batch)
        for im, o in zip(images[i:i + 8], outs):
            for b, l, s in zip(o["boxes"].tolist(), o["labels"].tolist(), o["scores"].tolist()):
                dets.append({"image_id": im["id"], "category_id": int(l), "score": float(s),
                             "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]]})
    return coco_map({im["id"]: by_image[im["id"]] for im in images}, dets, cat_ids), dets


def init_from(model, name: str, work_dir: str) -> list:
    """Copies every tensor of <work_dir>/<name>.pt whose name and shape match into `model`.
    Returns the top-level modules that were (partly) initialised, e.g. ['backbone', 'roi_heads']."""
    path = os.path.join(work_dir, f"{name}.pt")
    if not os.path.exists(path):
        raise SystemExit(f"Expected trained weights {path} for --init-from {name} but the file is missing; "
                         f"train {name} first (train_all.sh trains the Faster R-CNN pair before the others)")
    source = torch.load(path, map_location="cpu")
    own = model.state_dict()
    taken = {k: v for k, v in source.items() if k in own and own[k].shape == v.shape}
    if not any(k.startswith("backbone.") for k in taken):
        raise SystemExit(f"Expected backbone weights in {path} but none matched this architecture")
    model.load_state_dict(taken, strict=False)
    modules = sorted({k.split(".")[0] for k in taken})
    print(f"initialised {len(taken)}/{len(own)} tensors from {name} ({', '.join(modules)})", flush=True)
    return modules


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def update_zoo_json(entry: dict) -> None:
    path = os.path.join(ZOO_DIR, "zoo.json")
    zoo = {"models": []}
    if os.path.exists(path):
        with open(path) as f:
            zoo = json.load(f)
    old = next((m for m in zoo["models"] if m["name"] == entry["name"]), None)
    if old is not None:  # keep facts recorded by later steps only if the file is unchanged
        if old.get("files") == entry["files"]:
            for k in ("valMap", "ortTorchMaxAbsDiff"):
                if k in old.get("meta", {}):
                    entry["meta"][k] = old["meta"][k]
        zoo["models"] = [m if m["name"] != entry["name"] else entry for m in zoo["models"]]
    else:
        zoo["models"].append(entry)
    with open(path, "w") as f:
        json.dump(zoo, f, indent=2)
        f.write("\n")


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    random.seed(args.seed); np.random.seed(args.seed); torch.manual_seed(args.seed)
    os.makedirs(args.work_dir, exist_ok=True)

    tr_images, tr_by_image, cats, tr_pixels = load_split(os.path.join(args.data, "train"))
    va_images, va_by_image, va_cats, va_pixels = load_split(os.path.join(args.data, "val"))
    cat_ids = [c["id"] for c in cats]
    size_h, size_w = tr_pixels.shape[2], tr_pixels.shape[3]
    if size_h != size_w:
        raise SystemExit(f"Expected square images but received {size_w}x{size_h}")
    size = size_h
    num_classes = max(cat_ids) + 1
    print(f"train {len(tr_images)} images, val {len(va_images)}, {len(cats)} categories, {size}px", flush=True)

    model = build_detector(args.arch, num_classes, size, args.blur, score_thresh=args.score_thresh, aps=args.aps)
    n_params = sum(p.numel() for p in model.parameters())
    init_modules = init_from(model, args.init_from, args.work_dir) if args.init_from else None
    print(f"{args.name}: {args.arch} blur={args.blur} params={n_params}", flush=True)
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    gen = torch.Generator().manual_seed(args.seed)
    targets = [targets_for(tr_by_image[im["id"]]) for im in tr_images]

    t0 = time.time()
    order, pos = torch.randperm(len(tr_images), generator=gen), 0
    model.train()
    for it in range(args.iters):
        for g in opt.param_groups:
            g["lr"] = lr_at(it, args)
        batch_imgs, batch_tg = [], []
        for _ in range(args.batch):
            if pos >= len(order):
                order, pos = torch.randperm(len(tr_images), generator=gen), 0
            j = int(order[pos]); pos += 1
            img = tr_pixels[j].float() / 255
            tg = {k: v.clone() for k, v in targets[j].items()}
            if torch.rand(1, generator=gen).item() < 0.5:  # horizontal flip
                img = img.flip(-1)
                x1 = size - tg["boxes"][:, 2]; x2 = size - tg["boxes"][:, 0]
                tg["boxes"][:, 0], tg["boxes"][:, 2] = x1, x2
            batch_imgs.append(img); batch_tg.append(tg)
        losses = model(batch_imgs, batch_tg)
        loss = sum(losses.values())
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        if it % args.log_every == 0 or it == args.iters - 1:
            parts = " ".join(f"{k}={v.item():.4f}" for k, v in losses.items())
            print(f"iter {it} loss={loss.item():.4f} {parts} lr={lr_at(it, args):.2e} "
                  f"elapsed={time.time() - t0:.0f}s", flush=True)
    train_seconds = time.time() - t0

    t1 = time.time()
    val_map, _ = evaluate(model, va_images, va_pixels, va_by_image, cat_ids)
    print(f"val mAP@[.5:.95] (python monitor) = {val_map:.4f} ({time.time() - t1:.0f}s)", flush=True)
    torch.save(model.state_dict(), os.path.join(args.work_dir, f"{args.name}.pt"))
    if args.no_export:
        return

    model.eval()
    aps.TORCH_EXACT_PATHS = False  # the export takes the plain convolutions (see aps.py)
    wrapper = OnnxWrapper(model).eval()
    onnx_path = os.path.join(ZOO_DIR, f"{args.name}.onnx")
    dummy = va_pixels[0:1].float() / 255
    torch.onnx.export(wrapper, (dummy,), onnx_path, opset_version=11,
                      input_names=["images"], output_names=["boxes", "labels", "scores"],
                      dynamic_axes={"boxes": {0: "n"}, "labels": {0: "n"}, "scores": {0: "n"}},
                      do_constant_folding=True)
    print(f"exported {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.2f} MB)", flush=True)

    aps.TORCH_EXACT_PATHS = True
    # Reference outputs for the onnxruntime comparison (check_onnx.mjs).
    refs = []
    with torch.no_grad():
        for k in range(min(4, len(va_images))):
            x = va_pixels[k:k + 1].float() / 255
            b, l, s = wrapper(x)
            refs.append({"input": (va_pixels[k].permute(1, 2, 0).reshape(-1)).tolist(),
                         "boxes": b.tolist(), "labels": l.tolist(), "scores": s.tolist()})
    with open(os.path.join(args.work_dir, f"{args.name}.ref.json"), "w") as f:
        json.dump({"size": size, "refs": refs}, f)

    entry = {
        "name": args.name,
        "description": f"shiftbench zoo: {args.arch} on the tiny shared backbone"
                       + ("" if args.blur == 1 else f", anti-aliased (blur {args.blur})")
                       + (", exactly equivariant to circular shifts (adaptive polyphase sampling, circular padding)"
                          if args.aps else "")
                       + "; trained on the synth dataset",
        "family": FAMILIES[args.arch],
        "format": "onnx",
        "source": {"kind": "path", "dir": "models/zoo"},
        "files": [{"name": os.path.basename(onnx_path), "sha256": sha256(onnx_path)}],
        "inputSizePx": {"width": size, "height": size},
        "layout": "NCHW",
        "colorOrder": "RGB",
        "normalize": {"mean": [0, 0, 0], "std": [255, 255, 255]},
        "fit": "letterbox",
        "padValue": [128, 128, 128],  # = the normalisation mean, i.e. the conv layers' own zero padding
        "totalStridePx": TOTAL_STRIDE_PX,
        "decoder": {"name": "torchvision", "params": ({"labels": "category-id", "clipBoxes": False} if args.aps
                                                       else {"labels": "category-id"})},
        "classes": [{"id": c["id"], "name": c["name"]} for c in cats],
        "inputName": "images",
        "dynamicBatch": False,
        "meta": {
            "antialias": BLUR_NAMES[args.blur],
            "twin": args.twin,
            **({"equivariance": "circular-exact (APS)", "baseline": args.baseline} if args.aps else {}),
            "trainingConfig": {
                "arch": args.arch, "blurSize": args.blur, **({"aps": True} if args.aps else {}), "iterations": args.iters, "batch": args.batch,
                "optimizer": "AdamW", "lr": args.lr, "weightDecay": args.weight_decay,
                "warmupIterations": args.warmup, "schedule": "linear warmup + cosine to 0",
                "augmentation": "horizontal flip", "seed": args.seed, "threads": args.threads,
                "trainImages": len(tr_images), "dataset": os.path.normpath(args.data),
                "scoreThreshold": args.score_thresh, "detectionsPerImage": 100,
                "torch": torch.__version__, "parameters": n_params,
                "initFrom": ({"model": args.init_from, "modules": init_modules} if args.init_from
                             else "scratch"),
            },
            "trainSeconds": round(train_seconds, 1),
            "pythonValMap": round(val_map, 4),
        },
    }
    update_zoo_json(entry)
    print("zoo.json updated", flush=True)


if __name__ == "__main__":
    main()
