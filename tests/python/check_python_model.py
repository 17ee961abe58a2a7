"""The Python classifier rebuilt from a `wisesr export` (python/wisesr_torch) against `wisesr eval`.

usage: check_python_model.py SHARDS_DIR [--onnx DIR] EXPORT.pt:SPLIT:EVAL.json ...
Loads each EXPORT.pt with wisesr_torch.load_exported, runs it on every record of SPLIT (raw-storage shards:
the pixels wisesr evaluated, no decoder in between), and checks its mean cross-entropy, top-1 and top-5
against `wisesr eval --json` on the same split: the loss to 1e-5 (relative above 1), the hit counts exactly.
With --onnx and the onnx and onnxscript packages installed, torch.onnx.export of each model must also
work (and, where onnxruntime is installed, give the same logits to 1e-4, relative above 1). Exits 3 if torch
or h5py is missing.
"""
import json
import os
import sys

try:
    import h5py
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:  # pragma: no cover
    print(f"missing Python package: {e.name}", file=sys.stderr)
    sys.exit(3)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import wisesr_torch  # noqa: E402


def read_split(shards, split):
    """Every record of the split, in manifest order: (N, H, W, 3) uint8 RGB, (N,) labels."""
    index = json.load(open(os.path.join(shards, "index.json")))
    assert index["storage"] == "raw", "the check needs --storage raw shards (no decoder differences)"
    images, labels = [], []
    for shard in index["splits"][split]["shards"]:
        with h5py.File(os.path.join(shards, shard["file"]), "r") as f:
            data, offsets, shapes = f["images"][:], f["offsets"][:], f["shapes"][:]
            for i in range(len(offsets) - 1):
                images.append(data[offsets[i]:offsets[i + 1]].reshape(tuple(int(s) for s in shapes[i])))
            labels.extend(int(v) for v in f["labels"][:])
    return np.stack(images), torch.tensor(labels)


def check_onnx(model, x, out_dir):
    try:
        import onnx
        import onnxscript  # noqa: F401 (torch.onnx.export's exporter needs it)
    except ImportError:
        if not getattr(check_onnx, "said", False):
            print("onnx: skipped (the onnx and onnxscript packages are not installed)")
            check_onnx.said = True
        return
    path = os.path.join(out_dir, f"{model.backbone_name}-{model.head_name}.onnx")
    torch.onnx.export(model, (x[:2],), path, input_names=["images"], output_names=["logits"])
    onnx.checker.check_model(onnx.load(path))
    try:
        import onnxruntime
    except ImportError:
        print(f"onnx: {path} written and valid (onnxruntime not installed: logits not compared)")
        return
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    ours = session.run(None, {"images": x[:2].numpy()})[0]
    with torch.no_grad():
        ref = model(x[:2]).numpy()
    diff = float(np.abs(ours - ref).max())
    assert diff <= 1e-4 * max(1.0, float(np.abs(ref).max())), f"onnxruntime logits differ by {diff}"
    print(f"onnx: {path} gives the same logits (max diff {diff:.2e})")


def check(export, shards, split, eval_json, onnx_dir):
    model = wisesr_torch.load_exported(export)
    assert not model.training
    images, labels = read_split(shards, split)
    x = wisesr_torch.preprocess(images, model.normalize, model.image_size)
    with torch.no_grad():
        logits = torch.cat([model(b) for b in x.split(16)])
    loss = F.cross_entropy(logits.double(), labels, reduction="sum").item()
    top = logits.topk(min(5, logits.shape[1]), 1).indices.eq(labels.view(-1, 1))
    ours = {"samples": len(labels), "loss": loss / len(labels), "top1": top[:, 0].sum().item(),
            "top5": top.any(1).sum().item()}
    theirs = json.load(open(eval_json))
    name = f"{model.backbone_name}/{model.head_name} on {split}"
    assert theirs["samples"] == ours["samples"], (name, theirs, ours)
    diff = abs(ours["loss"] - theirs["loss"])
    assert diff <= 1e-5 * max(1.0, abs(theirs["loss"])), f"{name}: loss {ours['loss']} vs wisesr's {theirs['loss']}"
    for k in ("top1", "top5"):
        assert ours[k] == round(theirs[k] * theirs["samples"]), f"{name}: {k} {ours[k]} vs wisesr's {theirs}"
    print(f"ok: {name}: {ours['samples']} images, loss {ours['loss']:.6f} (wisesr {theirs['loss']:.6f}, "
          f"diff {diff:.1e}), top-1 {ours['top1']}, top-5 {ours['top5']}, max |logit| "
          f"{logits.abs().max().item():.3g}")
    if onnx_dir:
        check_onnx(model, x, onnx_dir)


def main():
    args = sys.argv[1:]
    onnx_dir = None
    if "--onnx" in args:
        i = args.index("--onnx")
        onnx_dir = args[i + 1]
        del args[i:i + 2]
    shards, triples = args[0], args[1:]
    assert triples, __doc__
    torch.manual_seed(0)
    for t in triples:
        export, split, eval_json = t.rsplit(":", 2)
        check(export, shards, split, eval_json, onnx_dir)


main()
