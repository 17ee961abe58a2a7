"""Writes an image folder with every kind of input `wisesr prep` must handle.

usage: make_bad_inputs.py ROOT
Good (must become records): JPEG, grayscale JPEG, CMYK JPEG, EXIF-rotated JPEG, 16-bit PNG, RGBA PNG,
palette PNG, BMP, TIFF, WebP, a non-ASCII name, a 20000x20000 PNG, files in nested folders.
Bad (must be skipped and listed): zero-byte, text named .jpg, truncated JPEG, broken symlink.
Also an empty class folder. Prints the expected counts as JSON.
"""
import io
import json
import os
import sys

import numpy as np
from PIL import Image

root = sys.argv[1]
rng = np.random.default_rng(0)


def img(w, h):
    return Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8))


def put(cls, name, save):
    d = os.path.join(root, cls, os.path.dirname(name))
    os.makedirs(d, exist_ok=True)
    save(os.path.join(root, cls, name))


good = {"cats": 0, "dogs": 0}
for cls in good:
    for i in range(6):
        put(cls, f"plain_{i}.jpg", lambda p: img(120, 90).save(p, quality=90))
        good[cls] += 1
put("cats", "deep/nested/gray.jpg", lambda p: img(80, 80).convert("L").save(p)); good["cats"] += 1
put("cats", "cmyk.jpg", lambda p: img(80, 80).convert("CMYK").save(p)); good["cats"] += 1
exif = Image.Exif()
exif[0x0112] = 6  # orientation: rotate 90 degrees when displayed
put("cats", "rotated.jpg", lambda p: img(200, 100).save(p, exif=exif.tobytes())); good["cats"] += 1
put("cats", "sixteen.png", lambda p: Image.fromarray(rng.integers(0, 65535, (70, 90), dtype=np.uint16)).save(p))
good["cats"] += 1
put("dogs", "alpha.png", lambda p: img(64, 64).convert("RGBA").save(p)); good["dogs"] += 1
put("dogs", "palette.png", lambda p: img(64, 64).convert("P").save(p)); good["dogs"] += 1
put("dogs", "bitmap.bmp", lambda p: img(64, 64).save(p)); good["dogs"] += 1
put("dogs", "scan.tiff", lambda p: img(64, 64).save(p)); good["dogs"] += 1
put("dogs", "web.webp", lambda p: img(64, 64).save(p)); good["dogs"] += 1
put("dogs", "hündchen_狗.jpg", lambda p: img(64, 64).save(p)); good["dogs"] += 1
put("dogs", "huge.png", lambda p: Image.new("RGB", (20000, 20000), (10, 200, 30)).save(p)); good["dogs"] += 1

bad = []
put("cats", "empty.jpg", lambda p: open(p, "wb").close()); bad.append("cats/empty.jpg")
put("cats", "notes.jpg", lambda p: open(p, "w").write("not an image")); bad.append("cats/notes.jpg")
buf = io.BytesIO()
img(300, 300).save(buf, format="JPEG", quality=95)
put("dogs", "truncated.jpg", lambda p: open(p, "wb").write(buf.getvalue()[: len(buf.getvalue()) // 2]))
bad.append("dogs/truncated.jpg")
os.symlink("/nonexistent/target.jpg", os.path.join(root, "dogs", "dangling.jpg")); bad.append("dogs/dangling.jpg")
os.makedirs(os.path.join(root, "empty_class"))
print(json.dumps({"good": good, "bad": sorted(bad)}))
