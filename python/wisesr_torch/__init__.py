"""The whole wisesr classifier in plain PyTorch, rebuilt from `wisesr export` output.

    PYTHONPATH=python python -c "import wisesr_torch; m = wisesr_torch.load_exported('model.pt'); print(m)"

`load_exported(path)` reads `path` (the state_dict `wisesr export --out path` writes) and `path.json` (the
metadata written beside it: backbone, head, pool, classes, image size, normalisation) and returns the
classifier in eval mode; its logits equal wisesr's (tests/integration/python_model.sh). `preprocess()`
turns uint8 RGB images into the inputs wisesr trained on.
"""
from .model import (
    BACKBONES,
    HEADS,
    WiseSrNetClassifier,
    load_exported,
    make_backbone,
    make_head,
    preprocess,
)

__all__ = [
    "BACKBONES",
    "HEADS",
    "WiseSrNetClassifier",
    "load_exported",
    "make_backbone",
    "make_head",
    "preprocess",
]
