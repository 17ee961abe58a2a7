"""Training curves and a comparison table of wisesr run directories (what `wisesr report` runs).

usage: wisesr_report.py RUN_DIR... --out DIR [--wisesr BIN]
A RUN_DIR is a `wisesr train` run directory (config.ini, epochs.csv, summary.json) or a `wisesr sweep`
directory (results.csv; all of its run directories are then included). Writes to DIR:
  top1.png, top5.png, loss.png   train (left) and validation (right) against epoch, one line per run
  lr.png                         learning rate against epoch
  confusion-N.png                run N's confusion matrix, for runs with a confusion.csv
                                 (`wisesr eval --confusion RUN_DIR/confusion.csv`)
  report.csv                     one line per run: best and final validation top-1/top-5, params, GFLOPs,
                                 img/s, epochs, wall time
  report.md                      the same as a table, with the figures
GFLOPs come from `BIN params` (--wisesr) when the run's dataset (index.json) can be found, else "n/a".
Errors (a missing directory, one that is not a run, matplotlib missing) are one line and exit status 1.
"""
import configparser
import csv
import json
import math
import os
import re
import subprocess
import sys

PROG = "wisesr report"


class ReportError(Exception):
    pass


def is_run(path):
    return os.path.isfile(os.path.join(path, "config.ini")) and (
        os.path.isfile(os.path.join(path, "epochs.csv")) or os.path.isfile(os.path.join(path, "summary.json")))


def expand(paths):
    """The run directories named, a sweep directory standing for its runs (in name order)."""
    runs = []
    for p in paths:
        if not os.path.exists(p):
            raise ReportError(f"'{p}' does not exist")
        if not os.path.isdir(p):
            raise ReportError(f"'{p}' is not a directory (expected a run or sweep directory)")
        if is_run(p):
            runs.append(p)
        elif os.path.isfile(os.path.join(p, "results.csv")):
            rows = sorted(os.path.join(p, d) for d in os.listdir(p) if is_run(os.path.join(p, d)))
            if not rows:
                raise ReportError(f"sweep directory '{p}' holds no run directory yet")
            runs.extend(rows)
        else:
            raise ReportError(f"'{p}' is not a run directory (no config.ini with epochs.csv or summary.json) "
                              "nor a sweep directory (no results.csv)")
    seen, unique = set(), []
    for r in runs:
        key = os.path.realpath(r)
        if key not in seen:
            seen.add(key)
            unique.append(r)
    return unique


def number(text):
    try:
        v = float(text)
        return v if math.isfinite(v) else None
    except (TypeError, ValueError):
        return None


def read_epochs(path):
    """epochs.csv rows by epoch (the last row of an epoch wins: a resumed run may repeat one)."""
    file = os.path.join(path, "epochs.csv")
    if not os.path.isfile(file):
        return []
    by_epoch = {}
    with open(file, newline="") as f:
        for row in csv.DictReader(f):
            epoch = number(row.get("epoch"))
            if epoch is not None:
                by_epoch[int(epoch)] = {k: number(v) for k, v in row.items()}
    return [by_epoch[e] for e in sorted(by_epoch)]


def find_dataset(data_dir, run_dir):
    """index.json of the run's dataset: data.dir as given, or relative to the run directory's ancestors."""
    if not data_dir:
        return None
    candidates = [data_dir] if os.path.isabs(data_dir) else [data_dir] + [
        os.path.join(os.path.abspath(run_dir), *[".."] * up, data_dir) for up in range(1, 5)]
    for c in candidates:
        index = os.path.join(c, "index.json")
        if os.path.isfile(index):
            try:
                with open(index) as f:
                    return json.load(f)
            except (OSError, ValueError):
                return None
    return None


def gflops(wisesr, run):
    if not wisesr or not run["classes"] or not run["image_size"]:
        return None
    cmd = [wisesr, "params", "--model.backbone", run["backbone"], "--model.head", run["head"], "--classes",
           str(run["classes"]), "--data.image_size", str(run["image_size"])]
    if run["pool"]:
        cmd += ["--model.pool", str(run["pool"])]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"^GFLOPs / image\s+([0-9.eE+-]+)", out, re.M)
    return float(m.group(1)) if m else None


