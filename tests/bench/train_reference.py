"""PyTorch eager reference for `wisesr bench train`: the same model, batch and step, written the way a
PyTorch user would (torchvision backbone, torch.autocast, channels_last on CUDA, SGD foreach).

usage: train_reference.py --model.backbone resnet50 --model.head wise --data.image_size 224 --train.batch_size 256
       [--steps 50 --warmup 10 --breakdown-steps 10 --train.precision auto --train.channels_last true
        --train.device auto --classes 1000 --json FILE]   (the spellings of `wisesr bench train`)

One step: autocast forward -> cross-entropy in fp32 -> backward (GradScaler for fp16) -> SGD (momentum 0.9,
foreach=True) -> Wise-SrNet clamp (depthwise kernel >= 0) -> zero_grad() (set_to_none, PyTorch's default).
Timing is wisesr's: `warmup` untimed steps, then `steps` steps each ended by torch.cuda.synchronize(),
img/s = batch / median step time; a separate breakdown pass syncs after each phase. Peak memory is
torch.cuda.max_memory_allocated() since start-up. The JSON has the same keys as `wisesr bench train --json`.
"""
import argparse
import contextlib
import copy
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

# wisesr backbone name -> torchvision constructor (the C++ backbones carry torchvision's parameter names).
BACKBONES = {
    "resnet18": torchvision.models.resnet18,
    "resnet50": torchvision.models.resnet50,
    "densenet121": torchvision.models.densenet121,
    "densenet169": torchvision.models.densenet169,
    "densenet201": torchvision.models.densenet201,
}
HEADS = ["gap", "gap-dropout", "dw", "dw-nonneg", "wise", "wise-dropout", "avg-fc"]


def backbone_features(name):
    """The feature extractor, ending where wisesr's backbone ends (before pooling and the classifier)."""
    net = BACKBONES[name]()
    if name.startswith("resnet"):
        return nn.Sequential(*list(net.children())[:-2]), net.fc.in_features
    return nn.Sequential(net.features, nn.ReLU(inplace=True)), net.classifier.in_features


def auto_pool_size(map_size):
    """wisesr's rule (models/heads.h): the smallest p >= 1 with floor(map / p) <= 5."""
    return next(p for p in range(1, map_size + 1) if map_size // p <= 5)


class Head(nn.Module):
    """The heads of wisesr's models/heads.h; Wise-SrNet = AvgPool(p) -> depthwise conv (kernel = the
    remaining map, bias) -> flatten -> [dropout] -> Linear, kernel clamped >= 0 after every step."""

    def __init__(self, kind, channels, map_size, classes, pool):
        super().__init__()
        self.kind = kind
        self.nonneg = kind in ("dw-nonneg", "wise", "wise-dropout")
        p = 1 if kind in ("dw", "dw-nonneg", "gap", "gap-dropout") else (pool or auto_pool_size(map_size))
        k = (map_size - p) // p + 1
        self.avgpool = nn.AvgPool2d(p, p) if p > 1 else nn.Identity()
        self.depthwise = None
        inputs = channels
        if kind in ("dw", "dw-nonneg", "wise", "wise-dropout"):
            self.depthwise = nn.Conv2d(channels, channels, k, groups=channels, bias=True)
            nn.init.normal_(self.depthwise.weight, 0.0, 0.01)
            nn.init.zeros_(self.depthwise.bias)
        elif kind == "avg-fc":
            inputs = channels * k * k
        self.dropout = nn.Dropout(0.5) if kind.endswith("-dropout") else nn.Identity()
        self.fc = nn.Linear(inputs, classes)
        nn.init.normal_(self.fc.weight, 0.0, 0.01)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x):
        if self.kind.startswith("gap"):
            x = F.adaptive_avg_pool2d(x, 1)
        else:
            x = self.avgpool(x)
            if self.depthwise is not None:
                x = self.depthwise(x)
        return self.fc(self.dropout(x.flatten(1)))

    @torch.no_grad()
    def apply_constraints(self):
        if self.nonneg:
            self.depthwise.weight.clamp_(min=0)


class Classifier(nn.Module):
    def __init__(self, model, head, classes, image_size, pool):
        super().__init__()
        self.backbone, channels = backbone_features(model)
        with torch.no_grad():  # the feature-map size, computed on the meta device (no memory, no compute)
            probe = copy.deepcopy(self.backbone).to("meta")
            map_size = probe(torch.empty(1, 3, image_size, image_size, device="meta")).shape[-1]
        self.head = Head(head, channels, map_size, classes, pool)

    def forward(self, x):
        return self.head(self.backbone(x))


