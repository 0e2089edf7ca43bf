"""Exact circular shift equivariance for the zoo's FCOS: adaptive polyphase sampling.

Derived from Chaman & Dokmanić, "Truly shift-invariant convolutional neural networks"
(CVPR 2021: adaptive polyphase sampling, APS) and its up-sampling counterpart for dense
prediction (adaptive polyphase up-sampling, APS-U). No code copied.

Why every piece is here (a circular shift of the input by (dx, dy) must move every output
box by exactly (dx, dy), bit for bit, in PyTorch and in onnxruntime):

- Every convolution pads circularly (`CircularConv2d`), so it commutes with a circular shift.
- Each stride-2 subsampling runs the 3×3 conv + BN + ReLU at stride 1 and then keeps the one
  of the four 2×2 polyphase components whose norm is largest (`PolyphaseDown`). A circular
  shift of the input permutes the four components (and circularly shifts each), so the
  same content is kept whatever the shift. The norm is the L1 norm of the component
  quantised to 2^-16 and summed in int64: an integer sum does not depend on the order of
  its terms, so the norm of a component is bit-identical however it is rolled (a float sum
  is not, and a near tie could then pick another component). Ties between components are
  broken by the fixed order (0,0), (0,1), (1,0), (1,1) — an exact tie in the integer norm
  is the one case in which the choice can depend on the shift; `aps_ties` counts them.
- Each kept phase adds its offset to the position of the cells: a cell (i, j) at stride s
  sits at input position s·(j, i) + the sum of 2^k · phase_k over the subsamplings k so far.
  Anchors (FCOS points) are placed there, so boxes are decoded at the true input position.
- The FPN up-samples a coarse map back onto the phase chosen on the way down (APS-U):
  nearest up-sampling, then a circular roll by that phase.
- The head's GroupNorm reduces over the whole map; its float sums depend on the order, so in
  eval mode `ExactGroupNorm` takes mean and variance from int64 sums of quantised values
  (training keeps the float GroupNorm; the two differ by ~1e-5).
- Decoding: box edges = point position ∓ distance, with the distance quantised to 2^-13 px,
  so every edge is a multiple of 2^-13 below 1024 in magnitude and exact in float32: the
  box at shift (dx, dy) is bit-for-bit the box at shift 0 plus (dx, dy). Boxes are not
  clipped to the image (a circularly wrapped object may extend past the border).
- Each box is then moved by a multiple of the image size so that its centre lies inside the
  image: the canonical place of a box on the torus that a circular input is (so a circular
  shift moves the reported box by exactly (dx, dy) modulo the size, centre kept inside).
- Candidates above the score threshold are put into one canonical order — score
  descending, then label, x1, y1 — by successive stable sorts (ONNX TopK is stable by its
  specification), cut at `topk_candidates`; class-wise greedy NMS then runs in that order
  with IoU measured on the torus (`torus_nms`), so equal scores never leave the order to an
  NMS implementation and a box next to the image border meets its neighbour across it.
"""
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models.detection import FCOS
from torchvision.models.detection._utils import _topk_min
from torchvision.ops import FeaturePyramidNetwork

# Quantisation steps (powers of two, so scaling is exact).
NORM_QUANT = 2.0 ** 16      # APS norm: L1 of the component in units of 2^-16
GN_MEAN_QUANT = 2.0 ** 16   # ExactGroupNorm mean
GN_VAR_QUANT = 2.0 ** 12    # ExactGroupNorm variance
BOX_QUANT = 2.0 ** 13       # box distances in units of 2^-13 px

# The four polyphase components of a 2× subsampling, in tie-break order: (row phase, column phase).
PHASES = ((0, 0), (0, 1), (1, 0), (1, 1))


def exact_l1_norms(comps: Tensor) -> Tensor:
    """[B, P, ...] components → [B, P] float64 L1 norms from int64 sums of values quantised
    to 1/NORM_QUANT (order-independent, so bit-identical for any roll of a component)."""
    q = torch.round(comps.detach().abs() * NORM_QUANT).to(torch.int64)
    return q.flatten(2).sum(-1).to(torch.float64)


# Eager-mode count of subsamplings whose two largest norms were equal (the tie-break then
# decides, and equivariance is no longer guaranteed); checked by check_aps.py.
APS_TIES = [0]