def load_run(path, wisesr):
    ini = configparser.ConfigParser(interpolation=None)
    try:
        ini.read(os.path.join(path, "config.ini"))
    except configparser.Error as e:
        raise ReportError(f"'{path}/config.ini' is not an INI file: {str(e).splitlines()[0]}")
    get = lambda s, k, d="": ini.get(s, k, fallback=d)  # noqa: E731
    summary = {}
    if os.path.isfile(os.path.join(path, "summary.json")):
        try:
            with open(os.path.join(path, "summary.json")) as f:
                summary = json.load(f)
        except ValueError as e:
            raise ReportError(f"'{path}/summary.json' is not valid JSON ({e})")
    epochs = read_epochs(path)
    dataset = find_dataset(get("data", "dir"), path)
    image_size = int(number(get("data", "image_size", "0")) or 0) or (dataset or {}).get("image_size", 0)
    val1 = [e["val_top1"] for e in epochs if e.get("val_top1") is not None]
    val5 = [e["val_top5"] for e in epochs if e.get("val_top5") is not None]
    speeds = [e["img_per_s"] for e in epochs if e.get("img_per_s")]
    run = {
        "dir": path,
        "name": os.path.basename(os.path.normpath(path)),
        "backbone": summary.get("backbone") or get("model", "backbone"),
        "head": summary.get("head") or get("model", "head"),
        "pool": int(number(get("model", "pool", "0")) or 0),
        "image_size": image_size,
        "classes": len(dataset["classes"]) if dataset and "classes" in dataset else None,
        "status": summary.get("status", "running" if epochs else "no epochs"),
        "epochs": len([e for e in epochs if e.get("complete", 1)]),
        "best_val_top1": summary.get("best_val_top1", max(val1) if val1 else None),
        "best_val_top5": max(val5) if val5 else None,
        "final_val_top1": (summary.get("val") or {}).get("top1", val1[-1] if val1 else None),
        "final_val_top5": (summary.get("val") or {}).get("top5", val5[-1] if val5 else None),
        "params": summary.get("params"),
        "img_per_s": sum(speeds) / len(speeds) if speeds else None,
        "train_seconds": summary.get("train_seconds", sum(e.get("seconds") or 0 for e in epochs) or None),
        "curves": epochs,
    }
    run["gflops"] = gflops(wisesr, run)
    return run


def label_runs(runs):
    """backbone + head, with the run's name (or its path) where that alone is ambiguous."""
    base = [f"{r['backbone']} + {r['head']}" for r in runs]
    for i, r in enumerate(runs):
        r["label"] = base[i]
        if base.count(base[i]) > 1:
            names = [runs[j]["name"] for j in range(len(runs)) if base[j] == base[i]]
            r["label"] += f" ({r['name'] if names.count(r['name']) == 1 else r['dir']})"


def plot(runs, out, plt):
    from matplotlib.ticker import MaxNLocator

    files = []
    for metric, title in (("top1", "top-1 accuracy"), ("top5", "top-5 accuracy"), ("loss", "loss")):
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharex=True)
        for ax, split in zip(axes, ("train", "val")):
            for r in runs:
                pts = [(e["epoch"], e.get(f"{split}_{metric}")) for e in r["curves"]
                       if e.get(f"{split}_{metric}") is not None]
                if pts:
                    ax.plot(*zip(*pts), marker="o", markersize=3, label=r["label"])
            ax.set_title(f"{'training' if split == 'train' else 'validation'} {title}")
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(alpha=0.3)
        axes[1].legend(fontsize="small")
        fig.tight_layout()
        files.append(f"{metric}.png")
        fig.savefig(os.path.join(out, files[-1]), dpi=100)
        plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for r in runs:
        pts = [(e["epoch"], e["lr"]) for e in r["curves"] if e.get("lr") is not None]
        if pts:
            ax.plot(*zip(*pts), marker="o", markersize=3, label=r["label"])
    ax.set_title("learning rate")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    files.append("lr.png")
    fig.savefig(os.path.join(out, files[-1]), dpi=100)
    plt.close(fig)
    return files


COLUMNS = ["run", "backbone", "head", "image_size", "status", "epochs", "best_val_top1", "best_val_top5",
           "final_val_top1", "final_val_top5", "params", "gflops", "img_per_s", "train_seconds", "dir"]


def read_confusion(run_dir):
    """The run's confusion.csv (`wisesr eval --confusion RUN_DIR/confusion.csv`): class names, counts."""
    path = os.path.join(run_dir, "confusion.csv")
    if not os.path.isfile(path):
        return None
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    try:
        names = rows[0][1:]
        counts = [[int(x) for x in row[1:]] for row in rows[1:]]
    except (IndexError, ValueError):
        raise ReportError(f"'{path}' is not a confusion matrix written by 'wisesr eval --confusion'")
    if len(counts) != len(names) or any(len(r) != len(names) for r in counts):
        raise ReportError(f"'{path}' is not square ({len(counts)} rows, {len(names)} classes)")
    return names, counts


