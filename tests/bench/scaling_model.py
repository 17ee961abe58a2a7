"""Scaling model: data-parallel step time on N GPUs from a measured single-GPU step (docs/scaling.md).

usage: scaling_model.py --bench ours.json [--gpus 8,64,512] [--epochs 90] [--images 1281167]
                        [--nvlink-busbw 360] [--ib-busbw 45] [--latency-us 10] [--gpu-hour-usd 3.0]
       scaling_model.py --step-ms S --backward-ms B --batch N --params P [...]

ours.json is what `wisesr bench train --no-sync --json ours.json` writes on one GPU (step_ms,
backward_ms, batch, params). The model, per optimizer step on N GPUs (batch per GPU fixed):
  gradients: params x 4 bytes (fp32), in GradSync's buckets (first 1 MiB, then 25 MiB), in the order
  backward produces them; backward produces gradient bytes at a constant rate over backward_ms.
  bucket i all-reduce: 2(N-1)/N x bytes / busbw + latency, one at a time on the communication stream,
  starting when the bucket is full and the previous one is done; busbw = NVLink's within a node
  (N <= 8), the InfiniBand NICs' beyond (ring/tree over nodes: the slowest link sets the bus bandwidth).
  step(N) = step(1) + exposed, exposed = (end of the last all-reduce) - (end of backward), >= 0.
Prints a Markdown table: step time, exposed communication, scaling efficiency, img/s, and the time and
cost of `--epochs` epochs over `--images` images.
"""
import argparse
import json
import sys

MIB = 1 << 20


def buckets(total_bytes, first=1 * MIB, rest=25 * MIB):
    out, left = [], total_bytes
    size = first
    while left > 0:
        out.append(min(size, left))
        left -= out[-1]
        size = rest
    return out


def exposed_comm_ms(grad_bytes, backward_ms, gpus, busbw_gbs, latency_us):
    """Communication time left after backward ends (ms)."""
    if gpus <= 1:
        return 0.0
    done_ms, produced = 0.0, 0
    for b in buckets(grad_bytes):
        produced += b
        ready_ms = backward_ms * produced / grad_bytes
        cost_ms = 2 * (gpus - 1) / gpus * b / (busbw_gbs * 1e9) * 1e3 + latency_us * 1e-3
        done_ms = max(done_ms, ready_ms) + cost_ms
    return max(0.0, done_ms - backward_ms)


def table(step_ms, backward_ms, batch, params, gpus_list, epochs, images, nvlink, ib, latency_us, usd):
    grad_bytes = params * 4
    rows = ["| GPUs | bus bandwidth (GB/s) | step (ms) | exposed comm (ms) | efficiency | img/s | "
            f"{epochs} epochs (h) | GPU-hours | cost (USD) |",
            "|---|---|---|---|---|---|---|---|---|"]
    for n in gpus_list:
        busbw = nvlink if n <= 8 else ib
        exposed = exposed_comm_ms(grad_bytes, backward_ms, n, busbw, latency_us)
        step = step_ms + exposed
        img_s = n * batch / step * 1e3
        hours = epochs * images / img_s / 3600
        rows.append(f"| {n} | {busbw:g} | {step:.1f} | {exposed:.2f} | {step_ms / step:.1%} | {img_s:,.0f} | "
                    f"{hours:.2f} | {hours * n:,.0f} | {hours * n * usd:,.0f} |")
    return "\n".join(rows)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", help="JSON of `wisesr bench train --no-sync` on one GPU")
    p.add_argument("--step-ms", type=float)
    p.add_argument("--backward-ms", type=float)
    p.add_argument("--batch", type=int)
    p.add_argument("--params", type=int)
    p.add_argument("--gpus", default="1,8,64,512")
    p.add_argument("--epochs", type=int, default=90)
    p.add_argument("--images", type=int, default=1281167)
    p.add_argument("--nvlink-busbw", type=float, default=360.0, help="GB/s, 8 GPUs in a node")
    p.add_argument("--ib-busbw", type=float, default=45.0, help="GB/s, one 400 Gb/s NIC per GPU")
    p.add_argument("--latency-us", type=float, default=10.0, help="per all-reduce")
    p.add_argument("--gpu-hour-usd", type=float, default=3.0)
    a = p.parse_args(argv)
    if a.bench:
        j = json.load(open(a.bench))
        a.step_ms = a.step_ms or j["step_ms"]
        a.backward_ms = a.backward_ms or j.get("backward_ms") or 0.6 * j["step_ms"]
        a.batch = a.batch or j["batch"]
        a.params = a.params or j["params"]
    for name in ("step_ms", "backward_ms", "batch", "params"):
        if getattr(a, name) is None:
            p.error(f"--{name.replace('_', '-')} (or --bench) is required")
    gpus = [int(g) for g in a.gpus.split(",")]
    print(table(a.step_ms, a.backward_ms, a.batch, a.params, gpus, a.epochs, a.images, a.nvlink_busbw,
                a.ib_busbw, a.latency_us, a.gpu_hour_usd))


if __name__ == "__main__":
    main(sys.argv[1:])
