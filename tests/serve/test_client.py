"""rayvid serve through the hosted API's official Python client (wavespeed, from PyPI), unchanged:
only base_url differs. Text-to-video, upload + image-to-video, a data: URI, sync mode,
run_no_throw on a job that fails, plus what the client does not cover: field errors, 429, cancel,
the API key, and the README's curl example."""
import base64
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import unittest
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image
import wavespeed

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_harness import DEMO_MODEL, DEMO_ROUTE, REPO, Server, probe, scratch, small  # noqa: E402

FIXTURES = Path(os.environ.get("RAYVID_FIXTURES") or REPO / "tests" / "fixtures" / "generated")
VACE_MODEL = FIXTURES / "golden_extra" / "vace" / "model"  # scripts/reference/extra_vace.py
T2V = DEMO_ROUTE + "/text-to-video"
I2V = DEMO_ROUTE + "/image-to-video"


def download(url, path):
    with urllib.request.urlopen(url, timeout=60) as r:
        Path(path).write_bytes(r.read())
    return path


def source_image(path, size=(320, 200)):
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def nan_model(folder):
    """The demo model with every transformer weight NaN: it loads, plans and then fails at step 1."""
    shutil.copytree(DEMO_MODEL, folder)
    f = folder / "transformer" / "diffusion_pytorch_model.safetensors"
    data = bytearray(f.read_bytes())
    header_len = struct.unpack("<Q", data[:8])[0]
    data[8 + header_len:] = b"\xff" * (len(data) - 8 - header_len)  # 0xffffffff is a NaN
    f.write_bytes(bytes(data))
    return folder


def demo_lora(path, rank=4):
    """A diffusers/PEFT LoRA on the demo model's first self-attention query."""
    from safetensors.numpy import save_file
    rng = np.random.default_rng(11)
    save_file({"transformer.blocks.0.attn1.to_q.lora_A.weight": rng.standard_normal((rank, 64), dtype=np.float32),
               "transformer.blocks.0.attn1.to_q.lora_B.weight": rng.standard_normal((64, rank), dtype=np.float32)},
              str(path))
    return path


