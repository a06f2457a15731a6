#!/usr/bin/env python3
"""Compares golden data regenerated into a scratch folder with the committed tests/data: every model.safetensors
byte for byte, every golden.json value for value (float values within 1e-5 relative; version fields ignored).
Usage: python3 tools/golden/check_regenerated.py SCRATCH [tests/data]  (exit 1 on any difference)."""
import json
import sys
from pathlib import Path

IGNORED = {"transformers", "torch", "gguf", "transformers_version"}  # who wrote it, not what


def same(a, b, where):
    if isinstance(a, dict) and isinstance(b, dict):
        keys = (set(a) | set(b)) - IGNORED
        return all(same(a.get(k), b.get(k), f"{where}.{k}") for k in sorted(keys))
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            print(f"{where}: length {len(a)} vs {len(b)}")
            return False
        return all(same(x, y, f"{where}[{i}]") for i, (x, y) in enumerate(zip(a, b)))
    if isinstance(a, float) or isinstance(b, float):
        ok = isinstance(a, (int, float)) and isinstance(b, (int, float)) and abs(a - b) <= 1e-5 * max(1.0, abs(b))
    else:
        ok = a == b
    if not ok:
        print(f"{where}: {a!r} vs {b!r}")
    return ok


def main():
    scratch, committed = Path(sys.argv[1]), Path(sys.argv[2] if len(sys.argv) > 2 else "tests/data")
    checked, bad = 0, 0
    for new in sorted(scratch.rglob("*")):
        if new.suffix not in (".json", ".safetensors") or new.name == "generation_config.json":
            continue
        old = committed / new.relative_to(scratch)
        if not old.exists():
            print(f"{old}: not committed")
            bad += 1
            continue
        ok = (new.read_bytes() == old.read_bytes() if new.suffix == ".safetensors"
              else same(json.loads(new.read_text()), json.loads(old.read_text()), str(old)))
        checked += 1
        bad += not ok
    print(f"checked {checked} files, {bad} differ")
    sys.exit(1 if bad or not checked else 0)


if __name__ == "__main__":
    main()
