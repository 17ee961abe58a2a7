"""The PyTorch user's input pipeline for `wisesr bench data`: a torch.utils.data.DataLoader over the same
shards (h5py + PIL decode + torchvision.transforms.v2), timed the way `wisesr bench data` times its own.

usage: torchvision_loader.py --data.dir DIR [--data.train_split train --train.batch_size 64 --threads N
       --data.image_size S --batches 20 --warmup 3 --mode decode|augment|both --train.seed 42 --json FILE]
       torchvision_loader.py --data.dir DIR --check        (fast correctness check, then exit)
       (the spellings of `wisesr bench data`; --workers is another name for --threads)

Modes, as the rows of `wisesr bench data`:
  decode  : h5py read + PIL decode (+ the random square crop of short-side shards, + an antialiased
            bilinear resize when --data.image_size differs from the stored size) + caffe preprocessing
            (RGB->BGR minus the ImageNet means) into a float32 (3,S,S) tensor; row mode "decode".
  augment : the same with the paper's Keras ImageDataGenerator recipe written with torchvision.transforms.v2
            (keras_transform() says what torchvision matches and what it cannot); row mode "keras".
The records are wisesr's: the split's first (warmup + batches) x batch records in the order of
epoch_permutation(n, seed, 0) (src/data/sampler.cpp), repeated if the split is smaller.

Pipeline: one Dataset whose workers each open the HDF5 files themselves, on first use (h5py handles must
not cross a fork), and a DataLoader with --threads worker processes (wisesr's --threads counts its decode
threads the same way: the consumer is extra in both), persistent workers, pin_memory off, the default
prefetch_factor (2 batches per worker) and default_collate. Each worker runs torch with one intra-op thread
(--worker-threads; the DataLoader's own default too), so N workers use N cores, as wisesr's N threads do.
Timing is wisesr's: `warmup` untimed batches, then img/s = images / seconds from the end of the warm-up to
the arrival of the last batch; img/s/core divides by the workers. The median batch inter-arrival time is
reported as well (batch_ms_median), but with several workers batches arrive in bursts, so the ratio uses
img/s. The JSON (stdout, and --json FILE) has the keys of `wisesr bench data --json` where they mean the
same, plus impl, workers, worker_threads, batch_ms_median and the library versions.
"""
import argparse
import io
import json
import os
import statistics
import sys
import time
import zlib

import h5py
import numpy as np
import PIL
import torch
import torchvision
from PIL import Image, features
from torchvision.transforms import v2

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)  # src/data/augment.h kCaffeMeanBgr
MASK64 = (1 << 64) - 1


def mix64(x):
    """src/data/sampler.cpp mix64 (splitmix64 finaliser) on Python ints."""
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def epoch_permutation(n, seed, epoch):
    """wisesr's training order of a split (src/data/sampler.cpp), so both pipelines read the same records."""
    perm = list(range(n))
    state = mix64((seed ^ mix64(epoch + 0x5151)) & MASK64)
    for i in range(n, 1, -1):  # Fisher-Yates
        state = mix64(state)
        j = state % i
        perm[i - 1], perm[j] = perm[j], perm[i - 1]
    return perm