class OfficialClient(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = scratch("client")
        (cls.dir / "loras").mkdir()
        demo_lora(cls.dir / "loras" / "tiny-style.safetensors")
        cls.server = Server(cls.dir / "data", "--lora-dir", str(cls.dir / "loras"), "--max-body-mb", "1",
                            models=(str(DEMO_MODEL), "broken=" + str(nan_model(cls.dir / "broken")),
                                    "vace=" + str(VACE_MODEL))).start()
        cls.client = wavespeed.Client(api_key="any-key-on-loopback", base_url=cls.server.url,
                                      max_retries=0)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_models_lists_both_routes_of_each_model(self):
        status, reply = self.server.json("GET", "/api/v3/models")
        self.assertEqual(status, 200)
        ids = sorted(m["model_id"] for m in reply["data"])
        self.assertEqual(ids, sorted([T2V, I2V, "rayvid/broken/text-to-video",
                                      "rayvid/broken/image-to-video",
                                      "rayvid/vace/text-to-video", "rayvid/vace/image-to-video",
                                      "luma/ray-3.2/text-to-video", "luma/ray-3.2/image-to-video"]))
        aliases = {m["model_id"]: m["alias_of"] for m in reply["data"] if "alias_of" in m}
        self.assertEqual(aliases, {"luma/ray-3.2/text-to-video": T2V, "luma/ray-3.2/image-to-video": I2V})

    def test_the_hosted_model_id_runs_on_the_first_model(self):
        out = self.client.run("luma/ray-3.2/text-to-video",
                              small(prompt="hosted id", size="16:9", resolution="540p", duration="5s"))
        self.assertEqual(probe(download(out["outputs"][0], self.dir / "hosted.mp4"))[1:], (256, 160, 9))

    def test_text_to_video(self):
        out = self.client.run(T2V, small(prompt="a red fox runs through snow", seed=5))
        self.assertEqual(len(out["outputs"]), 1)
        mp4 = download(out["outputs"][0], self.dir / "t2v.mp4")
        self.assertEqual(probe(mp4), ("h264", 256, 160, 9))
        sidecar = json.loads(urllib.request.urlopen(out["outputs"][0][:-4] + ".json").read())
        self.assertEqual((sidecar["prompt"], sidecar["seed"], sidecar["steps"]),
                         ("a red fox runs through snow", 5, 2))

    def test_upload_then_image_to_video(self):
        url = self.client.upload(str(source_image(self.dir / "source.png")))
        self.assertTrue(url.startswith(self.server.url + "/media/"), url)
        self.assertEqual(urllib.request.urlopen(url).read(), (self.dir / "source.png").read_bytes())
        out = self.client.run(I2V, small(prompt="the noise settles", image=url, seed=1))
        self.assertEqual(probe(download(out["outputs"][0], self.dir / "i2v.mp4"))[1:], (256, 160, 9))

    def test_data_uri_image_in_sync_mode(self):
        png = source_image(self.dir / "inline.png", (64, 40)).read_bytes()
        uri = "data:image/png;base64," + base64.b64encode(png).decode()
        out = self.client.run(I2V, small(prompt="inline", image=uri), enable_sync_mode=True)
        self.assertEqual(probe(download(out["outputs"][0], self.dir / "sync.mp4"))[1:], (256, 160, 9))

    def test_run_no_throw_on_a_job_that_fails(self):
        r = self.client.run_no_throw("rayvid/broken/text-to-video", small(prompt="nan weights"))
        self.assertEqual(r["status"], "failed")
        self.assertIsNone(r["outputs"])
        self.assertRegex(r["task_id"], "^[0-9a-f]{32}$")
        self.assertIn("NaN", r["error"])
        _, reply = self.server.json("GET", f"/api/v3/predictions/{r['task_id']}/result")
        self.assertEqual(reply["data"]["status"], "failed")
        self.assertTrue(reply["data"]["error"].startswith("bad input: denoising step 1/2"),
                        reply["data"]["error"])
        self.assertEqual(self.server.request("GET", f"/outputs/{r['task_id']}.mp4")[0], 404)
        # A request the engine refuses up front is an HTTP 400 at submit, not a failed job.
        r = self.client.run_no_throw(T2V, small(prompt="x", frames=10))
        self.assertEqual(r["status"], "failed")
        self.assertIn("HTTP 400", r["error"])
        self.assertIn("frames", r["error"])

    def test_per_request_loras_from_the_lora_folder(self):
        lora = [{"path": "tiny-style.safetensors", "scale": 0.5}]
        out = self.client.run(T2V, small(prompt="styled", seed=3, loras=lora))
        sidecar = json.loads(urllib.request.urlopen(out["outputs"][0][:-4] + ".json").read())
        self.assertEqual(len(sidecar["loras"]), 1, sidecar["loras"])
        applied = sidecar["loras"][0]
        self.assertTrue(applied["path"].endswith("tiny-style.safetensors"))
        self.assertEqual((applied["expert"], applied["strength"], applied["tensors_changed"]),
                         ("transformer", 0.5, 1))
        # The next job without LoRAs runs on the model as it was.
        out = self.client.run(T2V, small(prompt="plain", seed=3))
        sidecar = json.loads(urllib.request.urlopen(out["outputs"][0][:-4] + ".json").read())
        self.assertEqual(sidecar["loras"], [])
        for loras, needle in (([{"path": "missing.safetensors"}], "no LoRA"),
                              ([{"path": "../data/jobs.sqlite"}], "file name"),
                              ([{"file": "tiny-style.safetensors"}], "path"),
                              ("tiny-style.safetensors", "list")):
            status, reply = self.server.json("POST", "/api/v3/" + T2V, small(prompt="x", loras=loras))
            self.assertEqual((status, reply["field"]), (400, "loras"), reply)
            self.assertIn(needle, reply["message"])
        status, reply = self.server.json("POST", "/api/v3/" + T2V, small(prompt="x", loras_2=lora))
        self.assertEqual((status, reply["field"]), (400, "loras_2"))
        self.assertIn("two-expert", reply["message"])

    def test_reference_images_reach_a_vace_model(self):
        ref = self.client.upload(str(source_image(self.dir / "ref.png", (40, 48))))
        body = dict(prompt="the subject walks", reference=[ref], width=64, height=48, frames=9, steps=2)
        out = self.client.run("rayvid/vace/text-to-video", body)
        sidecar = json.loads(urllib.request.urlopen(out["outputs"][0][:-4] + ".json").read())
        self.assertEqual(len(sidecar["vace"]["references"]), 1)
        self.assertTrue(sidecar["vace"]["references"][0].endswith("/ref.png"))
        # A model without reference support refuses it at submit, naming the kind that can.
        status, reply = self.server.json("POST", "/api/v3/" + T2V, small(prompt="x", reference=[ref]))
        self.assertEqual(status, 400)
        self.assertIn("VACE", reply["message"])

    def test_field_errors_are_400_with_the_field(self):
        cases = [({"prompt": "x", "durration": 5}, "durration"),
                 ({"prompt": "x", "steps": "many"}, "steps"),
                 ({"size": "16:9"}, "prompt"),
                 ({"prompt": "x", "image": "http://127.0.0.1:1/media/x/y.png"}, "image"),
                 ({"prompt": "x" * 9000}, "prompt")]
        for body, field in cases:
            status, reply = self.server.json("POST", "/api/v3/" + T2V, body)
            self.assertEqual((status, reply["field"]), (400, field), reply)
        status, reply = self.server.json("POST", "/api/v3/" + I2V,
                                         {"prompt": "x", "image": "https://example.com/cat.png"})
        self.assertEqual((status, reply["field"]), (400, "image"))
        self.assertIn("fetches nothing remote", reply["message"])
        status, _, payload = self.server.request("POST", "/api/v3/" + T2V, raw=b"{not json")
        self.assertEqual(status, 400)
        self.assertIn("not valid JSON", json.loads(payload)["message"])
        big = "data:image/png;base64," + "A" * (2 << 20)
        status, _, payload = self.server.request("POST", "/api/v3/" + I2V, {"prompt": "x", "image": big})
        self.assertEqual(status, 413)
        self.assertIn("--max-body-mb", json.loads(payload)["message"])
        status, reply = self.server.json("GET", "/api/v3/nothing/here")
        self.assertEqual(status, 404)
        self.assertIn("no such path", reply["message"])
        status, reply = self.server.json("POST", "/api/v3/rayvid/nope/text-to-video", {"prompt": "x"})
        self.assertEqual(status, 404)
        self.assertIn("GET /api/v3/models", reply["message"])
        status, reply = self.server.json("POST", "/api/v3/" + T2V, small(prompt="x", reference=["data:,"]))
        self.assertEqual((status, reply["field"]), (400, "reference"))

    def test_no_path_reaches_outside_the_data_folder(self):
        for path in ["/outputs/../jobs.sqlite", "/media/../jobs.sqlite", "/../jobs.sqlite",
                     "/outputs/" + "0" * 32 + ".mp4", "/media/" + "0" * 32 + "/x.png",
                     "/%2e%2e/%2e%2e/etc/passwd", "/api/v3/predictions/../../jobs.sqlite"]:
            status, _, payload = self.server.request("GET", path)
            self.assertIn(status, (400, 404), path)
            self.assertNotIn(b"SQLite format", payload, path)

    def test_cancel_a_running_job(self):
        _, reply = self.server.json("POST", "/api/v3/" + T2V, small(prompt="long", steps=200))
        job = reply["data"]["id"]
        deadline = time.time() + 60
        while self.server.json("GET", f"/api/v3/predictions/{job}/result")[1]["data"]["status"] != "processing":
            self.assertLess(time.time(), deadline)
            time.sleep(0.02)
        status, reply = self.server.json("POST", f"/api/v3/predictions/{job}/cancel")
        self.assertEqual(status, 200)
        self.assertEqual(self.server.wait_final(job)["status"], "cancelled")
        status, reply = self.server.json("POST", f"/api/v3/predictions/{job}/cancel")
        self.assertEqual(status, 409)


class QueueAndKey(unittest.TestCase):
    def test_a_full_queue_answers_429_with_retry_after(self):
        with Server(scratch("queue") / "data", "--queue-size", "1") as server:
            ids, statuses = [], []
            for i in range(4):
                status, headers, payload = server.request("POST", "/api/v3/" + T2V,
                                                          small(prompt=f"job {i}", steps=60))
                statuses.append(status)
                if status == 429:
                    self.assertTrue(int(headers["Retry-After"]) > 0)
                    self.assertIn("queue is full", json.loads(payload)["message"])
                else:
                    ids.append(json.loads(payload)["data"]["id"])
            # One runs, one waits, the rest are refused (the first may have started already).
            self.assertIn(statuses.count(429), (1, 2), statuses)
            for job in ids:
                server.json("POST", f"/api/v3/predictions/{job}/cancel")
                self.assertEqual(server.wait_final(job)["status"], "cancelled")

    def test_the_api_key_guards_the_api_not_the_outputs(self):
        with Server(scratch("key") / "data", "--api-key", "s3cret") as server:
            wrong = wavespeed.Client(api_key="wrong", base_url=server.url, max_retries=0)
            r = wrong.run_no_throw(T2V, small(prompt="x"))
            self.assertEqual(r["status"], "failed")
            self.assertIn("HTTP 401", r["error"])
            right = wavespeed.Client(api_key="s3cret", base_url=server.url, max_retries=0)
            out = right.run(T2V, small(prompt="keyed"))
            self.assertEqual(urllib.request.urlopen(out["outputs"][0]).status, 200)  # no key

    def test_any_other_host_needs_a_key(self):
        r = subprocess.run([Server("/tmp/unused").args[0], "serve", "--host", "0.0.0.0", "--port", "0",
                            "--data-dir", str(scratch("host") / "data")],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--api-key", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


class ReadmeCurl(unittest.TestCase):
    def test_the_readme_curl_example_runs_with_only_the_base_url_changed(self):
        readme = (REPO / "README.md").read_text()
        block = re.search(r"```bash\n(curl --location --request POST .*?)```", readme, re.S)
        self.assertIsNotNone(block, "README has no curl example for rayvid serve")
        submit, _, result = block.group(1).partition("\n\n")
        with Server(scratch("curl") / "data") as server:
            env = {"WAVESPEED_API_KEY": "local", "PATH": "/usr/bin:/bin"}
            cmd = submit.replace("http://127.0.0.1:8188", server.url)
            out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, env=env, timeout=60)
            reply = json.loads(out.stdout)
            self.assertEqual(reply["code"], 200, out.stdout)
            job = reply["data"]["id"]
            cmd = result.replace("http://127.0.0.1:8188", server.url).replace("${requestId}", job)
            out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, env=env, timeout=60)
            self.assertIn(json.loads(out.stdout)["data"]["status"], ("created", "processing"))
            server.json("POST", f"/api/v3/predictions/{job}/cancel")  # 540p x 5 s: not in CI's time


if __name__ == "__main__":
    unittest.main(verbosity=2)
