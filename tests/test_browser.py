"""The latent explorer in a real browser: JupyterLab + headless Chromium, driven by Playwright.

A JupyterLab server starts on 127.0.0.1 with a token, over a temporary copy
of notebooks/05_latent_explorer.ipynb (so nothing in the repository is
autosaved); Chromium opens it, runs every cell, drags a slider and checks
that the rendered face changed. Screenshots go to test-artifacts/browser/.
"""

import contextlib
import json
import os
import re
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


@contextlib.contextmanager
def browser_page():
    """A page of headless Chromium, 1400x1000; the screenshots' folder exists."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1000})
        finally:
            browser.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyterlab(tmp_path):
    """A JupyterLab server on 127.0.0.1 over a copy of notebook 05; yields (base URL, token)."""
    yield from lab_server(tmp_path, [NOTEBOOK])


@pytest.fixture
def jupyterlab_over_every_notebook(tmp_path):
    yield from lab_server(tmp_path, sorted(NOTEBOOK.parent.glob("*.ipynb")))


def lab_server(tmp_path, notebooks):
    """A JupyterLab server on 127.0.0.1 over copies of ``notebooks``, in smoke mode, with every cell of a
    notebook in the page (no windowing, so that a test sees all outputs); yields (base URL, token)."""
    work = tmp_path / "lab"
    work.mkdir()
    for notebook in notebooks:
        shutil.copy(notebook, work / notebook.name)
    settings = tmp_path / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "GAN_SMOKE": "1", "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "ws"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings")}
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


def open_notebook(page, base, token, name, ready=".jp-Notebook", dialog_ms=10_000):
    """Open a notebook in JupyterLab and take the proposed kernel (JupyterLab may ask which one to start)."""
    page.goto(f"{base}/lab/tree/{name}?token={token}", timeout=60_000)
    page.wait_for_selector(ready, timeout=60_000)
    select = page.locator(".jp-Dialog button:has-text('Select')")
    try:
        select.wait_for(timeout=dialog_ms)
        select.click()
    except playwright.TimeoutError:
        pass


def open_and_run_all(page, base, token, name):
    """Open a notebook in JupyterLab, take the proposed kernel, and start Run All Cells."""
    open_notebook(page, base, token, name)
    # Under a full test run both cores are busy, and a kernel can take minutes to start.
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=300_000)
    page.click("li.lm-MenuBar-item:has-text('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")


def screenshots_of_the_whole_notebook(page, stem):
    """Screenshots from the top of the notebook to its end, one a screen, as ``ARTIFACTS/<stem>-NN.png``."""
    scroller = page.locator(".jp-NotebookPanel:visible .jp-WindowedPanel-outer").first
    height = scroller.evaluate("e => e.scrollHeight")
    step = scroller.evaluate("e => e.clientHeight") - 80
    for index, top in enumerate(range(0, max(1, height), max(1, step))):
        scroller.evaluate(f"e => e.scrollTo(0, {top})")
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / f"{stem}-{index:02d}.png"))


#: The notebooks whose Run All the browser checks in CI: the ones with progress bars, warnings the student is
#: meant to see, and widgets. GAN_BROWSER_ALL=1 checks every notebook.
RUN_ALL = ("03_training", "04_wgan", "05_latent_explorer") if not os.environ.get("GAN_BROWSER_ALL") else tuple(
    p.stem for p in sorted(NOTEBOOK.parent.glob("*.ipynb")))


@pytest.mark.parametrize("name", RUN_ALL)
def test_run_all_in_jupyterlab_shows_no_error_and_no_red_box(jupyterlab_over_every_notebook, name):
    """What a student sees after Run All (smoke mode): no error, nothing on standard error (a red box reads as
    a failure: warnings the student is meant to see are the workbook's own Markdown lines), every progress
    bar at its end, and, in smoke mode, figures that say so."""
    base, token = jupyterlab_over_every_notebook
    with browser_page() as page:
        try:
            open_and_run_all(page, base, token, f"{name}.ipynb")
            page.wait_for_timeout(3000)
            wait_until_kernel_idle(base, token, quiet=5.0, timeout=900.0)
            page.wait_for_timeout(2000)
            notebook = page.locator(".jp-NotebookPanel:visible .jp-Notebook")
            errors = notebook.locator("[data-mime-type='application/vnd.jupyter.error']")
            assert errors.count() == 0, f"{name}: " + errors.first.inner_text()[:500]
            red = notebook.locator("[data-mime-type='application/vnd.jupyter.stderr']")
            assert red.count() == 0, f"{name}: a red standard-error box: " + red.first.inner_text()[:300]
            texts = notebook.locator("[data-mime-type='text/plain']").all_inner_texts()
            unfinished = [t for t in texts if re.search(r"\b\d{1,2}%\|", t)]
            assert not unfinished, f"{name}: a progress bar short of its end: {unfinished[0][:200]}"
            assert notebook.locator(".jp-RenderedImage img").count() > 0, f"{name}: no figure"
        finally:
            screenshots_of_the_whole_notebook(page, name)


def test_slider_changes_the_face_in_jupyterlab(jupyterlab):
    base, token = jupyterlab
    with browser_page() as page:
        try:
            open_and_run_all(page, base, token, NOTEBOOK.name)
            picture = page.wait_for_selector("img.widget-image", timeout=180_000)
            # One face: the still picture under the widget goes once the widget is drawn.
            explorer_cell = page.locator(".jp-CodeCell", has=page.locator("img.widget-image"))
            deadline = time.monotonic() + 30
            while explorer_cell.locator(".jp-RenderedImage img").count() and time.monotonic() < deadline:
                page.wait_for_timeout(250)
            assert explorer_cell.locator(".jp-RenderedImage img").count() == 0, "the still face stayed under the widget"
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


@pytest.fixture
def jupyterlab_over_the_hebrew_handout(tmp_path):
    from gan_helpers import student

    handout = tmp_path / "handout-he"
    student.write_release(NOTEBOOK.parent, handout, lang="he")
    yield from lab_server(tmp_path, sorted((handout / "notebooks").glob("*.ipynb")))


def test_the_hebrew_handout_reads_right_to_left_with_code_left_to_right(jupyterlab_over_the_hebrew_handout):
    """Every notebook of the Hebrew handout, opened in JupyterLab: its prose renders right to left, while code
    (fenced blocks and code cells) and formulas stay left to right. Screenshots: ARTIFACTS/he-NN_*-MM.png."""
    base, token = jupyterlab_over_the_hebrew_handout
    names = [p.name for p in sorted(NOTEBOOK.parent.glob("*.ipynb"))]
    with browser_page() as page:
        for name in names:
            open_notebook(page, base, token, name, ".jp-NotebookPanel:visible .jp-MarkdownOutput", 5_000)
            page.wait_for_timeout(1500)
            directions = page.evaluate("""() => {
                const notebook = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
                const dir = e => getComputedStyle(e).direction;
                const prose = [...notebook.querySelectorAll('.jp-MarkdownOutput p, .jp-MarkdownOutput li')];
                const code = [...notebook.querySelectorAll('.jp-MarkdownOutput pre, .jp-CodeCell .cm-content')];
                return {prose: prose.map(dir), code: code.map(dir),
                        hebrew: prose.filter(e => /[\\u05d0-\\u05ea]/.test(e.textContent)).length};
            }""")
            assert directions["hebrew"] > 5, f"{name}: no Hebrew prose rendered"
            assert set(directions["prose"]) == {"rtl"}, f"{name}: prose directions {set(directions['prose'])}"
            assert set(directions["code"]) == {"ltr"}, f"{name}: code directions {set(directions['code'])}"
            screenshots_of_the_whole_notebook(page, f"he-{name[:-6]}")