class ShardDataset(torch.utils.data.Dataset):
    """One split of a `wisesr prep` directory: item i = (transform(RGB image), label) of global record i.

    The small per-record tables (offsets, labels, shapes) are read once in the constructor, with every
    file closed again; the record bytes are read through h5py handles opened lazily by each process that
    reads (a DataLoader worker), never inherited across a fork.
    """

    def __init__(self, directory, split, transform):
        with open(os.path.join(directory, "index.json")) as f:
            index = json.load(f)
        self.storage = index["storage"]
        self.size_policy = index["size_policy"]
        self.image_size = int(index["image_size"])
        self.classes = index["classes"]
        self.class_counts = index["splits"][split]["class_counts"]
        self.paths = [os.path.join(directory, s["file"]) for s in index["splits"][split]["shards"]]
        self.offsets, self.labels, self.shapes = [], [], []
        for path in self.paths:
            with h5py.File(path, "r") as f:
                self.offsets.append(f["offsets"][:].astype(np.int64))
                self.labels.append(f["labels"][:].astype(np.int64))
                self.shapes.append(f["shapes"][:].astype(np.int64))
        self.starts = np.cumsum([0] + [len(lab) for lab in self.labels])
        self.transform = transform
        self._pid = None
        self._images = {}

    def __len__(self):
        return int(self.starts[-1])

    def locate(self, i):
        """(shard, record within the shard) of global record i."""
        s = int(np.searchsorted(self.starts, i, side="right")) - 1
        return s, i - int(self.starts[s])

    def label(self, i):
        s, j = self.locate(i)
        return int(self.labels[s][j])

    def close(self):
        """Closes this process's handles (call before a DataLoader forks workers from it)."""
        if self._pid == os.getpid():
            for images in self._images.values():
                images.file.close()
        self._pid, self._images = None, {}

    def _dataset(self, s):
        if self._pid != os.getpid():  # a new process (worker): its own handles, the parent's left alone
            self._pid, self._images = os.getpid(), {}
        if s not in self._images:
            self._images[s] = h5py.File(self.paths[s], "r")["images"]
        return self._images[s]

    def record(self, i):
        """(record bytes, label, (h, w, c)) of global record i."""
        s, j = self.locate(i)
        start, end = self.offsets[s][j], self.offsets[s][j + 1]
        return self._dataset(s)[start:end].tobytes(), int(self.labels[s][j]), tuple(self.shapes[s][j])

    def image(self, i):
        """Global record i as a PIL RGB image, and its label."""
        data, label, (h, w, _) = self.record(i)
        if self.storage == "raw":
            return Image.fromarray(np.frombuffer(data, np.uint8).reshape(h, w, 3)), label
        img = Image.open(io.BytesIO(data))
        return img.convert("RGB"), label

    def __getitem__(self, i):
        img, label = self.image(i)
        return self.transform(img), label


class ChannelShift:
    """Keras apply_channel_shift: one offset ~ U(-r, r) for all channels, clipped to the image's own range
    (float input). torchvision has no such transform."""

    def __init__(self, intensity):
        self.intensity = intensity

    def __call__(self, x):
        shift = float(torch.empty(1).uniform_(-self.intensity, self.intensity))
        x = x.as_subclass(torch.Tensor)
        lo, hi = torch.aminmax(x)
        return (x + shift).clamp_(lo, hi)


class CaffePreprocess:
    """Keras preprocess_input(mode='caffe'): RGB -> BGR, minus the ImageNet means, no scaling (float input)."""

    def __init__(self):
        self.mean = torch.tensor(CAFFE_MEAN_BGR, dtype=torch.float32).view(3, 1, 1)

    def __call__(self, x):
        # On the plain tensor: a tv_tensors.Image dispatches every op through Python (2-3x slower here).
        # Indexing the channels makes a new contiguous (3,H,W) tensor, the collated batch's layout.
        return x.as_subclass(torch.Tensor)[[2, 1, 0]].sub_(self.mean)


def geometry(ds, out_size):
    """What wisesr's loader does before any augmentation: the random square crop of short-side records,
    then the resize to the training size (antialiased bilinear, as BatchTransform::apply) if it differs."""
    steps = [v2.ToImage()]  # PIL -> uint8 (3,H,W)
    if ds.size_policy == "short-side":
        steps.append(v2.RandomCrop(ds.image_size))
    if out_size != ds.image_size:
        steps.append(v2.Resize((out_size, out_size), interpolation=v2.InterpolationMode.BILINEAR, antialias=True))
    return steps


def decode_transform(ds, out_size):
    return v2.Compose(geometry(ds, out_size) + [v2.ToDtype(torch.float32, scale=False), CaffePreprocess()])