def plot_confusions(runs, out, plt):
    """One PNG per run that has a confusion.csv: rows = true class, normalised per row (recall), counts shown
    in the cells up to 30 classes."""
    files = []
    for i, r in enumerate(runs):
        m = read_confusion(r["dir"])
        if m is None:
            continue
        names, counts = m
        k = len(names)
        share = [[c / max(1, sum(row)) for c in row] for row in counts]
        side = min(16, 2.5 + 0.35 * k)
        fig, ax = plt.subplots(figsize=(side + 1.2, side))
        im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        ax.set_title(f"confusion: {r['label']}", fontsize="small")
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        if k <= 30:
            ax.set_xticks(range(k), names, rotation=90, fontsize="x-small")
            ax.set_yticks(range(k), names, fontsize="x-small")
            for y in range(k):
                for x in range(k):
                    if counts[y][x]:
                        ax.text(x, y, counts[y][x], ha="center", va="center", fontsize="x-small",
                                color="white" if share[y][x] > 0.5 else "black")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
        fig.tight_layout()
        files.append(f"confusion-{i + 1}.png")
        fig.savefig(os.path.join(out, files[-1]), dpi=100)
        plt.close(fig)
    return files


def fmt(v, spec):
    return "n/a" if v is None else format(v, spec)


def write_tables(runs, figures, out):
    def cell(r, c):
        return r["label"] if c == "run" else r[c]

    with open(os.path.join(out, "report.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for r in runs:
            w.writerow(["" if cell(r, c) is None else cell(r, c) for c in COLUMNS])
    lines = ["# wisesr report", "", f"{len(runs)} run(s). Accuracies on the validation split; best = the best "
             "epoch, final = the last one; img/s = mean training throughput per epoch.", "",
             "| run | image | status | epochs | best top-1 | best top-5 | final top-1 | final top-5 | params | "
             "GFLOPs | img/s | wall time (s) | directory |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        lines.append(
            f"| {r['label']} | {r['image_size'] or 'n/a'} | {r['status']} | {r['epochs']} | "
            f"{fmt(r['best_val_top1'], '.4f')} | {fmt(r['best_val_top5'], '.4f')} | "
            f"{fmt(r['final_val_top1'], '.4f')} | {fmt(r['final_val_top5'], '.4f')} | "
            f"{fmt(r['params'], ',')} | {fmt(r['gflops'], '.3f')} | {fmt(r['img_per_s'], '.1f')} | "
            f"{fmt(r['train_seconds'], '.1f')} | `{r['dir']}` |")
    lines.append("")
    for name in figures:
        lines += [f"![{name[:-4]}]({name})", ""]
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(lines))


def parse_args(argv):
    dirs, out, wisesr = [], None, None
    it = iter(argv)
    for a in it:
        if a in ("-h", "--help"):
            print(__doc__.strip())
            sys.exit(0)
        if a in ("--out", "--wisesr"):
            v = next(it, None)
            if v is None:
                raise ReportError(f"{a} needs a value")
            out, wisesr = (v, wisesr) if a == "--out" else (out, v)
        elif a.startswith("--"):
            raise ReportError(f"unknown option '{a}'")
        else:
            dirs.append(a)
    if not dirs:
        raise ReportError("no run directory given (usage: wisesr report RUN_DIR... --out DIR)")
    if not out:
        raise ReportError("--out DIR is required")
    return dirs, out, wisesr


def main(argv):
    dirs, out, wisesr = parse_args(argv)
    runs = expand(dirs)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ReportError(f"matplotlib is not installed for {sys.executable} (./launch/setup.sh installs it, "
                          "or pass --python)")
    loaded = [load_run(r, wisesr) for r in runs]
    label_runs(loaded)
    os.makedirs(out, exist_ok=True)
    figures = plot(loaded, out, plt) + plot_confusions(loaded, out, plt)
    write_tables(loaded, figures, out)
    print(f"report of {len(loaded)} run(s): {os.path.join(out, 'report.md')}, report.csv, "
          f"{', '.join(figures)}")


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except ReportError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        sys.exit(1)
    except OSError as e:
        print(f"{PROG}: error: {e.strerror or e}: '{e.filename}'", file=sys.stderr)
        sys.exit(1)
