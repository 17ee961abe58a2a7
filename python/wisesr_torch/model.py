"""wisesr's classifiers (backbone + Wise-SrNet family head) in plain PyTorch.

The backbones are torchvision's and timm's own modules (the names wisesr's parameters carry), resnet-tiny is
rebuilt here with the same parameter names; the heads repeat src/models/heads.cpp op for op. Every backbone
has `forward_features(x)` -> (N, C, h, w), the map the head sees.
"""
import json
import os

import torch
import torch.nn.functional as F
from torch import nn

# The prefix of the head's tensors in an export (src/models/weights.h, kExportHeadPrefix).
HEAD_PREFIX = "wisesr_head."
# Keras "caffe" preprocessing (src/data/augment.h): RGB -> BGR, minus these means, no scaling.
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STD_RGB = (0.229, 0.224, 0.225)


# --- backbones ---------------------------------------------------------------------------------------


class _BasicBlock(nn.Module):
    """torchvision's BasicBlock (the same parameter names), for resnet-tiny without torchvision."""

    def __init__(self, in_planes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or in_planes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride, 0, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + identity)


class TinyResNet(nn.Module):
    """wisesr's resnet-tiny (src/models/resnet.cpp): resnet18's design, 1 block per stage, widths 16..128."""

    def __init__(self, widths=(16, 32, 64, 128), blocks=(1, 1, 1, 1)):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        in_planes = widths[0]
        for i, (planes, n) in enumerate(zip(widths, blocks)):
            layer = [_BasicBlock(in_planes if j == 0 else planes, planes, (1 if i == 0 else 2) if j == 0 else 1)
                     for j in range(n)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*layer))
            in_planes = planes
        self.num_features = widths[-1]

    def forward_features(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    forward = forward_features


def _torchvision_resnet(block_name, layers):
    import torchvision

    class ResNetFeatures(torchvision.models.ResNet):
        """torchvision's ResNet without avgpool/fc (wisesr's head replaces them)."""

        def __init__(self):
            super().__init__(getattr(torchvision.models.resnet, block_name), layers)
            self.num_features = self.fc.in_features
            del self.avgpool, self.fc

        def forward_features(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            return self.layer4(self.layer3(self.layer2(self.layer1(x))))

        forward = forward_features

    return ResNetFeatures()


def _torchvision_densenet(block_config):
    import torchvision

    class DenseNetFeatures(torchvision.models.DenseNet):
        """torchvision's DenseNet without its classifier; the features end with the final ReLU."""

        def __init__(self):
            super().__init__(32, block_config, 64)
            self.num_features = self.classifier.in_features
            del self.classifier

        def forward_features(self, x):
            return F.relu(self.features(x))

        forward = forward_features

    return DenseNetFeatures()


def _timm(name):
    import timm

    # num_classes=0: no classifier parameters; forward_features() gives the final (activated) map.
    return timm.create_model(name, pretrained=False, num_classes=0)


# wisesr backbone name -> constructor (src/models/backbone.cpp's registry).
BACKBONES = {
    "resnet-tiny": TinyResNet,
    "resnet18": lambda: _torchvision_resnet("BasicBlock", [2, 2, 2, 2]),
    "resnet50": lambda: _torchvision_resnet("Bottleneck", [3, 4, 6, 3]),
    "resnet50v2": lambda: _timm("resnetv2_50"),
    "densenet121": lambda: _torchvision_densenet((6, 12, 24, 16)),
    "densenet169": lambda: _torchvision_densenet((6, 12, 32, 32)),
    "densenet201": lambda: _torchvision_densenet((6, 12, 48, 32)),
    "xception": lambda: _timm("legacy_xception"),
}


def make_backbone(name):
    """The backbone wisesr calls `name`, randomly initialised, with forward_features()."""
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone '{name}' (valid: {', '.join(BACKBONES)})")
    return BACKBONES[name]()


# --- heads (src/models/heads.cpp) --------------------------------------------------------------------


def auto_pool_size(map_size):
    """The smallest p that leaves a kernel of at most 5x5 (heads.cpp auto_pool_size)."""
    p = 1
    while map_size // p > 5:
        p += 1
    return p


class GapHead(nn.Module):
    """global average pool -> dropout -> dense."""

    def __init__(self, channels, classes, dropout):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, classes)

    def forward(self, x):
        return self.fc(self.dropout(x.mean((2, 3))))


class WiseHead(nn.Module):
    """avgpool(p x p, stride p, valid) -> depthwise conv, kernel = the remaining map (valid, bias) -> flatten
    -> dropout -> dense. With nonneg, apply_constraints() clamps the kernel to >= 0 (call it after every
    optimizer step when fine-tuning, as wisesr does)."""

    def __init__(self, channels, map_size, classes, pool, nonneg, dropout):
        super().__init__()
        self.pool, self.nonneg = pool, nonneg
        kernel = (map_size - pool) // pool + 1
        self.avgpool = nn.AvgPool2d(pool, pool)
        self.depthwise = nn.Conv2d(channels, channels, kernel, groups=channels, bias=True)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, classes)

    def forward(self, x):
        if self.pool > 1:
            x = self.avgpool(x)
        return self.fc(self.dropout(self.depthwise(x).flatten(1)))

    @torch.no_grad()
    def apply_constraints(self):
        if self.nonneg:
            self.depthwise.weight.clamp_(min=0.0)


