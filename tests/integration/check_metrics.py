#!/usr/bin/env python3
"""Checks that a run directory records each step and epoch once (issue 15, F10): the train records of
metrics.jsonl strictly increasing in step, epochs 1..N each once and complete in metrics.jsonl and
epochs.csv. Used by faults.sh and reliability.sh after runs that were killed and resumed.
Usage: check_metrics.py RUN_DIR EPOCHS WHAT"""
import csv
import json
import sys

run, epochs, what = sys.argv[1], int(sys.argv[2]), sys.argv[3]
recs = [json.loads(line) for line in open(f"{run}/metrics.jsonl")]
steps = [r["step"] for r in recs if r["kind"] == "train"]
assert steps == sorted(set(steps)), f"{what}: train steps repeated or out of order: {steps}"
ep = [(r["epoch"], r["complete"]) for r in recs if r["kind"] == "epoch"]
assert ep == [(e, True) for e in range(1, epochs + 1)], f"{what}: epoch records {ep}"
rows = [int(r["epoch"]) for r in csv.DictReader(open(f"{run}/epochs.csv"))]
assert rows == list(range(1, epochs + 1)), f"{what}: epochs.csv rows {rows}"
print(f"{what}: {len(steps)} step records and {epochs} epochs, each once")
