"""Writes tiny stand-ins of the datasets `wisesr prep --layout` reads, with the real on-disk layouts and quirks.

usage: make_layouts.py WORK
Writes WORK/<case>/ for each case below and prints JSON {case: {"root", "classes", "train": {path: class},
"val": {path: class}, "skipped": [path, ...], "maybe_skipped": [path, ...]}}: paths relative to the root as
the shards store them; "maybe_skipped" are GIFs named .jpg, records only where OpenCV decodes GIF.

  imagenet_devkit   train/<wnid>/ (a CMYK JPEG, a PNG saved as n02105855_2933.JPEG), flat val/ labelled by
                    ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt + ROOT/LOC_synset_mapping.txt
                    (+ an unreadable meta.mat), a stray non-val file in val/
  imagenet_kaggle   <download>/ILSVRC/Data/CLS-LOC/{train,val,test} + <download>/LOC_val_solution.csv (rows
                    shuffled, several boxes each)
  imagenet_sorted   val/ sorted into val/<wnid>/ (valprep.sh)
  mit67             Images/<class>/ + TrainImages.txt / TestImages.txt (CRLF), names with spaces, a GIF named
                    .jpg, a listed file that is missing, files in neither list
  intel             seg_train/seg_train/<class>/, seg_test/seg_test/<class>/, seg_pred/seg_pred/ (unlabelled)
  intel_flat        seg_train/<class>/, seg_test/<class>/
  folders_val       train/<class>/ + val/<class>/ (and test/, not used)
  folders_test      train/<class>/ + test/<class>/
  folders_tree      <class>/ only (split by --val-fraction: "val" is then the per-class count)
"""
import json
import os
import random
import sys

import numpy as np
from PIL import Image

work = sys.argv[1]
rng = np.random.default_rng(0)
cases = {}


def img(w=40, h=30):
    return Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8))


def write(root, rel, save=None):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    (save or (lambda p: img().save(p, format="JPEG", quality=90)))(path)


def text(root, rel, lines, newline="\n"):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        f.write("".join(line + newline for line in lines))


# ---- ImageNet -----------------------------------------------------------------------------------------
WNIDS = ["n01440764", "n01443537", "n02105855"]  # sorted: ILSVRC2012_IDs 1, 2, 3 of this stand-in
MAPPING = ["n01440764 tench, Tinca tinca", "n01443537 goldfish, Carassius auratus", "n02105855 Shetland sheepdog"]
VAL_IDS = [3, 1, 2, 2, 3, 1, 1]
COLOURS = {"cmyk": (200, 40, 90), "png": (30, 160, 220)}  # ground truth of ILSVRC2012_val_00000001..7 (deliberately unsorted)


def imagenet_train(root):
    train = {}
    for w in WNIDS:
        for i in range(3):
            rel = f"train/{w}/{w}_{1000 + i}.JPEG"
            write(root, rel)
            train[rel] = w
    # Quirks of the real train set: 22 CMYK JPEGs, and one PNG saved with a .JPEG name.
    # Flat colours, so the stored record's colour shows whether the file was decoded right.
    rel = f"train/{WNIDS[1]}/{WNIDS[1]}_cmyk.JPEG"
    write(root, rel, lambda p: Image.new("RGB", (40, 30), COLOURS["cmyk"]).convert("CMYK").save(p, "JPEG"))
    train[rel] = WNIDS[1]
    rel = "train/n02105855/n02105855_2933.JPEG"
    write(root, rel, lambda p: Image.new("RGB", (40, 30), COLOURS["png"]).save(p, format="PNG"))
    train[rel] = "n02105855"
    return train


def imagenet_colours():
    return {f"train/{WNIDS[1]}/{WNIDS[1]}_cmyk.JPEG": COLOURS["cmyk"],
            "train/n02105855/n02105855_2933.JPEG": COLOURS["png"]}


def imagenet_val_flat(root):
    val = {}
    for k, cid in enumerate(VAL_IDS, start=1):
        rel = f"val/ILSVRC2012_val_{k:08d}.JPEG"
        write(root, rel)
        val[rel] = WNIDS[cid - 1]
    return val


root = os.path.join(work, "imagenet_devkit")
train = imagenet_train(root)
val = imagenet_val_flat(root)
text(root, "ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt", [str(c) for c in VAL_IDS])
text(root, "ILSVRC2012_devkit_t12/data/meta.mat", ["MATLAB 5.0 MAT-file (stand-in: never read)"])
text(root, "LOC_synset_mapping.txt", MAPPING)
text(root, "val/README.txt", ["not a val image"])
cases["imagenet_devkit"] = {"root": root, "classes": WNIDS, "train": train, "val": val,
                            "colours": imagenet_colours(), "skipped": ["val/README.txt"]}

