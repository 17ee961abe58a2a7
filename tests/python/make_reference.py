"""Reference outputs from torchvision/timm for the C++ parity tests.

usage: make_reference.py OUT_DIR
Writes, per model, <name>.pt (state_dict, torch.save of a plain dict), <name>_input.pt and
<name>_logits.pt (fp32, eval mode). Exits 3 if torchvision or timm is missing (the test then skips).
"""
import os
import sys

try:
    import timm
    import torch
    import torchvision
except ImportError as e:  # pragma: no cover
    print(f"missing Python package: {e.name}", file=sys.stderr)
    sys.exit(3)

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
models = {
    "resnet50": torchvision.models.resnet50(num_classes=10),
    "densenet121": torchvision.models.densenet121(num_classes=10),
    "xception": timm.create_model("legacy_xception", pretrained=False, num_classes=10),
    "resnet50v2": timm.create_model("resnetv2_50", pretrained=False, num_classes=10),
}
for name, model in models.items():
    # Random BatchNorm statistics and affine parameters, so parity covers every tensor, not just init values.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
    model.eval()
    x = torch.randn(2, 3, 160, 160)
    with torch.no_grad():
        logits = model(x)
    torch.save(dict(model.state_dict()), os.path.join(out, f"{name}.pt"))
    torch.save({"x": x}, os.path.join(out, f"{name}_input.pt"))
    torch.save({"logits": logits}, os.path.join(out, f"{name}_logits.pt"))
print("ok")
