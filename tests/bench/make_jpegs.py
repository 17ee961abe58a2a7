"""Benchmark input: N photo-like JPEGs (1024x768, quality 90) in two class folders.

usage: make_jpegs.py N OUT_DIR
Smooth colour fields plus texture and noise, so file sizes (~100-200 KB) and decode cost resemble
photographs rather than flat synthetic images.
"""
import os
import sys

import numpy as np
from PIL import Image

n, out = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(0)
yy, xx = np.mgrid[0:768, 0:1024].astype(np.float32)
for i in range(n):
    cls = f"class_{i % 2}"
    os.makedirs(os.path.join(out, cls), exist_ok=True)
    low = rng.random((6, 8, 3)).astype(np.float32)
    field = np.array(Image.fromarray((low * 255).astype(np.uint8)).resize((1024, 768), Image.BICUBIC), np.float32)
    f1, f2 = rng.uniform(0.01, 0.08, 2)
    texture = 25 * np.sin(xx * f1 + yy * f2)[..., None]
    noise = rng.normal(0, 12, (768, 1024, 3)).astype(np.float32)
    img = np.clip(field + texture + noise, 0, 255).astype(np.uint8)
    Image.fromarray(img).save(os.path.join(out, cls, f"img_{i:05d}.jpg"), quality=90)
