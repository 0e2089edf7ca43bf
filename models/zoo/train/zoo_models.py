"""The zoo's detectors: one tiny backbone + FPN shared by every family, and the
anti-aliasing switch (Zhang 2019) that turns each subsampling into blur-then-subsample.

Every stride-2 operation in these networks goes through `Downsample`. With
`blur_size=1` it is the plain strided convolution; with 3 or 5 it is the same
convolution at stride 1 (+ norm + ReLU) followed by a fixed depthwise binomial
low-pass applied at stride 2. So the baseline and its twin are the same code
with one parameter.
"""
from collections import OrderedDict
from typing import Dict, List

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import FeaturePyramidNetwork, MultiScaleRoIAlign
from torchvision.models.detection import FCOS, RetinaNet, FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.fcos import FCOSHead
from torchvision.models.detection.retinanet import RetinaNetHead
from torchvision.models.detection.faster_rcnn import TwoMLPHead, FastRCNNPredictor
from torchvision.models.detection.rpn import RPNHead

from aps import ApsFCOS, ApsFPN, PolyphaseDown, exact_group_norms, make_circular, phase_rc

# Normalisation inside the model: the ONNX input is RGB in 0..1.
IMAGE_MEAN = [0.5, 0.5, 0.5]
IMAGE_STD = [0.25, 0.25, 0.25]

BACKBONE_CHANNELS = [16, 24, 40, 64, 96]  # stride 2, 4, 8, 16, 32
FPN_CHANNELS = 64
TOTAL_STRIDE_PX = 32


def binomial_kernel(size: int) -> torch.Tensor:
    """2-D binomial low-pass of `size` taps per axis (1 → identity, 3 → [1,2,1], 5 → [1,4,6,4,1]),
    outer product of the 1-D row of Pascal's triangle, normalised to sum 1."""
    if size < 1:
        raise ValueError(f"Expected blur size >= 1 but received {size}")
    row = torch.ones(1, dtype=torch.float64)
    for _ in range(size - 1):
        row = torch.cat([row, torch.zeros(1, dtype=torch.float64)]) + torch.cat(
            [torch.zeros(1, dtype=torch.float64), row])
    k2 = torch.outer(row, row)
    return (k2 / k2.sum()).float()


class BlurSubsample(nn.Module):
    """Fixed depthwise low-pass then subsampling by 2 (reflect-padded so the border keeps its level)."""

    def __init__(self, channels: int, size: int):
        super().__init__()
        self.channels = channels
        self.size = size
        self.register_buffer("kernel", binomial_kernel(size)[None, None].repeat(channels, 1, 1, 1))
        left = (size - 1) // 2
        self.pad = (left, size - 1 - left, left, size - 1 - left)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.size == 1:
            return x[:, :, ::2, ::2]
        x = F.pad(x, self.pad, mode="reflect")
        return F.conv2d(x, self.kernel, stride=2, groups=self.channels)