def first_argmax(norms: Tensor) -> Tensor:
    """Index of the first maximum along dim 1 of [B, P], without relying on ArgMax tie rules:
    the maxima get weights P, P-1, …, so the first one is the unique maximum."""
    p = norms.shape[1]
    is_max = (norms == norms.max(dim=1, keepdim=True).values).to(torch.float64)
    if not torch.jit.is_tracing():
        APS_TIES[0] += int((is_max.sum(dim=1) > 1).sum())
    order = torch.arange(p, 0, -1, dtype=torch.float64, device=norms.device)
    return torch.argmax(is_max * order, dim=1)


class PolyphaseDown(nn.Module):
    """Adaptive polyphase sampling by 2: keeps, per image, the 2×2 polyphase component of
    largest (exact) L1 norm. Returns (subsampled map, phase index [B] into PHASES)."""

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        comps = torch.stack([x[:, :, r::2, c::2] for r, c in PHASES], dim=1)  # [B, 4, C, H/2, W/2]
        idx = first_argmax(exact_l1_norms(comps))
        out = torch.stack([comps[b, idx[b]] for b in range(x.shape[0])])
        return out, idx


def phase_rc(idx: Tensor) -> Tuple[Tensor, Tensor]:
    """Phase index [B] → (row phase, column phase), float32 tensors of 0/1."""
    return torch.div(idx, 2, rounding_mode="floor").to(torch.float32), (idx % 2).to(torch.float32)


def roll_by_phase(x: Tensor, phase: Tensor, dim: int) -> Tensor:
    """Per image: x rolled circularly by +1 along `dim` where phase == 1, unchanged where 0."""
    mask = phase.reshape(-1, *([1] * (x.dim() - 1))) > 0.5
    return torch.where(mask, torch.roll(x, 1, dim), x)


def upsample_at_phase(x: Tensor, row_phase: Tensor, col_phase: Tensor) -> Tensor:
    """APS-U with nearest fill: the coarse value of cell j goes to fine cells 2j+p and 2j+p+1
    (circularly), p the phase kept on the way down."""
    up = F.interpolate(x, scale_factor=2.0, mode="nearest")
    return roll_by_phase(roll_by_phase(up, row_phase, 2), col_phase, 3)


class ApsFPN(FeaturePyramidNetwork):
    """torchvision's FPN (same parameters) whose top-down path up-samples at the kept phase."""

    def forward_phased(self, x: Dict[str, Tensor], phases: List[Tuple[Tensor, Tensor]]) -> Dict[str, Tensor]:
        """phases[k]: (row, col) phase of the subsampling that produced level k from level k-1."""
        names = list(x.keys())
        feats = list(x.values())
        last_inner = self.get_result_from_inner_blocks(feats[-1], -1)
        results = [self.get_result_from_layer_blocks(last_inner, -1)]
        for idx in range(len(feats) - 2, -1, -1):
            inner_lateral = self.get_result_from_inner_blocks(feats[idx], idx)
            row, col = phases[idx + 1]
            last_inner = inner_lateral + upsample_at_phase(last_inner, row, col)
            results.insert(0, self.get_result_from_layer_blocks(last_inner, idx))
        return OrderedDict([(k, v) for k, v in zip(names, results)])


class ExactGroupNorm(nn.GroupNorm):
    """GroupNorm whose eval-mode statistics come from int64 sums (order-independent, so a
    circular roll of the input rolls the output bit for bit). Training uses the float path."""

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            return super().forward(x)
        b, c = x.shape[0], x.shape[1]
        g = x.reshape(b, self.num_groups, -1)
        n = g.shape[-1]
        s1 = torch.round(g * GN_MEAN_QUANT).to(torch.int64).sum(-1, keepdim=True)
        mean = (s1.to(torch.float64) / (n * GN_MEAN_QUANT)).to(x.dtype)
        d = g - mean
        s2 = torch.round(d * d * GN_VAR_QUANT).to(torch.int64).sum(-1, keepdim=True)
        var = (s2.to(torch.float64) / (n * GN_VAR_QUANT)).to(x.dtype)
        y = (d / torch.sqrt(var + self.eps)).reshape_as(x)
        return y * self.weight.reshape(1, c, 1, 1) + self.bias.reshape(1, c, 1, 1)


