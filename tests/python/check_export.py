"""Loads a `wisesr export` file as a user would and checks it against torchvision.

usage: check_export.py EXPORT.pt
The backbone keys must load into torchvision's resnet18 with strict=False, missing only its fc; the
head keys carry the wisesr_head. prefix. Exits 3 if torchvision is missing.
"""
import sys

try:
    import torch
    import torchvision
except ImportError as e:  # pragma: no cover
    print(f"missing Python package: {e.name}", file=sys.stderr)
    sys.exit(3)

sd = torch.load(sys.argv[1], map_location="cpu")
assert isinstance(sd, dict), type(sd)
model = torchvision.models.resnet18()
result = model.load_state_dict({k: v for k, v in sd.items()}, strict=False)
assert set(result.missing_keys) == {"fc.weight", "fc.bias"}, result.missing_keys
assert all(k.startswith("wisesr_head.") for k in result.unexpected_keys), result.unexpected_keys
assert "wisesr_head.depthwise.weight" in sd and (sd["wisesr_head.depthwise.weight"] >= 0).all()
for k, v in model.state_dict().items():
    if k in sd:
        assert torch.equal(v, sd[k]), k
print("export ok:", len(sd), "tensors")