def conv_bn_relu(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Downsample(nn.Module):
    """3×3 conv + BN + ReLU that halves the resolution.

    blur_size 1: the conv runs at stride 2 (identical to stride 1 then keeping every
    second sample, computed cheaply). blur_size 3/5: the conv runs at stride 1 and a
    BlurSubsample (stride 2) follows the ReLU, as in Zhang 2019's BlurPool placement.
    """

    def __init__(self, cin: int, cout: int, blur_size: int, aps: bool = False):
        super().__init__()
        self.blur_size = blur_size
        self.aps = PolyphaseDown() if aps else None
        if aps:  # conv at stride 1; the backbone's forward_aps keeps the max-norm polyphase component
            self.body = conv_bn_relu(cin, cout, stride=1)
        elif blur_size == 1:
            self.body = conv_bn_relu(cin, cout, stride=2)
        else:
            self.body = nn.Sequential(conv_bn_relu(cin, cout, stride=1), BlurSubsample(cout, blur_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.aps is not None:
            raise RuntimeError("an APS Downsample also returns its phase: call TinyBackboneFPN.forward_aps")
        return self.body(x)


class TinyBackboneFPN(nn.Module):
    """Five stride-2 stages (16-24-40-64-96 channels), each Downsample + one 3×3 conv,
    then an FPN over strides 8/16/32 with 64 channels. No extra P6/P7 levels, so the
    only subsamplings are the five Downsample blocks (total stride 32)."""

    def __init__(self, blur_size: int = 1, aps: bool = False):
        super().__init__()
        chans = BACKBONE_CHANNELS
        stages = []
        cin = 3
        for i, c in enumerate(chans):
            layers = [Downsample(cin, c, blur_size, aps)]
            if i > 0:
                layers.append(conv_bn_relu(c, c))
            stages.append(nn.Sequential(*layers))
            cin = c
        self.stages = nn.ModuleList(stages)
        self.fpn = (ApsFPN if aps else FeaturePyramidNetwork)(chans[2:], FPN_CHANNELS)
        self.out_channels = FPN_CHANNELS

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        feats = OrderedDict()
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i >= 2:
                feats[str(i - 2)] = x
        return self.fpn(feats)

    def forward_aps(self, x: torch.Tensor):
        """APS backbone (see aps.py): returns (FPN features, per level the accumulated phase
        offset [B, 2] as (x, y) input pixels, i.e. cell (i, j) of a level with stride s sits at
        input position (s·j + off_x, s·i + off_y))."""
        feats = OrderedDict()
        phases, offsets = [], []
        off = torch.zeros(x.shape[0], 2, dtype=torch.float32, device=x.device)
        for i, stage in enumerate(self.stages):
            down = stage[0]
            x, idx = down.aps(down.body(x))
            row, col = phase_rc(idx)
            off = off + torch.stack([col, row], dim=1) * float(2 ** i)
            for layer in list(stage)[1:]:
                x = layer(x)
            if i >= 2:
                feats[str(i - 2)] = x
                phases.append((row, col))
                offsets.append(off)
        return self.fpn.forward_phased(feats, phases), offsets


FAMILIES = {
    "fcos": {"stages": "one-stage", "anchors": "anchor-free"},
    "retinanet": {"stages": "one-stage", "anchors": "anchor-based"},
    "fasterrcnn": {"stages": "two-stage", "anchors": "anchor-based"},
    "fcosrcnn": {"stages": "two-stage", "anchors": "anchor-free"},
}

# Anchor sizes in input pixels per FPN level (stride 8, 16, 32).
ANCHOR_SIZES = ((8, 12, 18), (26, 38, 56), (80, 120, 180))
ASPECT_RATIOS = ((0.7, 1.0, 1.4),) * 3


def build_detector(arch: str, num_classes: int, input_size_px: int, blur_size: int = 1,
                   score_thresh: float = 0.01, detections_per_img: int = 100, aps: bool = False) -> nn.Module:
    """Builds a torchvision detector of family `arch` on the shared backbone.

    num_classes counts the background slot 0, so dataset category ids 1..K are the labels.
    The internal transform keeps the input size (min_size = max_size = input_size_px).
    aps=True (FCOS only, no blur): the exactly circular-shift-equivariant variant of aps.py
    (same parameter names and shapes as the plain model).
    """
    if aps:
        if arch != "fcos" or blur_size != 1:
            raise ValueError(f"Expected --aps with arch fcos and blur 1 but received {arch} blur {blur_size}")
        backbone = TinyBackboneFPN(1, aps=True)
        model = ApsFCOS(backbone, num_classes, head=FCOSHead(FPN_CHANNELS, 1, num_classes, num_convs=3),
                        score_thresh=score_thresh, detections_per_img=detections_per_img,
                        min_size=input_size_px, max_size=input_size_px,
                        image_mean=IMAGE_MEAN, image_std=IMAGE_STD, point_sizes=(6, 12, 24))
        make_circular(model)
        exact_group_norms(model.head)
        return model
    backbone = TinyBackboneFPN(blur_size)
    common = dict(min_size=input_size_px, max_size=input_size_px,
                  image_mean=IMAGE_MEAN, image_std=IMAGE_STD)
    if arch == "fcos":
        # FCOS assigns a box to a level by its largest side distance d: level with anchor size a
        # takes 4a < d <= 8a, so sizes 6/12/24 split at d = 48 and 96 (box sides ~96 and ~192).
        anchors = AnchorGenerator(((6,), (12,), (24,)), ((1.0,),) * 3)
        head = FCOSHead(FPN_CHANNELS, 1, num_classes, num_convs=3)
        return FCOS(backbone, num_classes, anchor_generator=anchors, head=head,
                    score_thresh=score_thresh, detections_per_img=detections_per_img,
                    topk_candidates=1000, **common)
    if arch == "retinanet":
        anchors = AnchorGenerator(ANCHOR_SIZES, ASPECT_RATIOS)
        head = RetinaNetHead(FPN_CHANNELS, anchors.num_anchors_per_location()[0], num_classes,
                             norm_layer=lambda c: nn.GroupNorm(16, c))
        return RetinaNet(backbone, num_classes, anchor_generator=anchors, head=head,
                         score_thresh=score_thresh, detections_per_img=detections_per_img,
                         topk_candidates=1000, **common)
    if arch == "fasterrcnn":
        anchors = AnchorGenerator(ANCHOR_SIZES, ASPECT_RATIOS)
        rpn_head = RPNHead(FPN_CHANNELS, anchors.num_anchors_per_location()[0])
        roi_pool = MultiScaleRoIAlign(["0", "1", "2"], output_size=7, sampling_ratio=2)
        box_head = TwoMLPHead(FPN_CHANNELS * 7 * 7, 256)
        predictor = FastRCNNPredictor(256, num_classes)
        return FasterRCNN(backbone, None, rpn_anchor_generator=anchors, rpn_head=rpn_head,
                          box_roi_pool=roi_pool, box_head=box_head, box_predictor=predictor,
                          rpn_pre_nms_top_n_train=1000, rpn_post_nms_top_n_train=500,
                          rpn_pre_nms_top_n_test=500, rpn_post_nms_top_n_test=300,
                          box_batch_size_per_image=256, box_score_thresh=score_thresh,
                          box_detections_per_img=detections_per_img, **common)
    if arch == "fcosrcnn":
        # Faster R-CNN's RoI heads on proposals from an anchor-free FCOS head.
        model = build_detector("fasterrcnn", num_classes, input_size_px, blur_size, score_thresh, detections_per_img)
        model.rpn = FCOSProposals(FPN_CHANNELS)
        return model
    raise ValueError(f"Expected one of {sorted(FAMILIES)} for arch but received {arch!r}")


class _FeaturesOnly(nn.Module):
    """Stand-in backbone for the FCOS object that FCOSProposals borrows its head, loss and decoding from."""

    def __init__(self, out_channels: int):
        super().__init__()
        self.out_channels = out_channels


class FCOSProposals(nn.Module):
    """Anchor-free region proposals: a class-agnostic FCOS head (one point per feature
    location, centre-ness, IoU loss) whose decoded, NMS-ed boxes feed the RoI heads.
    Drop-in for torchvision's RegionProposalNetwork: forward(images, features, targets)
    returns (proposal boxes per image, losses)."""

    def __init__(self, in_channels: int, post_nms_top_n_train: int = 500, post_nms_top_n_test: int = 300):
        super().__init__()
        anchors = AnchorGenerator(((6,), (12,), (24,)), ((1.0,),) * 3)
        head = FCOSHead(in_channels, 1, 1, num_convs=2)
        self.fcos = FCOS(_FeaturesOnly(in_channels), 1, anchor_generator=anchors, head=head,
                         score_thresh=0.01, nms_thresh=0.7, topk_candidates=1000)
        self.post_nms_top_n = {"training": post_nms_top_n_train, "testing": post_nms_top_n_test}

    def forward(self, images, features: Dict[str, torch.Tensor], targets=None):
        feats = list(features.values())
        head_outputs = self.fcos.head(feats)
        anchors = self.fcos.anchor_generator(images, feats)
        num_per_level = [x.size(2) * x.size(3) for x in feats]
        losses: Dict[str, torch.Tensor] = {}
        if self.training:
            agnostic = [{"boxes": t["boxes"], "labels": torch.zeros_like(t["labels"])} for t in targets]
            l = self.fcos.compute_loss(agnostic, head_outputs, anchors, num_per_level)
            losses = {"loss_prop_cls": l["classification"], "loss_prop_box": l["bbox_regression"],
                      "loss_prop_ctr": l["bbox_ctrness"]}
        split = {k: list(v.detach().split(num_per_level, dim=1)) for k, v in head_outputs.items()}
        split_anchors = [list(a.split(num_per_level)) for a in anchors]
        self.fcos.detections_per_img = self.post_nms_top_n["training" if self.training else "testing"]
        dets = self.fcos.postprocess_detections(split, split_anchors, images.image_sizes)
        return [d["boxes"] for d in dets], losses


class OnnxWrapper(nn.Module):
    """Batch-1 tensor in, (boxes xyxy, labels, scores) out — the export signature."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor):
        out = self.model([images[0]])
        if isinstance(out, tuple):  # scripting/tracing returns (losses, detections) in some versions
            out = out[1]
        det = out[0]
        return det["boxes"], det["labels"], det["scores"]
