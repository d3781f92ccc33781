#!/usr/bin/env python3
"""Writes golden.json: products of small matrices computed exactly in Python.

The inputs are multiples of 1/1024 below 1 in magnitude, so every product and
every partial sum here is exact in float64 (and the inputs exact in float32);
gemm's TestGolden rebuilds the same inputs and compares its float32 results
with these values. Run: python3 golden.py > golden.json
"""
import json


def values(count, seed):
    return [(((i + seed) * 7919) % 2001 - 1000) / 1024 for i in range(count)]


def product(op, m, n, k, seed):
    if op == "NT":   # a [m,k], b [n,k]
        a, b = values(m * k, seed), values(n * k, seed + 1)
        A = lambda i, p: a[i * k + p]
        B = lambda p, j: b[j * k + p]
    elif op == "NN":  # a [m,k], b [k,n]
        a, b = values(m * k, seed), values(k * n, seed + 1)
        A = lambda i, p: a[i * k + p]
        B = lambda p, j: b[p * n + j]
    else:             # TN: a [k,m], b [k,n]
        a, b = values(k * m, seed), values(k * n, seed + 1)
        A = lambda i, p: a[p * m + i]
        B = lambda p, j: b[p * n + j]
    return [sum(A(i, p) * B(p, j) for p in range(k)) for i in range(m) for j in range(n)]


cases = []
for op in ("NT", "NN", "TN"):
    for m, n, k in ((1, 7, 9), (3, 5, 7), (17, 9, 20), (7, 19, 300), (13, 18, 31)):
        seed = len(cases) * 13
        cases.append({"op": op, "m": m, "n": n, "k": k, "seed": seed,
                      "out": product(op, m, n, k, seed)})
print("[\n" + ",\n".join(json.dumps(c) for c in cases) + "\n]")