def circular_pad(x: Tensor, pad: int) -> Tensor:
    """Pads the last two dims circularly by `pad` on each side, with slices and concatenation
    (torch 1.13 exports F.pad(mode='circular') to ONNX wrongly: measured |diff| ~1 on a 4×4 map)."""
    if pad == 0:
        return x
    x = torch.cat([x[:, :, -pad:], x, x[:, :, :pad]], dim=2)
    return torch.cat([x[:, :, :, -pad:], x, x[:, :, :, :pad]], dim=3)


# PyTorch-side workarounds for position-dependent summation orders (eval mode only; the
# ONNX export sets this False, onnxruntime needs neither — measured bit-exact without them).
TORCH_EXACT_PATHS = True
# oneDNN (PyTorch 1.13, AVX2) gives position-dependent results on maps below this side
# (measured on 8×8: |diff| ~5e-5 on random data; 16×16 and up: bit-exact), so smaller maps
# are tiled periodically up to it before a convolution and the first tile is kept.
MIN_EXACT_SIDE = 16


def _tile_small(x: Tensor) -> Tuple[Tensor, int, int]:
    h, w = x.shape[-2], x.shape[-1]
    if not TORCH_EXACT_PATHS or torch.jit.is_tracing() or min(h, w) >= MIN_EXACT_SIDE:
        return x, h, w
    reps = -(-MIN_EXACT_SIDE // min(h, w))
    return x.repeat(1, 1, reps, reps), h, w


class CircularConv2d(nn.Conv2d):
    """nn.Conv2d (same parameters) padding circularly by its `padding` (square kernels)."""

    def forward(self, x: Tensor) -> Tensor:
        if self.training or self.stride != (1, 1):
            return F.conv2d(circular_pad(x, self.padding[0]), self.weight, self.bias, self.stride, 0,
                            self.dilation, self.groups)
        xt, h, w = _tile_small(x)
        y = F.conv2d(circular_pad(xt, self.padding[0]), self.weight, self.bias, 1, 0, self.dilation, self.groups)
        return y[:, :, :h, :w]


class PointwiseConvExact(nn.Conv2d):
    """A 1×1 convolution that in eval mode in PyTorch runs as a 3×3 convolution whose outer
    taps are zero (same parameters, same function). PyTorch computes a 1×1 convolution at
    batch 1 as a matrix product whose summation order depends on the position — measured:
    a rolled input gave outputs differing by ~6e-7 — while its 3×3 path does not. Training
    and the ONNX export use the plain 1×1 convolution."""

    def forward(self, x: Tensor) -> Tensor:
        if self.training or not TORCH_EXACT_PATHS or torch.jit.is_tracing():
            return super().forward(x)
        xt, h, w = _tile_small(x)
        y = F.conv2d(circular_pad(xt, 1), F.pad(self.weight, (1, 1, 1, 1)), self.bias)
        return y[:, :, :h, :w]


def make_circular(module: nn.Module) -> None:
    """Every convolution with a spatial kernel > 1 becomes a CircularConv2d, every 1×1
    convolution a PointwiseConvExact (same parameters)."""
    for m in module.modules():
        if not isinstance(m, nn.Conv2d):
            continue
        if m.kernel_size[0] != m.kernel_size[1] or m.padding[0] != m.padding[1] or m.padding[0] != m.kernel_size[0] // 2:
            raise ValueError(f"Expected square kernels with 'same' padding but found {m}")
        if m.kernel_size[0] > 1:
            m.__class__ = CircularConv2d
        elif m.stride == (1, 1) and m.dilation == (1, 1) and m.groups == 1:
            m.__class__ = PointwiseConvExact
        else:
            raise ValueError(f"Expected 1×1 convolutions at stride 1 but found {m}")


def exact_group_norms(module: nn.Module) -> None:
    """Replaces every nn.GroupNorm in `module` by an ExactGroupNorm with the same settings."""
    for name, child in list(module.named_children()):
        if isinstance(child, nn.GroupNorm) and not isinstance(child, ExactGroupNorm):
            setattr(module, name, ExactGroupNorm(child.num_groups, child.num_channels, child.eps, child.affine))
        else:
            exact_group_norms(child)


def stable_order(keys_most_significant_first: List[Tensor]) -> Tensor:
    """Permutation sorting ascending by the keys lexicographically (successive stable sorts,
    least significant key first)."""
    n = keys_most_significant_first[0].shape[0]
    perm = torch.arange(n, device=keys_most_significant_first[0].device)
    for key in reversed(keys_most_significant_first):
        k = key[perm]
        if torch.jit.is_tracing():  # exported as ONNX TopK, stable by its specification
            order = torch.topk(k, _topk_min(k, 1 << 30, 0), largest=False, sorted=True).indices
        else:
            order = torch.sort(k, stable=True).indices
        perm = perm[order]
    return perm


class ApsFCOS(FCOS):
    """FCOS on an APS backbone (`backbone(x)` returns (features, offsets per level [B, 2] as
    (x, y) px, phases per level)): points at the true input position of each cell, no box
    clipping, canonical order for ties, per-class NMS."""

    def __init__(self, *args, point_sizes: Tuple[int, ...] = (6, 12, 24), nms_iterations: int = 24, **kwargs):
        super().__init__(*args, **kwargs)
        self.point_sizes = point_sizes
        self.nms_iterations = nms_iterations

    def points(self, features: List[Tensor], offsets: List[Tensor], image_size: Tuple[int, int]) -> List[Tensor]:
        """Per image [N, 4] point boxes (centre ± size/2) over all levels, centres at
        stride·index + the level's accumulated phase offset."""
        per_image: List[List[Tensor]] = [[] for _ in range(features[0].shape[0])]
        for feat, off, size in zip(features, offsets, self.point_sizes):
            h, w = feat.shape[-2:]
            sy, sx = image_size[0] // h, image_size[1] // w
            ys = torch.arange(h, dtype=torch.float32, device=feat.device) * sy
            xs = torch.arange(w, dtype=torch.float32, device=feat.device) * sx
            cy, cx = torch.meshgrid(ys, xs, indexing="ij")
            cx, cy = cx.reshape(-1), cy.reshape(-1)
            half = size / 2
            for b in range(feat.shape[0]):
                px, py = cx + off[b, 0], cy + off[b, 1]
                per_image[b].append(torch.stack([px - half, py - half, px + half, py + half], dim=1))
        return [torch.cat(levels) for levels in per_image]

    def forward(self, images: List[Tensor], targets: Optional[List[Dict[str, Tensor]]] = None):
        original_sizes = [(int(img.shape[-2]), int(img.shape[-1])) for img in images]
        images, targets = self.transform(images, targets)
        feats, offsets = self.backbone.forward_aps(images.tensors)
        features = list(feats.values())
        head_outputs = self.head(features)
        anchors = self.points(features, offsets, tuple(images.tensors.shape[-2:]))
        num_per_level = [x.size(2) * x.size(3) for x in features]
        if self.training:
            return self.compute_loss(targets, head_outputs, anchors, num_per_level)
        split = {k: list(v.split(num_per_level, dim=1)) for k, v in head_outputs.items()}
        split_anchors = [list(a.split(num_per_level)) for a in anchors]
        dets = self.postprocess_detections(split, split_anchors, images.image_sizes)
        return self.transform.postprocess(dets, images.image_sizes, original_sizes)

    def postprocess_detections(self, head_outputs, anchors, image_shapes):
        detections = []
        for index in range(len(image_shapes)):
            height, width = int(image_shapes[index][0]), int(image_shapes[index][1])
            boxes_all, scores_all, labels_all = [], [], []
            for reg, logits, ctr, pts in zip(head_outputs["bbox_regression"], head_outputs["cls_logits"],
                                             head_outputs["bbox_ctrness"], anchors[index]):
                reg, logits, ctr = reg[index], logits[index], ctr[index]
                num_classes = logits.shape[-1]
                scores = torch.sqrt(torch.sigmoid(logits) * torch.sigmoid(ctr)).flatten()
                keep = torch.where(scores > self.score_thresh)[0]
                point_idx = torch.div(keep, num_classes, rounding_mode="floor")
                boxes_all.append(wrap_centres(decode_exact(reg[point_idx], pts[point_idx]), width, height))
                scores_all.append(scores[keep])
                labels_all.append(keep % num_classes)
            boxes = torch.cat(boxes_all)
            scores = torch.cat(scores_all)
            labels = torch.cat(labels_all)
            # canonical order: score desc, then label, x1, y1 (ascending); at most topk_candidates
            perm = stable_order([-scores, labels.to(torch.float32), boxes[:, 0], boxes[:, 1]])
            perm = perm[: self.topk_candidates]
            boxes, scores, labels = boxes[perm], scores[perm], labels[perm]
            keep = torus_nms(boxes, labels, self.nms_thresh, width, height, self.nms_iterations)
            keep = torch.where(keep)[0][: self.detections_per_img]
            detections.append({"boxes": boxes[keep], "scores": scores[keep], "labels": labels[keep]})
        return detections


def wrap_centres(boxes: Tensor, width: int, height: int) -> Tensor:
    """Moves each box by a multiple of the image size so that its centre lies in
    [0, width) × [0, height): the canonical place of a box on the torus a circular input is.
    Exact (box edges are multiples of 2^-13 below 1024 in magnitude)."""
    kx = torch.floor((boxes[:, 0] + boxes[:, 2]) / (2 * width))
    ky = torch.floor((boxes[:, 1] + boxes[:, 3]) / (2 * height))
    return boxes - torch.stack([kx * width, ky * height, kx * width, ky * height], dim=1)


def circular_overlap(a1: Tensor, a2: Tensor, b1: Tensor, b2: Tensor, period: int) -> Tensor:
    """[N, N] length of the intersection of intervals [a1_i, a2_i) and [b1_j, b2_j) on a
    circle of circumference `period` (sum over the translations −period, 0, +period)."""
    total = torch.zeros(a1.shape[0], b1.shape[0], dtype=a1.dtype, device=a1.device)
    for t in (-period, 0, period):
        lo = torch.max(a1[:, None], b1[None, :] + t)
        hi = torch.min(a2[:, None], b2[None, :] + t)
        total = total + (hi - lo).clamp(min=0)
    return total


def torus_nms(boxes: Tensor, labels: Tensor, iou_threshold: float, width: int, height: int,
              iterations: int) -> Tensor:
    """Greedy class-wise NMS over boxes already in priority order, with IoU measured on the
    torus (so a box and its neighbour across the image border interact as they do anywhere
    else). Returns a bool mask of the kept boxes.

    Greedy NMS is the unique fixed point of keep_i = not any_{j<i}(keep_j and S_ji), S_ji =
    same class and IoU > threshold; iterating the map from all-True reaches it after at most
    (longest suppression chain + 1) steps. `iterations` steps are run (a fixed count, so the
    ONNX graph has no loop); `torus_nms.unconverged` counts calls in eager mode that had not
    reached the fixed point (the result is then not the greedy one)."""
    n = boxes.shape[0]
    iw = circular_overlap(boxes[:, 0], boxes[:, 2], boxes[:, 0], boxes[:, 2], width)
    ih = circular_overlap(boxes[:, 1], boxes[:, 3], boxes[:, 1], boxes[:, 3], height)
    inter = iw * ih
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area[:, None] + area[None, :] - inter
    iou = inter / union
    pos = torch.arange(n, device=boxes.device)
    earlier = pos[:, None] < pos[None, :]  # [j, i]: j before i
    suppress = (iou > iou_threshold) & (labels[:, None] == labels[None, :]) & earlier
    s = suppress.to(torch.float32)
    keep = torch.ones(n, dtype=torch.float32, device=boxes.device)
    prev = keep
    for _ in range(iterations):
        prev = keep
        keep = (torch.matmul(keep[None, :], s)[0] < 0.5).to(torch.float32)
    if not torch.jit.is_tracing() and not torch.equal(prev, keep):
        torus_nms.unconverged += 1
    return keep > 0.5


torus_nms.unconverged = 0


def decode_exact(rel_codes: Tensor, points: Tensor) -> Tensor:
    """FCOS decoding (distances × point size from the centre) with the distances quantised
    to 1/BOX_QUANT px, so each edge is exact in float32 and moves exactly with the point."""
    ctr_x = 0.5 * (points[:, 0] + points[:, 2])
    ctr_y = 0.5 * (points[:, 1] + points[:, 3])
    size = (points[:, 2] - points[:, 0])[:, None]
    d = torch.round(rel_codes * size * BOX_QUANT) / BOX_QUANT
    return torch.stack([ctr_x - d[:, 0], ctr_y - d[:, 1], ctr_x + d[:, 2], ctr_y + d[:, 3]], dim=1)
