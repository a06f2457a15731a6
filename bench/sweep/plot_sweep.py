#!/usr/bin/env python3
"""Plots a `fluxscope-cli sweep --out results.json` file:

  python3 bench/sweep/plot_sweep.py results.json OUT.png

Top row: the needle-in-a-haystack accuracy grid (context tokens x needle depth) per route, side by side.
Bottom row: per route, accuracy and mean SA fraction on needle vs robust tasks (bars).
Needs matplotlib (pip install matplotlib); runs on the dev machine, not in CI.
"""
import argparse
import json
import sys


def load(path):
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"error: cannot read {path}: {e}")
    if not isinstance(doc, dict):
        sys.exit(f"error: {path} is not a sweep result")
    for key in ("routes", "summary", "needle_grid"):
        if key not in doc:
            sys.exit(f"error: {path} is not a sweep result (missing '{key}')")
    return doc


def grid_matrix(doc, route):
    cells = [g for g in doc["needle_grid"] if g["route"] == route]
    contexts = sorted({g["context_tokens"] for g in cells})
    depths = sorted({g["depth"] for g in cells})
    acc = {(g["context_tokens"], g["depth"]): g["accuracy"] for g in cells}
    matrix = [[acc.get((c, d), float("nan")) for d in depths] for c in contexts]
    return contexts, depths, matrix


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results")
    ap.add_argument("out")
    a = ap.parse_args()
    doc = load(a.results)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("error: matplotlib is missing (pip install matplotlib)")

    # random:match's seeds: the first seed's grid and bars stand for the set (the JSON's route_summary has the spread).
    routes = [r for r in doc["routes"] if not r.startswith("random:match#") or r == "random:match#1"]
    n = max(1, len(routes))
    fig = plt.figure(figsize=(3.2 * n + 1.5, 7.5), constrained_layout=True)
    grid = fig.add_gridspec(2, n, height_ratios=[1.2, 1])
    image = None
    for i, route in enumerate(routes):
        ax = fig.add_subplot(grid[0, i])
        contexts, depths, matrix = grid_matrix(doc, route)
        if not contexts:
            ax.text(0.5, 0.5, "no needle tasks", ha="center", va="center")
            ax.set_axis_off()
            continue
        image = ax.imshow(matrix, vmin=0, vmax=1, cmap="RdYlGn", aspect="auto", origin="lower")
        ax.set_xticks(range(len(depths)), [f"{d:.0%}" if d is not None and d >= 0 else "-" for d in depths],
                      rotation=45, fontsize=7)
        ax.set_yticks(range(len(contexts)), [str(c) for c in contexts], fontsize=7)
        ax.set_xlabel("needle depth")
        if i == 0:
            ax.set_ylabel("context tokens")
        ax.set_title(route, fontsize=10)
        for y, row in enumerate(matrix):
            for x, v in enumerate(row):
                if v == v:  # not NaN
                    ax.text(x, y, f"{v:.1f}", ha="center", va="center", fontsize=6)
    if image is not None:
        fig.colorbar(image, ax=fig.axes[:n], shrink=0.8, label="accuracy")

    summary = {(s["kind"], s["route"]): s for s in doc["summary"]}
    kinds = [k for k in ("needle", "robust") if any((k, r) in summary for r in routes)]
    width = 0.8 / max(1, 2 * len(kinds))
    ax = fig.add_subplot(grid[1, :])
    colours = {("needle", "accuracy"): "#2a7ab9", ("needle", "sa_fraction"): "#9cc5e8",
               ("robust", "accuracy"): "#d9822b", ("robust", "sa_fraction"): "#f3c48f"}
    j = 0
    for kind in kinds:
        for metric in ("accuracy", "sa_fraction"):
            xs = [r + (j - (2 * len(kinds) - 1) / 2) * width for r in range(len(routes))]
            ys = [summary.get((kind, r), {}).get(metric, 0.0) for r in routes]
            label = f"{kind}: {'accuracy' if metric == 'accuracy' else 'SA fraction'}"
            ax.bar(xs, ys, width, label=label, color=colours[(kind, metric)])
            j += 1
    ax.set_xticks(range(len(routes)), routes)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("fraction")
    ax.legend(fontsize=8, ncol=2)
    ax.set_title(f"{doc.get('model', '')} on {doc.get('backend', '')}: accuracy and SA fraction per route", fontsize=10)
    fig.savefig(a.out, dpi=130)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
