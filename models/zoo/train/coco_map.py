"""A compact COCO-style bbox mAP@[.5:.95] (area 'all', maxDets 100, 101-point
interpolation) for monitoring training. The number recorded in zoo.json comes from
the project's own TypeScript evaluator; this one only guides the schedule."""
from typing import Dict, List

import numpy as np


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix of xywh boxes a [n,4] and b [m,4]."""
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2[None]) - np.maximum(a[:, 0][:, None], b[:, 0][None]), 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2[None]) - np.maximum(a[:, 1][:, None], b[:, 1][None]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return inter / np.maximum(union, 1e-12)


def coco_map(gt_by_image: Dict[int, List[dict]], dets: List[dict], category_ids: List[int]) -> float:
    """dets: COCO results (image_id, category_id, bbox xywh, score)."""
    thresholds = np.linspace(0.5, 0.95, 10)
    recall_pts = np.linspace(0, 1, 101)
    aps = []
    for cat in category_ids:
        n_gt = 0
        scores, matched = [], []  # matched: [T] bool per detection
        for img_id, anns in gt_by_image.items():
            g = np.array([a["bbox"] for a in anns if a["category_id"] == cat], dtype=np.float64).reshape(-1, 4)
            n_gt += len(g)
            d = sorted([x for x in dets if x["image_id"] == img_id and x["category_id"] == cat],
                       key=lambda x: -x["score"])[:100]
            if not d:
                continue
            db = np.array([x["bbox"] for x in d], dtype=np.float64)
            ious = _iou(db, g) if len(g) else np.zeros((len(d), 0))
            m = np.zeros((len(d), len(thresholds)), dtype=bool)
            for t, thr in enumerate(thresholds):
                taken = np.zeros(len(g), dtype=bool)
                for i in range(len(d)):
                    best, bj = min(thr, 1 - 1e-10), -1
                    for j in range(len(g)):
                        if not taken[j] and ious[i, j] >= best:
                            best, bj = ious[i, j], j
                    if bj >= 0:
                        taken[bj] = True
                        m[i, t] = True
            scores.extend(x["score"] for x in d)
            matched.append(m)
        if n_gt == 0:
            continue
        if not scores:
            aps.append(0.0)
            continue
        order = np.argsort(-np.array(scores), kind="mergesort")
        mm = np.concatenate(matched)[order]
        ap_t = []
        for t in range(len(thresholds)):
            tp = np.cumsum(mm[:, t]); fp = np.cumsum(~mm[:, t])
            rec = tp / n_gt
            prec = tp / np.maximum(tp + fp, 1e-12)
            for i in range(len(prec) - 2, -1, -1):
                prec[i] = max(prec[i], prec[i + 1])
            idx = np.searchsorted(rec, recall_pts, side="left")
            q = np.array([prec[i] if i < len(prec) else 0.0 for i in idx])
            ap_t.append(q.mean())
        aps.append(float(np.mean(ap_t)))
    return float(np.mean(aps)) if aps else 0.0
