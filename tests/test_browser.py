"""The latent explorer in a real browser: JupyterLab + headless Chromium, driven by Playwright.

A JupyterLab server starts on 127.0.0.1 with a token, over a temporary copy
of notebooks/05_latent_explorer.ipynb (so nothing in the repository is
autosaved); Chromium opens it, runs every cell, drags a slider and checks
that the rendered face changed. Screenshots go to test-artifacts/browser/.
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a real browser: seconds to start

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "05_latent_explorer.ipynb"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
if not Path(CHROMIUM).exists():
    pytest.skip("Chromium is missing: install Debian's chromium package (apt-get install chromium)",
                allow_module_level=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyterlab(tmp_path):
    """A JupyterLab server on 127.0.0.1 over a copy of the notebook; yields (base URL, token)."""
    work = tmp_path / "lab"
    work.mkdir()
    shutil.copy(NOTEBOOK, work / NOTEBOOK.name)
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "GAN_SMOKE": "1", "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "ws")}
    log = open(tmp_path / "jupyterlab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
         "--ServerApp.port_retries=0", f"--LabApp.workspaces_dir={tmp_path / 'ws'}", "--allow-root"],
        cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("JupyterLab did not start: " + (tmp_path / "jupyterlab.log").read_text()[-2000:])
                time.sleep(0.5)
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def wait_until_kernel_idle(base, token, quiet=3.0, timeout=300.0):
    """Wait until the notebook's kernel has been idle for `quiet` seconds (all queued cells ran)."""
    deadline = time.monotonic() + timeout
    idle_since = None
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{base}/api/kernels?token={token}", timeout=5) as response:
            states = [kernel["execution_state"] for kernel in json.load(response)]
        if states and all(state == "idle" for state in states):
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= quiet:
                return
        else:
            idle_since = None
        time.sleep(0.25)
    raise AssertionError(f"the notebook's kernel was still busy after {timeout:.0f} s (states: {states})")


def test_slider_changes_the_face_in_jupyterlab(jupyterlab):
    base, token = jupyterlab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{base}/lab/tree/{NOTEBOOK.name}?token={token}", timeout=60_000)
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            # JupyterLab may ask which kernel to start: take the proposed Python 3 kernel.
            select = page.locator(".jp-Dialog button:has-text('Select')")
            try:
                select.wait_for(timeout=10_000)
                select.click()
            except playwright.TimeoutError:
                pass
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
            page.click("li.lm-MenuBar-item:has-text('Run')")
            page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
            picture = page.wait_for_selector("img.widget-image", timeout=180_000)
            handle = page.wait_for_selector(".widget-hslider .noUi-handle", timeout=60_000)
            # Let every cell finish first: section 4 moves the first slider itself and sets it back to 0,
            # so a face that changes while cells still run says nothing about the drag.
            wait_until_kernel_idle(base, token)
            picture.scroll_into_view_if_needed()
            before = picture.screenshot(path=str(ARTIFACTS / "face_before.png"))
            page.screenshot(path=str(ARTIFACTS / "explorer_before.png"))
            readout = page.locator(".widget-hslider .widget-readout").first
            for attempt in range(3):  # a drag that the page did not take (readout still 0) is tried again
                box = handle.bounding_box()
                page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
                page.mouse.down()
                page.mouse.move(box["x"] + box["width"] / 2 + 120, box["y"] + box["height"] / 2, steps=10)
                page.mouse.up()
                page.wait_for_timeout(500)
                if float(readout.inner_text()) != 0.0:
                    break
            deadline = time.monotonic() + 60
            after = before
            while after == before and time.monotonic() < deadline:
                page.wait_for_timeout(250)
                after = picture.screenshot()
            (ARTIFACTS / "face_after.png").write_bytes(after)
            page.screenshot(path=str(ARTIFACTS / "explorer_after.png"))
            value = readout.inner_text()
            assert float(value) != 0.0, f"the slider did not move after {attempt + 1} drags (its readout: {value})"
            assert after != before, f"the face did not change after moving the slider (its readout: {value})"
        finally:
            page.screenshot(path=str(ARTIFACTS / "explorer_final.png"))
            browser.close()
