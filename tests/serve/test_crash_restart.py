"""No job lost: rayvid serve killed with SIGKILL in the middle of a job, three times, and started
again on the same data folder. Every accepted job ends completed or cleanly failed, none runs to
two outputs, a job finished before a kill is not run again, and no partial file is ever served."""
import hashlib
import sys
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_harness import DEMO_ROUTE, Server, probe, scratch, small  # noqa: E402

# About 3 s a job on 2 cores: long enough to be killed mid-denoise.
SLOW = dict(width=256, height=160, frames=17, steps=40)


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class CrashRestart(unittest.TestCase):
    def setUp(self):
        self.data = scratch("crash") / "data"
        self.outputs = self.data / "outputs"

    def kill_during(self, server, job_id, attempt):
        """Waits until job_id's `attempt`-th run is past step 1 of denoising, then SIGKILLs."""
        deadline = time.time() + 120
        while time.time() < deadline:
            _, reply = server.json("GET", f"/api/v3/predictions/{job_id}/result")
            d = reply["data"]
            if d["status"] == "processing" and d["attempts"] == attempt and \
                    d["progress"].get("stage") == "denoise" and d["progress"].get("step", 0) >= 2:
                # Mid-job: the result has no output and the output URL is not served.
                self.assertEqual(d["outputs"], [])
                self.assertEqual(server.request("GET", f"/outputs/{job_id}.mp4")[0], 404)
                server.kill()
                return
            self.assertNotIn(d["status"], ("completed", "failed", "cancelled"), d)
            time.sleep(0.01)
        self.fail(f"job {job_id} never reached step 2 of attempt {attempt}")

    def test_sigkill_mid_job_loses_nothing_and_runs_nothing_twice(self):
        server = Server(self.data).start()
        ids = []
        for i in range(5):
            status, reply = server.json("POST", f"/api/v3/{DEMO_ROUTE}/text-to-video",
                                        small(prompt=f"job {i}", seed=i, **SLOW))
            self.assertEqual(status, 200, reply)
            ids.append(reply["data"]["id"])
        a, b, c, d, e = ids
        self.assertEqual(server.wait_final(a)["status"], "completed")
        a_hash = sha(self.outputs / f"{a}.mp4")
        a_mtime = (self.outputs / f"{a}.mp4").stat().st_mtime_ns

        self.kill_during(server, b, attempt=1)  # kill 1: b's first run
        # What a kill leaves: a's files, perhaps b's temporaries, never a file named for b.
        names = {p.name for p in self.outputs.iterdir()}
        self.assertEqual({n for n in names if not n.startswith(".")}, {f"{a}.mp4", f"{a}.json"})

        server = Server(self.data).start()     # b runs again from the start and completes
        self.assertEqual(server.wait_final(b)["status"], "completed")
        self.kill_during(server, c, attempt=1)  # kill 2: c's first run
        server = Server(self.data).start()
        self.kill_during(server, c, attempt=2)  # kill 3: c's second run
        server = Server(self.data).start()      # c is failed, d and e complete
        try:
            final = {j: server.wait_final(j) for j in ids}
            self.assertEqual([final[j]["status"] for j in ids],
                             ["completed", "completed", "failed", "completed", "completed"])
            self.assertIn("interrupted by 2 server stops", final[c]["error"])
            self.assertEqual([final[j]["attempts"] for j in ids], [1, 2, 2, 1, 1])
            # One MP4 and one sidecar per completed job, nothing else (temporaries removed).
            done = [a, b, d, e]
            self.assertEqual(sorted(p.name for p in self.outputs.iterdir()),
                             sorted([f"{j}.mp4" for j in done] + [f"{j}.json" for j in done]))
            for j in done:
                self.assertEqual(probe(self.outputs / f"{j}.mp4"), ("h264", 256, 160, 17))
                self.assertEqual(server.request("GET", f"/outputs/{j}.mp4")[0], 200)
            # a finished before the first kill and was not run again.
            self.assertEqual(sha(self.outputs / f"{a}.mp4"), a_hash)
            self.assertEqual((self.outputs / f"{a}.mp4").stat().st_mtime_ns, a_mtime)
            self.assertEqual(server.request("GET", f"/outputs/{c}.mp4")[0], 404)
            # The history still has every job, newest first.
            _, reply = server.json("GET", "/api/v3/predictions?limit=10")
            self.assertEqual([p["id"] for p in reply["data"]["items"]], ids[::-1])
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
