#!/usr/bin/env python3
"""Markdown tables from a `fluxscope-cli sweep --out` JSON (the same tables the CLI prints), for a run whose printed
output was lost (e.g. a device call that returned only the JSON).  Usage: sweep_md.py sweep.json > sweep.md"""
import json
import sys
from collections import defaultdict


def fmt_margin(m):
    if "std" in m:
        return (f"{m['margin']:+.2f} ± {m['std']:.2f} (std over {m['n_seeds']} seeds; "
                f"min {m['min']:+.2f}, max {m['max']:+.2f})")
    return f"{m['margin']:+.2f} ± {m['paired_se']:.2f} (paired s.e. over {m['tasks']} tasks)"


def main(path):
    d = json.load(open(path))
    print(f"model {d['model']}, router {d['router']}, backend {d['backend']} {d['device']}, "
          f"{d['n_predict']} new tokens, tasks {d['tasks_file']}\n")
    print("| kind | route | n | accuracy | SA fraction | prefill ms | decode ms/token |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for s in sorted(d["summary"], key=lambda s: (s["kind"], s["route"])):
        print(f"| {s['kind']} | {s['route']} | {s['n']} | {s['accuracy']:.2f} | {s['sa_fraction']:.2f} | "
              f"{s['prefill_ms']:.1f} | {s['decode_ms_per_token']:.2f} |")
    print("\n| route | SA fraction | needle accuracy | robust accuracy |\n|---|---:|---:|---:|")
    for r in d["route_summary"]:
        cells = []
        for kind in ("needle", "robust"):
            acc = r["accuracy"].get(kind)
            sp = r.get("spread", {}).get(kind)
            cells.append("" if acc is None else f"{acc:.2f}" if not sp else
                         f"{acc:.2f} ± {sp['std']:.2f} ({sp['min']:.2f}–{sp['max']:.2f})")
        name = r["route"] + (f" ({len(r['members'])} seeds)" if len(r["members"]) > 1 else "")
        print(f"| {name} | {r['sa_fraction']:.3f} | {cells[0]} | {cells[1]} |")
    print()
    for m in d["margins"]:
        print(f"router − {m['baseline']} ({m['kind']} accuracy): {fmt_margin(m)}")
    grids = defaultdict(dict)
    for c in d["needle_grid"]:
        grids[c["route"]][(c["context_tokens"], c["depth"])] = c["accuracy"]
    for route, cells in grids.items():
        contexts = sorted({k[0] for k in cells})
        depths = sorted({k[1] for k in cells})
        print(f"\nneedle accuracy, route {route} (rows: context tokens, columns: depth)\n")
        print("| context | " + " | ".join(f"{x:g}" for x in depths) + " |")
        print("|---:|" + "---:|" * len(depths))
        for n in contexts:
            print(f"| {n} | " + " | ".join(f"{cells[(n, x)]:.2f}" if (n, x) in cells else "" for x in depths) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