class AvgFcHead(nn.Module):
    """avgpool(p x p, stride p) -> flatten -> dropout -> dense (the paper's Fig. 8b baseline)."""

    def __init__(self, channels, map_size, classes, pool, dropout):
        super().__init__()
        k = (map_size - pool) // pool + 1
        self.avgpool = nn.AvgPool2d(pool, pool)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels * k * k, classes)

    def forward(self, x):
        return self.fc(self.dropout(self.avgpool(x).flatten(1)))


# name -> (constructor(channels, map_size, classes, pool, dropout), default dropout, uses the pool)
HEADS = {
    "gap": (lambda c, m, k, p, d: GapHead(c, k, d), 0.0, False),
    "gap-dropout": (lambda c, m, k, p, d: GapHead(c, k, d), 0.5, False),
    "dw": (lambda c, m, k, p, d: WiseHead(c, m, k, 1, False, d), 0.0, False),
    "dw-nonneg": (lambda c, m, k, p, d: WiseHead(c, m, k, 1, True, d), 0.0, False),
    "wise": (lambda c, m, k, p, d: WiseHead(c, m, k, p, True, d), 0.0, True),
    "wise-dropout": (lambda c, m, k, p, d: WiseHead(c, m, k, p, True, d), 0.5, True),
    "avg-fc": (lambda c, m, k, p, d: AvgFcHead(c, m, k, p, d), 0.0, True),
}


def make_head(name, channels, map_size, classes, pool=0, dropout=-1.0):
    """The head wisesr calls `name` on a channels x map_size x map_size feature map (pool 0 = auto,
    dropout < 0 = the head's default), as heads.cpp builds it."""
    if name not in HEADS:
        raise ValueError(f"unknown head '{name}' (valid: {', '.join(HEADS)})")
    make, default_dropout, pooled = HEADS[name]
    p = (pool if pool > 0 else auto_pool_size(map_size)) if pooled else 1
    if p > map_size:
        raise ValueError(f"pool size {p} exceeds the {map_size}x{map_size} feature map")
    return make(channels, map_size, classes, p, dropout if dropout >= 0 else default_dropout)


# --- the classifier ----------------------------------------------------------------------------------


class WiseSrNetClassifier(nn.Module):
    """backbone.forward_features -> head, as wisesr's Classifier; state_dict keys backbone.* and head.*."""

    def __init__(self, backbone, head, classes, image_size, pool=0, dropout=-1.0, normalize="caffe"):
        super().__init__()
        self.backbone_name, self.head_name = backbone, head
        self.image_size, self.normalize = image_size, normalize
        self.backbone = make_backbone(backbone)
        with torch.no_grad():  # the feature map's shape at the training size
            was_training = self.backbone.training
            shape = self.backbone.eval().forward_features(torch.zeros(1, 3, image_size, image_size)).shape
            self.backbone.train(was_training)
        self.head = make_head(head, shape[1], shape[2], classes, pool, dropout)

    def forward(self, x):
        return self.head(self.backbone.forward_features(x))

    def apply_constraints(self):
        if hasattr(self.head, "apply_constraints"):
            self.head.apply_constraints()


def preprocess(images, normalize="caffe", image_size=None):
    """uint8 RGB images (N, H, W, 3), as shards store them, -> the float (N, 3, S, S) input wisesr evaluates
    on: resized (bilinear, antialiased) when they are not S x S, then caffe (BGR minus the ImageNet means)
    or imagenet (RGB / 255, minus mean, over std) normalisation (src/data/augment.cpp)."""
    x = torch.as_tensor(images).permute(0, 3, 1, 2).float()
    if image_size is not None and tuple(x.shape[2:]) != (image_size, image_size):
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False, antialias=True)
    if normalize == "caffe":
        return x.flip(1) - torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1)
    mean = torch.tensor(IMAGENET_MEAN_RGB).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD_RGB).view(1, 3, 1, 1)
    return (x / 255 - mean) / std


def load_exported(path, metadata=None):
    """`wisesr export --out path` -> the classifier in eval mode, on the CPU.

    metadata: the export's metadata (a dict, or the path of the JSON file); default `path + ".json"`, which
    `wisesr export` writes beside the state_dict. The result also carries `class_names`, `image_size` and
    `normalize` (pass them to preprocess())."""
    if metadata is None:
        metadata = str(path) + ".json"
    if not isinstance(metadata, dict):
        if not os.path.exists(metadata):
            raise FileNotFoundError(f"{metadata}: no export metadata (written by `wisesr export` beside the .pt)")
        with open(metadata) as f:
            metadata = json.load(f)
    if metadata.get("format") != "wisesr-export":
        raise ValueError(f"not wisesr export metadata: format {metadata.get('format')!r}")
    model = WiseSrNetClassifier(metadata["backbone"], metadata["head"], len(metadata["class_names"]),
                                metadata["image_size"], metadata.get("pool", 0), metadata.get("dropout", -1.0),
                                metadata.get("normalize", "caffe"))
    state = torch.load(path, map_location="cpu", weights_only=True)
    backbone = {k: v for k, v in state.items() if not k.startswith(HEAD_PREFIX)}
    head = {k[len(HEAD_PREFIX):]: v for k, v in state.items() if k.startswith(HEAD_PREFIX)}
    model.backbone.load_state_dict(backbone, strict=True)
    model.head.load_state_dict(head, strict=True)
    model.class_names = list(metadata["class_names"])
    return model.eval()
