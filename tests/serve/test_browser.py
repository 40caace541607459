"""The web page in a real headless browser (Debian's Chromium and chromedriver, selenium from
PyPI): submit from the page, watch progress arrive over the event stream, and check that the
<video> element loads the result and the history lists it with its parameters."""
import os
import shutil
import sys
import time
import unittest
from pathlib import Path

import numpy as np
from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_harness import Server, scratch  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--autoplay-policy=no-user-gesture-required", "--window-size=1100,1400"):
        options.add_argument(flag)
    # The system driver: selenium's own manager would try to download one (offline here).
    return webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)


def completed_row(driver, rows):
    """The newest history row's text and links, read in one script, once the table has `rows`
    rows and the newest is completed; else None (WebDriverWait polls again)."""
    got = driver.execute_script(
        "const rows = document.querySelectorAll('#history tbody tr');"
        "if (rows.length !== arguments[0]) return null;"
        "return [rows[0].innerText, [...rows[0].querySelectorAll('a')].map(a => a.href)];", rows)
    return got if got and "completed" in got[0] else None


class WebPage(unittest.TestCase):
    def test_submit_watch_progress_and_play_the_result(self):
        os.environ["SE_OFFLINE"] = "true"
        work = scratch("browser")
        with Server(work / "data") as server:
            driver = browser()
            try:
                driver.get(server.url + "/")
                wait = WebDriverWait(driver, 60)
                wait.until(lambda d: len(Select(d.find_element(By.ID, "model")).options) > 0)
                self.assertEqual(Select(driver.find_element(By.ID, "model")).first_selected_option.text,
                                 "rayvid-tiny-ti2v")
                driver.find_element(By.ID, "prompt").send_keys("a red fox runs through snow")
                driver.find_element(By.CSS_SELECTOR, "details summary").click()
                for field, value in (("seed", "7"), ("steps", "40"), ("width", "256"),
                                     ("height", "160"), ("frames", "17")):
                    driver.find_element(By.ID, field).send_keys(value)
                driver.find_element(By.ID, "submit").click()
                # Progress arrives over the event stream: collect what the status line shows.
                seen, deadline = [], time.time() + 240
                while time.time() < deadline:
                    text = driver.find_element(By.ID, "status").text
                    if not seen or seen[-1] != text:
                        seen.append(text)
                    if text.startswith("Done") or "failed" in text:
                        break
                    time.sleep(0.02)
                steps = [t for t in seen if t.startswith("Denoising: step")]
                self.assertTrue(steps, f"no denoising progress was shown: {seen}")
                self.assertRegex(steps[-1], r"^Denoising: step \d+/40, ETA \d+ s$")
                self.assertTrue(seen[-1].startswith("Done in"), seen)
                self.assertIn("seed 7", seen[-1])
                # The video element loads the MP4 (H.264) and has the requested size.
                video = driver.find_element(By.ID, "result")
                wait.until(lambda d: d.execute_script("return arguments[0].readyState", video) >= 2)
                self.assertEqual(driver.execute_script(
                    "return [arguments[0].videoWidth, arguments[0].videoHeight]", video), [256, 160])
                self.assertGreater(driver.execute_script("return arguments[0].duration", video), 0.5)
                self.assertIn("/outputs/", video.get_attribute("src"))
                # The history has the job with its parameters and download links. The page redraws
                # the table as jobs change, so each read takes the row's text and links at once.
                text, links = wait.until(lambda d: completed_row(d, 1))
                self.assertIn("a red fox runs through snow", text)
                self.assertIn("256x160", text)
                self.assertIn("seed 7", text)
                self.assertEqual([l.rsplit(".", 1)[1] for l in links], ["mp4", "json"])
                driver.save_screenshot(str(work / "page.png"))
                # Image-to-video from the page: the file goes up through the two-step upload.
                source = work / "source.png"
                Image.fromarray(np.full((160, 256, 3), (200, 40, 40), np.uint8)).save(source)
                driver.find_element(By.ID, "image").send_keys(str(source))
                driver.find_element(By.ID, "steps").clear()
                driver.find_element(By.ID, "steps").send_keys("2")
                driver.find_element(By.ID, "submit").click()
                wait.until(lambda d: d.find_element(By.ID, "status").text.startswith(("Done", "fail")))
                self.assertTrue(driver.find_element(By.ID, "status").text.startswith("Done"))
                text, _ = wait.until(lambda d: completed_row(d, 2))
                self.assertIn("image", text)
            finally:
                driver.quit()


if __name__ == "__main__":
    unittest.main(verbosity=2)
