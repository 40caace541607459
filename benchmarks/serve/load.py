"""Load test of rayvid serve on loopback: rounds of N concurrent clients against a queue of Q.

Each client submits one job (the demo model at 256x160, 9 frames, 2 steps) and, if accepted,
polls until it is final. Checked: every accepted job completes exactly once (one MP4 per job
in the outputs folder), every refused submission got 429 with Retry-After, nothing else; and the
server's resident memory is sampled through the run (flat across rounds = no leak per job).
Bounded: --rounds x --clients requests, and --timeout seconds in all. Loopback only.

  .venv/bin/python benchmarks/serve/load.py [--clients 40] [--queue 8] [--rounds 3]
"""
import argparse
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "serve"))
from serve_harness import DEMO_ROUTE, Server, scratch, small  # noqa: E402


def rss_mib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def call(url, method="GET", body=None):
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body else None,
                                 method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, dict(r.headers), json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read() or b"{}")


def client(server_url, i, results, deadline):
    t0 = time.time()
    status, headers, reply = call(f"{server_url}/api/v3/{DEMO_ROUTE}/text-to-video", "POST",
                                  small(prompt=f"load test client {i}", seed=i))
    if status == 429:
        results.append({"status": 429, "retry_after": headers.get("Retry-After")})
        return
    if status != 200:
        results.append({"status": status, "error": reply})
        return
    job = reply["data"]["id"]
    while time.time() < deadline:
        s, _, r = call(f"{server_url}/api/v3/predictions/{job}/result")
        if s != 200:
            results.append({"status": s, "id": job, "error": r})
            return
        if r["data"]["status"] in ("completed", "failed", "cancelled"):
            results.append({"status": 200, "id": job, "final": r["data"]["status"],
                            "seconds": time.time() - t0})
            return
        time.sleep(0.1)
    results.append({"status": 200, "id": job, "final": "timeout"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=40)
    ap.add_argument("--queue", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    data = scratch("load") / "data"
    deadline = time.time() + args.timeout
    rounds, samples = [], []
    with Server(data, "--queue-size", str(args.queue)) as server:
        pid = server.proc.pid
        # Warm-up: the first job loads the weights; memory is measured from here on.
        call(f"{server.url}/api/v3/{DEMO_ROUTE}/text-to-video", "POST",
             dict(small(prompt="warm-up"), enable_sync_mode=True))
        baseline = rss_mib(pid)
        stop = threading.Event()

        def sampler():
            while not stop.is_set():
                samples.append((time.time(), rss_mib(pid)))
                time.sleep(0.2)

        threading.Thread(target=sampler, daemon=True).start()
        for r in range(args.rounds):
            results, threads = [], []
            t0 = time.time()
            for i in range(args.clients):
                t = threading.Thread(target=client, args=(server.url, r * 1000 + i, results, deadline))
                t.start()
                threads.append(t)
            for t in threads:
                t.join()
            accepted = [x for x in results if x["status"] == 200]
            rounds.append({
                "round": r + 1,
                "wall_seconds": round(time.time() - t0, 1),
                "accepted": len(accepted),
                "completed": sum(1 for x in accepted if x.get("final") == "completed"),
                "refused_429": sum(1 for x in results if x["status"] == 429),
                "other_responses": [x for x in results if x["status"] not in (200, 429)],
                "retry_after_present": all(x.get("retry_after") for x in results if x["status"] == 429),
                "rss_mib_end": round(rss_mib(pid), 1),
                "ids": [x["id"] for x in accepted],
            })
        stop.set()
    ids = [i for r in rounds for i in r["ids"]]
    mp4s = sorted(p.stem for p in (data / "outputs").glob("*.mp4"))
    report = {
        "clients": args.clients, "queue": args.queue, "rounds": args.rounds,
        "per_round": [{k: v for k, v in r.items() if k != "ids"} for r in rounds],
        "accepted_unique": len(set(ids)) == len(ids),
        # One MP4 per accepted job (+ the warm-up), none twice.
        "one_output_per_job": set(ids) <= set(mp4s) and len(mp4s) == len(ids) + 1,
        "rss_mib_after_warmup": round(baseline, 1),
        "rss_mib_max": round(max(s for _, s in samples), 1) if samples else None,
        "cores": os.cpu_count(),
    }
    print(json.dumps(report, indent=2))
    ok = all(r["completed"] == r["accepted"] and not r["other_responses"] and r["retry_after_present"]
             for r in rounds) and report["accepted_unique"] and report["one_output_per_job"]
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
