#!/usr/bin/python3
"""Objective against time: SPORCO's ConvBPDN (from sporco_cbpdn.py) and mlcsc's solvers.

    /usr/bin/python3 benchmarks/compare/plot_objective.py /tmp/sporco_problems/grey_sporco.json \
        [mlcsc_admm.csv ...] --png grey.png

Each CSV file <label>.csv has a header line and the columns seconds,objective (one row per
iteration, cumulative seconds); its curve is named <label>. The JSON's runs chosen by --runs
(default float64 only: SPORCO's float32 ObjFun, evaluated in float32, ends ~5e-6 below the true
objective of its iterate and would set F*) give one curve each, on the clock chosen by --clock:
'time_wo_objfun' (default, SPORCO's timer without its per-iteration statistics) or 'time' (its
IterationStats Time, which includes the statistics of the earlier iterations).

Plotted: (F - F*) / F* on a log scale, F* the lowest objective of all curves less a tiny
relative epsilon (--eps), so that the best point stays on the plot.
"""
import argparse
import json
import os

import numpy as np
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("json", help="<name>_sporco.json written by sporco_cbpdn.py")
parser.add_argument("csv", nargs="*", help="<label>.csv files with columns seconds,objective")
parser.add_argument("--png", required=True, help="output image")
parser.add_argument("--clock", default="time_wo_objfun", choices=("time_wo_objfun", "time"))
parser.add_argument("--eps", type=float, default=1e-10, help="F* = min F * (1 - eps)")
parser.add_argument("--runs", default="float64", help="SPORCO runs to plot: float64,float32")
args = parser.parse_args()

# label -> (seconds, objective)
curves = {}
with open(args.json) as f:
    record = json.load(f)
for dtype, run in record["runs"].items():
    if dtype in args.runs.split(","):
        curves["SPORCO %s" % dtype] = (np.array(run[args.clock]), np.array(run["ObjFun"]))
for path in args.csv:
    data = np.genfromtxt(path, delimiter=",", names=True)
    curves[os.path.splitext(os.path.basename(path))[0]] = (data["seconds"], data["objective"])

fmin = min(obj.min() for _, obj in curves.values())
fstar = fmin - args.eps * abs(fmin)

fig, ax = plt.subplots(figsize=(8, 5))
for label, (sec, obj) in curves.items():
    ax.semilogy(sec, (obj - fstar) / abs(fstar), label=label)
ax.set_xlabel("seconds (one thread)")
ax.set_ylabel("(F - F*) / F*")
ax.set_title("%s, lambda %g, F* = %.10g" %
             (os.path.basename(record["example"]), record["lambda"], fmin))
ax.grid(True, which="both", alpha=0.3)
ax.legend()
fig.tight_layout()
fig.savefig(args.png, dpi=120)
print("F* = %.12g (lowest objective), written %s" % (fmin, args.png))
