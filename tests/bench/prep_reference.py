"""The straightforward Python reference for `wisesr prep`: PIL + h5py, one process.

usage: prep_reference.py IN_DIR OUT.h5 SIZE QUALITY
Class folders -> one HDF5 file with the wisesr record layout (images/offsets/labels/shapes/crc32/paths),
each image squashed to SIZE x SIZE (Pillow's default resampling) and re-encoded as JPEG.
"""
import io
import os
import sys
import zlib

import h5py
import numpy as np
from PIL import Image

src, out, size, quality = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
classes = sorted(d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d)))
blobs, labels, shapes, crcs, paths = [], [], [], [], []
for label, cls in enumerate(classes):
    for name in sorted(os.listdir(os.path.join(src, cls))):
        path = os.path.join(src, cls, name)
        img = Image.open(path).convert("RGB").resize((size, size))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=quality)
        data = buf.getvalue()
        blobs.append(np.frombuffer(data, np.uint8))
        labels.append(label)
        shapes.append((size, size, 3))
        crcs.append(zlib.crc32(data))
        paths.append(f"{cls}/{name}")
offsets = np.zeros(len(blobs) + 1, np.uint64)
offsets[1:] = np.cumsum([len(b) for b in blobs])
with h5py.File(out, "w") as f:
    f["images"] = np.concatenate(blobs)
    f["offsets"] = offsets
    f["labels"] = np.array(labels, np.int32)
    f["shapes"] = np.array(shapes, np.uint32)
    f["crc32"] = np.array(crcs, np.uint32)
    f["paths"] = np.array(paths, dtype=h5py.string_dtype())
    f.attrs["class_names"] = classes
