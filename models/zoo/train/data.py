"""COCO JSON + PNG loading for the zoo trainer (the synth dataset's format)."""
import json
import os
from typing import Dict, List, Tuple

import numpy as np
import torch
from PIL import Image


def load_split(split_dir: str) -> Tuple[List[dict], Dict[int, List[dict]], List[dict], torch.Tensor]:
    """Reads DIR/instances.json and DIR/images/*. Returns (images, annotations by image id,
    categories, uint8 tensor [N,3,H,W] of all images in the images' id order)."""
    with open(os.path.join(split_dir, "instances.json")) as f:
        gt = json.load(f)
    images = sorted(gt["images"], key=lambda im: im["id"])
    by_image: Dict[int, List[dict]] = {im["id"]: [] for im in images}
    for a in gt["annotations"]:
        by_image[a["image_id"]].append(a)
    pixels = []
    for im in images:
        path = os.path.join(split_dir, "images", im["file_name"])
        arr = np.asarray(Image.open(path).convert("RGB"), dtype=np.uint8)
        pixels.append(torch.from_numpy(arr.copy()).permute(2, 0, 1))
    return images, by_image, sorted(gt["categories"], key=lambda c: c["id"]), torch.stack(pixels)


def targets_for(anns: List[dict]) -> Dict[str, torch.Tensor]:
    """torchvision targets: boxes xyxy float, labels = COCO category ids (int64)."""
    anns = [a for a in anns if not a.get("iscrowd", 0) and a["bbox"][2] > 0 and a["bbox"][3] > 0]
    if not anns:
        return {"boxes": torch.zeros((0, 4)), "labels": torch.zeros((0,), dtype=torch.int64)}
    b = torch.tensor([a["bbox"] for a in anns], dtype=torch.float32)
    b[:, 2:] += b[:, :2]
    return {"boxes": b, "labels": torch.tensor([a["category_id"] for a in anns], dtype=torch.int64)}


def make_debug_split(out_dir: str, n: int, size_px: int, seed: int) -> None:
    """Tiny stand-in dataset (debugging only): coloured squares/discs/triangles on noise."""
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(out_dir, "images"), exist_ok=True)
    cats = [{"id": 1, "name": "square"}, {"id": 2, "name": "disc"}, {"id": 3, "name": "triangle"}]
    images, anns = [], []
    yy, xx = np.mgrid[0:size_px, 0:size_px]
    for i in range(n):
        img = (rng.random((size_px, size_px, 3)) * 60 + 90).astype(np.float64)
        for _ in range(rng.integers(1, 5)):
            c = int(rng.integers(1, 4))
            s = int(rng.integers(16, 80))
            x0 = int(rng.integers(0, size_px - s)); y0 = int(rng.integers(0, size_px - s))
            col = rng.integers(0, 256, 3)
            if c == 1:
                m = (xx >= x0) & (xx < x0 + s) & (yy >= y0) & (yy < y0 + s)
            elif c == 2:
                r = s / 2
                m = (xx + 0.5 - x0 - r) ** 2 + (yy + 0.5 - y0 - r) ** 2 <= r * r
            else:
                m = (yy >= y0) & (yy < y0 + s) & (np.abs(xx + 0.5 - x0 - s / 2) <= (yy + 0.5 - y0) / 2)
            img[m] = col
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": c,
                         "bbox": [x0, y0, s, s], "area": s * s, "iscrowd": 0})
        name = f"{i + 1:06d}.png"
        Image.fromarray(img.astype(np.uint8)).save(os.path.join(out_dir, "images", name))
        images.append({"id": i + 1, "file_name": name, "width": size_px, "height": size_px})
    with open(os.path.join(out_dir, "instances.json"), "w") as f:
        json.dump({"images": images, "annotations": anns, "categories": cats}, f)


if __name__ == "__main__":
    import sys
    root = sys.argv[1]
    make_debug_split(os.path.join(root, "train"), 200, 256, 0)
    make_debug_split(os.path.join(root, "val"), 50, 256, 1)
