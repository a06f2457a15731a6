#!/usr/bin/env python3
"""Accuracy and SA fraction per route, broken down by a field of the task file (e.g. the haystack filler style of
tools/router/router_fillers.py, or held_out_template), from a `fluxscope-cli sweep --out` JSON and its tasks JSONL.

  by_field.py sweep.json eval_tasks.jsonl [--field filler] [--routes fa,router,...] > table.md

Cells are "correct/n @ mean SA fraction". The sweep JSON names each task by id; the field is looked up in the
tasks file, so the tasks file must be the one the sweep ran."""
import argparse
import json
from collections import defaultdict


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sweep")
    ap.add_argument("tasks")
    ap.add_argument("--field", default="filler")
    ap.add_argument("--routes", default="", help="comma-separated; default: every route of the sweep")
    a = ap.parse_args()
    sweep = json.load(open(a.sweep))
    tasks = {}
    for line in open(a.tasks):
        if line.strip():
            t = json.loads(line)
            tasks[t["id"]] = t
    routes = [r for r in a.routes.split(",") if r] or sweep["routes"]
    cells = defaultdict(lambda: [0, 0, 0.0])  # (kind, value, route) -> correct, n, sum of SA fractions
    values = defaultdict(set)
    for r in sweep["results"]:
        if r["route"] not in routes:
            continue
        if r["id"] not in tasks:
            raise SystemExit(f"error: task {r['id']} of the sweep is not in {a.tasks}")
        t = tasks[r["id"]]
        v = str(t.get(a.field))
        values[t["kind"]].add(v)
        for key in ((t["kind"], v, r["route"]), (t["kind"], "all", r["route"])):
            c = cells[key]
            c[0] += bool(r["correct"])
            c[1] += 1
            c[2] += r["sa_fraction"]
    print(f"| kind | {a.field} | " + " | ".join(routes) + " |")
    print("|---|---|" + "---:|" * len(routes))
    for kind in sorted(values):
        for v in sorted(values[kind]) + ["all"]:
            row = []
            for route in routes:
                c = cells.get((kind, v, route))
                row.append(f"{c[0]}/{c[1]} @ {c[2] / c[1]:.2f}" if c else "")
            print(f"| {kind} | {v} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