def keras_transform(ds, out_size, a):
    """ImageDataGenerator(rotation_range, width/height_shift_range, zoom_range, channel_shift_range,
    brightness_range, horizontal_flip, vertical_flip, fill_mode='nearest') + caffe preprocessing, in Keras'
    order (affine, channel shift, flips, brightness, then preprocess_input in standardize()), on 0-255
    floats as Keras works, with torchvision.transforms.v2 where it has the step.

    What torchvision matches: rotation ~ U(-r, r) degrees about the image centre (the same centre as
    Keras', in torchvision's pixel-edge convention), bilinear sampling (Keras interpolation_order=1), each
    flip with probability 1/2, brightness as PIL's ImageEnhance.Brightness on the image truncated to uint8
    (ColorJitter blends with black: trunc(min(b x, 255)), as Keras' apply_brightness_shift does).
    What it cannot match:
      - fill_mode='nearest' (positions outside the image take the nearest edge pixel): RandomAffine only
        fills with a constant (grid_sample with padding_mode='zeros', then a mask channel blends in the fill
        colour). We keep its default, fill=0 (black corners; fill=None skips the mask channel, about a third
        cheaper, not what users write); edge replication needs grid_sample with padding_mode='border'
        called by hand, as wisesr does.
      - zoom: Keras draws zx and zy independently from U(1 - z, 1 + z) and divides the output-to-input map
        by them (the image appears scaled by 1/zx, 1/zy); RandomAffine has one isotropic factor
        s ~ U(1 - z, 1 + z) that scales the image by s. scale=(1 - z, 1 + z) is the nearest setting.
      - shifts: RandomAffine rounds them to whole pixels and translates after rotating (T C R S C^-1);
        Keras shifts by fractional pixels inside the rotated frame (rotation . shift . zoom).
      - channel shift: no torchvision transform; ChannelShift above is Keras' apply_channel_shift.
      - random numbers: torch's per-worker generator; Keras (NumPy's global generator) and wisesr (a hash
        of seed, epoch and record) draw from the same distributions, not the same values.
    """
    steps = geometry(ds, out_size) + [v2.ToDtype(torch.float32, scale=False)]
    steps.append(v2.RandomAffine(degrees=a.rotation, translate=(a.shift, a.shift),
                                 scale=(1 - a.zoom, 1 + a.zoom), interpolation=v2.InterpolationMode.BILINEAR))
    if a.channel_shift > 0:
        steps.append(ChannelShift(a.channel_shift))
    if a.hflip:
        steps.append(v2.RandomHorizontalFlip())
    if a.vflip:
        steps.append(v2.RandomVerticalFlip())
    if (a.brightness_min, a.brightness_max) != (1, 1):
        # Keras' array_to_img: float -> uint8 by truncation (the values lie in [0, 255] here).
        steps += [v2.ToDtype(torch.uint8, scale=False), v2.ColorJitter(brightness=(a.brightness_min, a.brightness_max)),
                  v2.ToDtype(torch.float32, scale=False)]
    steps.append(CaffePreprocess())
    return v2.Compose(steps)


class WorkerInit:
    """torch threads per worker: 1 (the DataLoader sets that too) keeps N workers on N cores."""

    def __init__(self, threads):
        self.threads = threads

    def __call__(self, worker_id):
        torch.set_num_threads(self.threads)


def make_loader(ds, indices, a):
    return torch.utils.data.DataLoader(ds, batch_size=a.batch, sampler=indices, num_workers=a.threads,
                                       pin_memory=False, persistent_workers=True, drop_last=False,
                                       worker_init_fn=WorkerInit(a.worker_threads))


def time_mode(ds, indices, a):
    """One row: `warmup` untimed batches, then `batches` timed ones."""
    loader = make_loader(ds, indices, a)
    it = iter(loader)
    for _ in range(a.warmup):
        next(it)
    t0 = last = time.perf_counter()
    images, batch_ms = 0, []
    for _ in range(a.batches):
        x, y = next(it)
        images += x.shape[0]
        now = time.perf_counter()
        batch_ms.append((now - last) * 1e3)
        last = now
    seconds = last - t0
    del it, loader  # shuts the persistent workers down before the next mode starts its own
    rate = images / seconds if seconds > 0 else 0.0
    return {"images": images, "seconds": seconds, "img_per_s": rate, "img_per_s_per_core": rate / a.threads,
            "batch_ms_median": statistics.median(batch_ms)}


def caffe_reference(rgb):
    """(H,W,3) uint8 RGB -> (3,H,W) float32 caffe input, in NumPy (independent of the transforms above)."""
    return (rgb[:, :, ::-1].astype(np.float32) - np.array(CAFFE_MEAN_BGR, np.float32)).transpose(2, 0, 1)