def parse_bool(text):
    if text.lower() in ("true", "1", "yes", "on"):
        return True
    if text.lower() in ("false", "0", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got '{text}'")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # The spellings of `wisesr bench train`, so scripts pass both the same options.
    ap.add_argument("--model.backbone", dest="model", default="resnet50", choices=sorted(BACKBONES))
    ap.add_argument("--model.head", dest="head", default="wise", choices=HEADS)
    ap.add_argument("--model.pool", dest="pool", type=int, default=0)
    ap.add_argument("--data.image_size", dest="image_size", type=int, default=224)
    ap.add_argument("--train.batch_size", dest="batch", type=int, default=64)
    ap.add_argument("--classes", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--breakdown-steps", type=int, default=10)
    ap.add_argument("--train.precision", dest="precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    ap.add_argument("--train.channels_last", dest="channels_last", type=parse_bool, default=True)
    ap.add_argument("--train.device", dest="device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--train.threads", dest="threads", type=int, default=0, help="intra-op CPU threads; 0 = all cores")
    ap.add_argument("--train.seed", dest="seed", type=int, default=42)
    ap.add_argument("--json", default="")
    a = ap.parse_args()
    if a.steps < 1 or a.warmup < 0 or a.breakdown_steps < 0 or a.batch < 1:
        ap.error("--steps and --train.batch_size must be >= 1, --warmup and --breakdown-steps >= 0")

    cuda = a.device == "cuda" or (a.device == "auto" and torch.cuda.is_available())
    if cuda and not torch.cuda.is_available():
        ap.error("--train.device cuda requested but no CUDA GPU is available")
    device = torch.device("cuda", 0) if cuda else torch.device("cpu")
    precision = ("bf16" if cuda else "fp32") if a.precision == "auto" else a.precision
    if precision == "fp16" and not cuda:
        ap.error("--train.precision fp16 needs a CUDA device")
    channels_last = a.channels_last and cuda
    torch.set_num_threads(a.threads if a.threads > 0 else (os.cpu_count() or 1))
    if cuda:
        torch.backends.cudnn.benchmark = True

    def device_sync():
        if cuda:
            torch.cuda.synchronize(device)

    torch.manual_seed(a.seed)
    model = Classifier(a.model, a.head, a.classes, a.image_size, a.pool).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, foreach=True)
    scaler = torch.amp.GradScaler("cuda", init_scale=65536.0, enabled=precision == "fp16")
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)

    x = torch.randn(a.batch, 3, a.image_size, a.image_size, device=device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, a.classes, (a.batch,), device=device)

    def step(breakdown):
        phases = [0.0, 0.0, 0.0]
        t0 = time.perf_counter()
        autocast = torch.autocast(device.type, dtype=amp_dtype) if amp_dtype else contextlib.nullcontext()
        with autocast:
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y)
        if breakdown:
            device_sync()
            phases[0] = (time.perf_counter() - t0) * 1e3
        t1 = time.perf_counter()
        scaler.scale(loss).backward()
        if breakdown:
            device_sync()
            phases[1] = (time.perf_counter() - t1) * 1e3
        t2 = time.perf_counter()
        scaler.step(opt)
        scaler.update()
        model.head.apply_constraints()
        opt.zero_grad()
        if breakdown:
            device_sync()
            phases[2] = (time.perf_counter() - t2) * 1e3
        return phases

    for _ in range(a.warmup):
        step(False)
    device_sync()
    step_ms = []
    for _ in range(a.steps):
        t = time.perf_counter()
        step(False)
        device_sync()
        step_ms.append((time.perf_counter() - t) * 1e3)
    breakdown = [step(True) for _ in range(a.breakdown_steps)]

    med = statistics.median(step_ms)
    phase = [statistics.median(b[i] for b in breakdown) if breakdown else None for i in range(3)]
    peak = torch.cuda.max_memory_allocated(device) if cuda else 0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    r = {
        "impl": "pytorch-eager", "model": a.model, "head": a.head, "image_size": a.image_size,
        "batch": a.batch, "classes": a.classes, "precision": precision, "channels_last": channels_last,
        "device": str(device), "sync": "none", "backend": "none", "ranks": 1, "grad_buckets": 0, "cuda_graph": False,
        "input": "synthetic", "data_wait_frac": 0.0,
        "params": sum(p.numel() for p in model.parameters()), "steps": a.steps, "warmup": a.warmup,
        "breakdown_steps": a.breakdown_steps, "img_per_s": 1000.0 * a.batch / med if med > 0 else 0.0,
        "step_ms": med, "step_ms_min": min(step_ms), "step_ms_max": max(step_ms),
        "forward_ms": phase[0], "backward_ms": phase[1], "optimizer_ms": phase[2],
        "peak_mem_bytes": peak, "max_rss_bytes": rss, "torch": torch.__version__,
    }
    line = (f"reference {a.model}+{a.head} {a.image_size}px batch {a.batch}, {precision}"
            f"{' channels_last' if channels_last else ''}, {device}: {r['img_per_s']:.1f} img/s "
            f"(step {med:.2f} ms, median of {a.steps})")
    if breakdown:
        line += f"; forward {phase[0]:.2f} / backward {phase[1]:.2f} / optimizer {phase[2]:.2f} ms"
    line += f"; peak memory {peak / 2**30:.2f} GiB" if cuda else f"; max RSS {rss / 2**30:.2f} GiB"
    print(line, flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(r, f, indent=2, sort_keys=True)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
