"""results.jsonl (run.sh) -> the markdown table in RESULTS.md."""

import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
print("| video (F x H x W) | dtype | tiles | rayvid s | diffusers s | speed-up | rayvid peak MiB | "
      "diffusers peak MiB | rayvid predicted MiB | predicted / measured |")
print("|---|---|---|---|---|---|---|---|---|---|")
mib = 1 << 20
for r in rows:
    if r["impl"] != "rayvid":
        continue
    d = next((x for x in rows if x["impl"] == "diffusers" and x["latent"] == r["latent"]
              and x["dtype"] == r["dtype"] and x["tile"] == r["tile"]), None)
    f, h, w = r["video"]
    tiles = f"{r['tile']} px, overlap {r['overlap']}" if r["tile"] else "off"
    print(f"| {f} x {h} x {w} | {r['dtype']} | {tiles} | {r['seconds']:.1f} | "
          f"{d['seconds'] if d else float('nan'):.1f} | "
          f"{(d['seconds'] / r['seconds']) if d else float('nan'):.2f}x | {r['measured'] / mib:.0f} | "
          f"{(d['measured'] / mib) if d else float('nan'):.0f} | {r['predicted'] / mib:.0f} | "
          f"{r['predicted'] / r['measured']:.2f} |")