def check(a):
    """Records, labels, shapes and pixels of the dataset against the shards read directly, then one
    DataLoader epoch per mode against the sampler's labels. Returns the number of failures."""
    failures = []
    ds = ShardDataset(a.dir, a.split, None)
    ds.transform = decode_transform(ds, ds.image_size)
    n = len(ds)
    if n != sum(ds.class_counts):
        failures.append(f"{n} records, index.json counts {sum(ds.class_counts)}")
    counts = np.bincount(np.concatenate(ds.labels), minlength=len(ds.classes)).tolist()
    if counts != ds.class_counts:
        failures.append(f"class counts {counts}, index.json {ds.class_counts}")
    # Each shard's first, middle and last record, read straight from h5py as docs/shard-format.md does.
    picks = sorted({int(s) + k for s, e in zip(ds.starts[:-1], ds.starts[1:]) if e > s
                    for k in (0, (e - s) // 2, e - s - 1)})
    square = ds.size_policy != "short-side"
    for i in picks:
        s, j = ds.locate(i)
        with h5py.File(ds.paths[s], "r") as f:
            start, end = f["offsets"][j], f["offsets"][j + 1]
            data = f["images"][start:end].tobytes()
            label, shape, crc = int(f["labels"][j]), tuple(int(v) for v in f["shapes"][j]), int(f["crc32"][j])
        got, got_label, got_shape = ds.record(i)
        if got != data or zlib.crc32(got) != crc:
            failures.append(f"record {i}: bytes differ from the shard's or fail its CRC-32")
        if got_label != label or got_shape != shape:
            failures.append(f"record {i}: label/shape {got_label}/{got_shape}, shard {label}/{shape}")
        if ds.storage == "raw":
            rgb = np.frombuffer(data, np.uint8).reshape(shape)
        else:
            rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        if rgb.shape != shape:
            failures.append(f"record {i}: decodes to {rgb.shape}, the shard says {shape}")
            continue
        x, y = ds[i]
        side = ds.image_size
        if y != label or tuple(x.shape) != (3, side, side) or x.dtype != torch.float32:
            failures.append(f"record {i}: item label {y} shape {tuple(x.shape)} {x.dtype}")
            continue
        # The item is the record decoded by PIL with caffe preprocessing: all of it, or (short-side) one window.
        ref = caffe_reference(rgb)
        windows = [ref[:, y0:y0 + side, x0:x0 + side] for y0 in range(shape[0] - side + 1)
                   for x0 in range(shape[1] - side + 1)]
        if not any(np.array_equal(x.numpy(), w) for w in windows):
            failures.append(f"record {i}: pixels are not PIL's decode + caffe{'' if square else ' of any window'}")
    ds.close()  # no h5py handle open in this process when the workers fork
    # Through DataLoader workers: the labels arrive in the sampler's order, the batches have the right shape.
    order = epoch_permutation(n, a.seed, 0)[:256]  # enough for a few batches per worker, and fast
    want = np.array([ds.label(i) for i in order])
    lo, hi = -max(CAFFE_MEAN_BGR), 255 - min(CAFFE_MEAN_BGR)
    for mode, transform in (("decode", decode_transform(ds, a.out_size)),
                            ("keras", keras_transform(ds, a.out_size, a))):
        ds.transform = transform
        batches = list(make_loader(ds, order, a))
        labels = torch.cat([y for _, y in batches]).numpy()
        shapes = {tuple(x.shape[1:]) for x, _ in batches}
        finite = all(bool(torch.isfinite(x).all()) and x.min() >= lo - 1e-3 and x.max() <= hi + 1e-3
                     for x, _ in batches)
        if not np.array_equal(labels, want):
            failures.append(f"{mode}: DataLoader labels differ from the shards' in sampler order")
        if shapes != {(3, a.out_size, a.out_size)} or not finite:
            failures.append(f"{mode}: batch shapes {shapes}, values finite and in the caffe range: {finite}")
    for f in failures:
        print(f"check FAILED: {f}", file=sys.stderr)
    if not failures:
        print(f"check ok: {len(picks)} records of {len(ds.paths)} shard(s) ({ds.storage}, {ds.size_policy}) match "
              f"the shards' bytes, CRC, labels, shapes and PIL pixels + caffe exactly"
              f"{'' if square else ' (a window of each)'}; {len(order)} records through {a.threads} worker(s) "
              f"in sampler order, decode and keras", file=sys.stderr)
    return len(failures)


def parse_bool(text):
    if text.lower() in ("true", "1", "yes", "on"):
        return True
    if text.lower() in ("false", "0", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got '{text}'")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # The spellings of `wisesr bench data`, so scripts pass both the same options.
    ap.add_argument("--data.dir", dest="dir", required=True)
    ap.add_argument("--data.train_split", dest="split", default="train")
    ap.add_argument("--data.image_size", dest="image_size", type=int, default=0, help="0 = the stored size")
    ap.add_argument("--train.batch_size", dest="batch", type=int, default=64)
    ap.add_argument("--train.seed", dest="seed", type=int, default=42)
    ap.add_argument("--threads", "--workers", dest="threads", type=int, default=0,
                    help="DataLoader worker processes; 0 = all cores")
    ap.add_argument("--worker-threads", dest="worker_threads", type=int, default=1, help="torch threads per worker")
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--mode", default="both", choices=["decode", "augment", "both"])
    # The keras recipe's parameters (src/data/data_options.h), with wisesr's defaults (the paper's).
    ap.add_argument("--data.hflip", dest="hflip", type=parse_bool, default=True)
    ap.add_argument("--data.vflip", dest="vflip", type=parse_bool, default=True)
    ap.add_argument("--data.rotation", dest="rotation", type=float, default=360)
    ap.add_argument("--data.shift", dest="shift", type=float, default=0.1)
    ap.add_argument("--data.zoom", dest="zoom", type=float, default=0.2)
    ap.add_argument("--data.channel_shift", dest="channel_shift", type=float, default=50)
    ap.add_argument("--data.brightness_min", dest="brightness_min", type=float, default=0.0)
    ap.add_argument("--data.brightness_max", dest="brightness_max", type=float, default=1.2)
    ap.add_argument("--check", action="store_true", help="check records, labels, shapes and pixels, then exit")
    ap.add_argument("--json", default="")
    a = ap.parse_args()
    a.threads = a.threads if a.threads > 0 else (os.cpu_count() or 1)
    if a.batch < 1 or a.batches < 1 or a.warmup < 0 or a.worker_threads < 1:
        ap.error("--train.batch_size, --batches and --worker-threads must be >= 1, --warmup >= 0")
    torch.manual_seed(a.seed)  # the workers' base seed

    ds = ShardDataset(a.dir, a.split, None)
    if len(ds) == 0:
        ap.error(f"split '{a.split}' of '{a.dir}' is empty")
    a.out_size = a.image_size if a.image_size > 0 else ds.image_size
    if a.check:
        return 1 if check(a) else 0

    order = epoch_permutation(len(ds), a.seed, 0)
    total = (a.warmup + a.batches) * a.batch
    indices = [order[k % len(order)] for k in range(total)]
    rows = []
    if a.mode in ("decode", "both"):
        ds.transform = decode_transform(ds, a.out_size)
        rows.append({"mode": "decode", **time_mode(ds, indices, a)})
    if a.mode in ("augment", "both"):
        ds.transform = keras_transform(ds, a.out_size, a)
        rows.append({"mode": "keras", **time_mode(ds, indices, a)})
    jpeg = f"libjpeg-turbo {features.version('libjpeg_turbo')}" if features.check_feature("libjpeg_turbo") else \
        f"libjpeg {features.version('jpg')}"
    r = {
        "impl": "torchvision-dataloader", "device": "cpu", "storage": ds.storage, "stored_size": ds.image_size,
        "out_size": a.out_size, "threads": a.threads, "workers": a.threads, "worker_threads": a.worker_threads,
        "decode": "none" if ds.storage == "raw" else f"PIL ({jpeg})", "batch": a.batch,
        "augment": "keras" if a.mode != "decode" else "none", "warmup": a.warmup, "batches": a.batches,
        "rows": rows, "torch": torch.__version__, "torchvision": torchvision.__version__, "pillow": PIL.__version__,
        "h5py": h5py.__version__,
    }
    print(f"torchvision DataLoader: {ds.storage} {ds.image_size}px -> {a.out_size}px on cpu, {a.threads} worker "
          f"process(es) x {a.worker_threads} torch thread(s), decode {r['decode']}", file=sys.stderr)
    for row in rows:
        print(f"  {row['mode']:<10}{row['img_per_s']:10.1f} img/s {row['img_per_s_per_core']:9.1f} img/s/core  "
              f"({row['images']} images in {row['seconds']:.2f} s, median batch {row['batch_ms_median']:.1f} ms)",
              file=sys.stderr)
    if len(rows) == 2 and rows[0]["img_per_s"] > 0:
        print(f"  keras / decode = {rows[1]['img_per_s'] / rows[0]['img_per_s']:.2f}", file=sys.stderr)
    text = json.dumps(r, indent=2, sort_keys=True)
    print(text, flush=True)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
