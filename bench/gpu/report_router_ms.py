"""One line about a run report's router: router_ms per layer (median, max), the layers' prefill_ms sum, SA layers.
Usage: python3 bench/gpu/report_router_ms.py REPORT.json (bench/gpu/session13.sh)."""
import json
import statistics
import sys

layers = json.load(open(sys.argv[1]))["layers"]
ms = [l["router_ms"] for l in layers if l.get("router_ms")]
sa = sum(l["mode"] == "SA" for l in layers)
if not ms:
    print(f"no layer has a router_ms; SA {sa}/{len(layers)}")
else:
    print(f"router_ms per layer: median {statistics.median(ms):.4f}, max {max(ms):.4f} over {len(ms)} layers; "
          f"prefill_ms sum {sum(l['prefill_ms'] for l in layers):.3f}; SA {sa}/{len(layers)}")
