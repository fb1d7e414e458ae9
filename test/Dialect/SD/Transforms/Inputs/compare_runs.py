"""Two sd-sim runs of one network: the same outputs, bit for bit, and the
second moving exactly SAVED fewer DRAM bytes (a cascade's store and load).

Usage: compare_runs.py OUT1.npy REPORT1.json OUT2.npy REPORT2.json SAVED
"""
import json
import sys

import numpy as np

out1, rep1, out2, rep2, saved = sys.argv[1:6]
a, b = np.load(out1), np.load(out2)
assert a.shape == b.shape and np.array_equal(a, b), "outputs differ"
assert len(np.unique(a)) > 10, "outputs too uniform to compare"


def dram(path):
    t = json.load(open(path))["traffic_bytes"]["dram"]
    return t["read"] + t["write"]


d1, d2 = dram(rep1), dram(rep2)
assert d1 - d2 == int(saved), f"DRAM bytes {d1} -> {d2}, expected {saved} fewer"
print(f"identical outputs; DRAM bytes {d1} -> {d2}")
