"""Checks that the APS FCOS (aps.py) is exactly equivariant to circular shifts, in PyTorch
and (with --onnx) in onnxruntime: for each val image and shift (dx, dy), the detections on
the input rolled by (dx, dy), moved back by (−dx, −dy) and unwrapped by their centre
(protocol §1: + width / height where the centre then falls below 0), must equal the
detections at shift 0 bit for bit (boxes, scores, labels, order).

  /usr/bin/python3 models/zoo/train/check_aps.py [--weights .tmp/zoo/zoo-fcos-aps.pt] [--onnx models/zoo/zoo-fcos-aps.onnx]
      [--images 8] [--shifts 1,0;0,1;3,5;17,31;100,200;255,255]
--onnx needs the onnxruntime Python package (not a Debian package: e.g.
`pip install --target .tmp/pyort onnxruntime flatbuffers packaging --no-deps` and
PYTHONPATH=.tmp/pyort); check_aps_ort.ts checks onnxruntime-node without it.
The comparison of onnxruntime with PyTorch at shift 0 is printed for information (the two
runtimes round differently); only a difference between shifts within one runtime fails.
Exit 1 when any pair differs.
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aps  # noqa: E402
from data import load_split  # noqa: E402
from zoo_models import OnnxWrapper, build_detector  # noqa: E402


def unwrap(boxes: np.ndarray, dx: int, dy: int, w: int, h: int) -> np.ndarray:
    """Protocol §1 circular back-projection: subtract the shift, add the size where the centre is < 0."""
    b = boxes.astype(np.float64) - np.array([dx, dy, dx, dy], dtype=np.float64)
    cx = (b[:, 0] + b[:, 2]) / 2
    cy = (b[:, 1] + b[:, 3]) / 2
    b[cx < 0, 0::2] += w
    b[cy < 0, 1::2] += h
    return b


def same(ref, got, dx, dy, w, h) -> str:
    """'' when the detections match bit for bit, else a description of the first difference."""
    rb, rs, rl = ref
    gb, gs, gl = got
    if len(rs) != len(gs):
        return f"{len(gs)} detections vs {len(rs)}"
    ub = unwrap(gb, dx, dy, w, h)
    if not np.array_equal(rl, gl):
        return "labels differ"
    if not np.array_equal(rs, gs):
        return f"scores differ (max {np.abs(rs - gs).max():.3g})"
    if not np.array_equal(rb.astype(np.float64), ub):
        return f"boxes differ (max {np.abs(rb - ub).max():.3g} px)"
    return ""


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--weights", default=None)
    p.add_argument("--onnx", default=None)
    p.add_argument("--data", default="datasets/synth/val")
    p.add_argument("--images", type=int, default=8)
    p.add_argument("--shifts", default="1,0;0,1;1,1;3,5;17,31;100,200;255,255")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    images, _, cats, pixels = load_split(args.data)
    num_classes = max(c["id"] for c in cats) + 1
    h, w = pixels.shape[2], pixels.shape[3]
    model = build_detector("fcos", num_classes, h, aps=True)
    if args.weights:
        model.load_state_dict(torch.load(args.weights, map_location="cpu"))
    model.eval()
    wrapper = OnnxWrapper(model).eval()
    sess = None
    if args.onnx:
        import onnxruntime as ort
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        sess = ort.InferenceSession(args.onnx, opts)
    shifts = [tuple(int(v) for v in s.split(",")) for s in args.shifts.split(";")]
    failures = 0
    checked = 0
    dets = 0
    for k in range(min(args.images, len(images))):
        x0 = pixels[k:k + 1].float() / 255

        def run_torch(x):
            with torch.no_grad():
                b, l, s = wrapper(x)
            return b.numpy(), s.numpy(), l.numpy()

        def run_ort(x):
            b, l, s = sess.run(None, {"images": x.numpy()})
            return b, s, l

        runners = [("torch", run_torch)] + ([("onnx", run_ort)] if sess else [])
        refs = {name: run(x0) for name, run in runners}
        dets += len(refs["torch"][1])
        if sess:  # the two runtimes round differently: reported, not required to be equal
            msg = same(refs["torch"], refs["onnx"], 0, 0, w, h)
            print(f"image {images[k]['id']}: onnx vs torch at shift 0 (info): {msg or 'identical'}")
        for dx, dy in shifts:
            x = torch.roll(x0, shifts=(dy, dx), dims=(2, 3))
            for name, run in runners:
                msg = same(refs[name], run(x), dx, dy, w, h)
                checked += 1
                if msg:
                    failures += 1
                    print(f"image {images[k]['id']} {name} shift ({dx},{dy}): {msg}")
    print(f"{checked} shifted runs on {min(args.images, len(images))} images ({dets} detections at shift 0): "
          f"{failures} differ; NMS not converged {aps.torus_nms.unconverged}×; APS norm ties {aps.APS_TIES[0]}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