download = os.path.join(work, "imagenet_kaggle")
root = os.path.join(download, "ILSVRC", "Data", "CLS-LOC")
train = imagenet_train(root)
val = imagenet_val_flat(root)
write(root, "test/ILSVRC2012_test_00000001.JPEG")
rows = []
for k, cid in enumerate(VAL_IDS, start=1):
    w = WNIDS[cid - 1]
    boxes = " ".join(f"{w} {x} {x + 1} {x + 20} {x + 21}" for x in range(1 + k % 3))
    rows.append(f"ILSVRC2012_val_{k:08d},{boxes} ")
random.Random(1).shuffle(rows)
text(download, "LOC_val_solution.csv", ["ImageId,PredictionString"] + rows)
text(download, "LOC_synset_mapping.txt", MAPPING)
cases["imagenet_kaggle"] = {"root": root, "classes": WNIDS, "train": train, "val": val,
                            "colours": imagenet_colours(), "skipped": []}

root = os.path.join(work, "imagenet_sorted")
train = imagenet_train(root)
val = {}
for k, cid in enumerate(VAL_IDS, start=1):
    rel = f"val/{WNIDS[cid - 1]}/ILSVRC2012_val_{k:08d}.JPEG"
    write(root, rel)
    val[rel] = WNIDS[cid - 1]
cases["imagenet_sorted"] = {"root": root, "classes": WNIDS, "train": train, "val": val,
                            "colours": imagenet_colours(), "skipped": []}

# ---- MIT Indoor 67 ------------------------------------------------------------------------------------
root = os.path.join(work, "mit67")
classes = sorted(["airport_inside", "children_room", "kitchen", "wine cellar"])
train, val, skipped, maybe, train_lines, test_lines = {}, {}, [], [], [], []
for c in classes:
    for i in range(5):
        name = f"{c}/{c}_{i:04d}.jpg" if i != 2 else f"{c}/int {i} (copy).jpg"
        write(root, f"Images/{name}")
        if i < 3:
            train_lines.append(name)
            train[f"Images/{name}"] = c
        elif i == 3:
            test_lines.append(name)
            val[f"Images/{name}"] = c
        # i == 4: in neither list, not used
gif = "kitchen/kitchen_gif.jpg"  # a GIF named .jpg, as a few real ones are
write(root, f"Images/{gif}", lambda p: img().save(p, format="GIF"))
train_lines.append(gif)
maybe.append(f"Images/{gif}")
train[f"Images/{gif}"] = "kitchen"
train_lines.append("kitchen/listed_but_missing.jpg")
skipped.append("Images/kitchen/listed_but_missing.jpg")
text(root, "TrainImages.txt", train_lines)
text(root, "TestImages.txt", test_lines, newline="\r\n")
cases["mit67"] = {"root": root, "classes": classes, "train": train, "val": val, "skipped": skipped,
                  "maybe_skipped": maybe}

# ---- Intel Image Classification -----------------------------------------------------------------------
INTEL = ["buildings", "forest", "glacier", "mountain", "sea", "street"]
for case, nested in (("intel", True), ("intel_flat", False)):
    root = os.path.join(work, case)
    train, val = {}, {}
    for split, d, n in (("seg_train", train, 3), ("seg_test", val, 2)):
        base = f"{split}/{split}" if nested else split
        for c in INTEL:
            for i in range(n):
                rel = f"{base}/{c}/{100 * INTEL.index(c) + i}.jpg"
                write(root, rel, lambda p: img(150, 150).save(p, format="JPEG"))
                d[rel] = c
    if nested:
        for i in range(3):
            write(root, f"seg_pred/seg_pred/{i}.jpg")
    cases[case] = {"root": root, "classes": INTEL, "train": train, "val": val, "skipped": []}

# ---- Class folders (e.g. the paper's 70-class sub-ImageNet) -------------------------------------------
SUB = ["n01530575", "n01531178", "n01532829"]
for case, val_dir in (("folders_val", "val"), ("folders_test", "test")):
    root = os.path.join(work, case)
    train, val = {}, {}
    for c in SUB:
        for i in range(4):
            write(root, f"train/{c}/{c}_{i}.JPEG")
            train[f"train/{c}/{c}_{i}.JPEG"] = c
        for i in range(2):
            write(root, f"{val_dir}/{c}/{c}_val_{i}.JPEG")
            val[f"{val_dir}/{c}/{c}_val_{i}.JPEG"] = c
        if val_dir == "val":
            write(root, f"test/{c}/{c}_test.JPEG")  # val/ wins: test/ is not used
    cases[case] = {"root": root, "classes": SUB, "train": train, "val": val, "skipped": []}

root = os.path.join(work, "folders_tree")
files = {}
for c in ["cats", "dogs"]:
    for i in range(8):
        write(root, f"{c}/{i}.jpg")
        files[f"{c}/{i}.jpg"] = c
cases["folders_tree"] = {"root": root, "classes": ["cats", "dogs"], "all": files, "skipped": []}

print(json.dumps(cases))
