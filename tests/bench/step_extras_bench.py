"""What wisesr's training step computes beyond the plain eager step, timed op group by op group on the
CPU (torch eager from Python: the same ATen kernels wisesr's C++ calls, plus Python's dispatch, so an upper
bound): the per-sample cross entropy and its mean instead of the fused mean, the metric tally
(train/metrics.cpp DeviceTally::add: top-k, hits, masked sums into one float64 accumulator) and the
per-step generator reseed (train_step.cpp seed_randomness). Medians of many repetitions, in microseconds.

usage: step_extras_bench.py [--batch 16] [--classes 1000] [--threads 2] [--reps 2000]
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F


def median_us(fn, reps):
    for _ in range(20):
        fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e6)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--classes", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=2000)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    logits = torch.randn(a.batch, a.classes)
    labels = torch.randint(0, a.classes, (a.batch,))
    sums = torch.zeros(4, dtype=torch.float64)
    per = F.cross_entropy(logits, labels, reduction="none")  # the step's own, reused by the tally

    def fused():
        F.cross_entropy(logits, labels)

    def per_sample():
        F.cross_entropy(logits, labels, reduction="none").mean()

    def tally():
        with torch.no_grad():
            top = logits.topk(min(5, a.classes), 1)[1]
            hit = top.eq(labels.view(-1, 1))
            step = torch.stack([per.double().sum(), hit[:, 0].sum().double(), hit.any(1).sum().double(),
                                torch.full((), float(a.batch), dtype=torch.float64)])
            sums.add_(step)

    def reseed():
        torch.manual_seed(12345)

    f, p, t, r = (median_us(fn, a.reps) for fn in (fused, per_sample, tally, reseed))
    print(f"batch {a.batch} x {a.classes} classes, {a.threads} thread(s), median of {a.reps}:")
    print(f"  cross entropy, fused mean        {f:8.1f} us")
    print(f"  per-sample cross entropy + mean  {p:8.1f} us  (+{p - f:.1f} us)")
    print(f"  metric tally                     {t:8.1f} us")
    print(f"  generator reseed                 {r:8.1f} us")


if __name__ == "__main__":
    main()
