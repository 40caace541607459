"""Starts and stops a real `rayvid serve` for the serve tests (tests/serve/test_*.py).

The server listens on a free loopback port (--port 0) and prints its URL on stdout; its log goes
to a file in the test's scratch folder. Every request the tests make goes to 127.0.0.1 only.
"""
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLI = os.environ.get("RAYVID_CLI") or str(REPO / "build" / "src" / "rayvid")
DEMO_MODEL = REPO / "models" / "rayvid-tiny-ti2v"
DEMO_ROUTE = "rayvid/rayvid-tiny-ti2v"


def scratch(name):
    """A fresh folder for one test case."""
    root = Path(os.environ.get("RAYVID_SCRATCH") or tempfile.mkdtemp(prefix="rayvid-serve-"))
    path = root / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def small(**fields):
    """A request body at a size the 2-core CI generates in about a second."""
    body = {"width": 256, "height": 160, "frames": 9, "steps": 2}
    body.update(fields)
    return body


class Server:
    def __init__(self, data_dir, *args, models=(str(DEMO_MODEL),)):
        self.data_dir = Path(data_dir)
        self.args = [CLI, "serve", "--port", "0", "--data-dir", str(self.data_dir)]
        for m in models:
            self.args += ["--model", m]
        self.args += list(args)
        self.proc = None
        self.url = None
        self.log_path = self.data_dir.parent / (self.data_dir.name + ".log")

    def start(self, timeout=60):
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=self.log, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("rayvid serve: "):
            self.proc.kill()
            raise RuntimeError(f"rayvid serve did not start: {line!r}; log: {self.read_log()}")
        self.url = line.split(": ", 1)[1].strip()
        return self

    def read_log(self):
        return self.log_path.read_text() if self.log_path.exists() else ""

    def kill(self):
        """SIGKILL: no handler runs, as in a power cut or the OOM killer."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self.proc.stdout.close()
        self.log.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.proc and not self.log.closed:
            self.proc.stdout.close()
            self.log.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # Plain HTTP (urllib), for what the official client does not do.
    def request(self, method, path, body=None, headers=None, raw=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def json(self, method, path, body=None, headers=None):
        status, _, payload = self.request(method, path, body, headers)
        return status, json.loads(payload)

    def wait_final(self, job_id, timeout=300):
        deadline = time.time() + timeout
        while time.time() < deadline:
            _, reply = self.json("GET", f"/api/v3/predictions/{job_id}/result")
            if reply["data"]["status"] in ("completed", "failed", "cancelled"):
                return reply["data"]
            time.sleep(0.05)
        raise TimeoutError(f"job {job_id} not final after {timeout} s")


def probe(path):
    """ffprobe's view of an MP4: codec, width, height, frame count."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
                          "-show_entries", "stream=codec_name,width,height,nb_read_frames",
                          "-of", "json", str(path)], capture_output=True, text=True, check=True)
    s = json.loads(out.stdout)["streams"][0]
    return s["codec_name"], s["width"], s["height"], int(s["nb_read_frames"])
