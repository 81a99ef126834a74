"""Screenshots of the web page's two tabs for the README, taken in headless Chromium.

    python docs/screenshots.py RUNS_DIR DATA_DIR   # RUNS_DIR holds a trained run; DATA_DIR has trainA/, trainB/, testA/

Writes docs/serve_translate.png (a test photograph translated with the newest model) and
docs/serve_train.png (a "fast preview" run started from the page, once its first sample grid
is shown; the run is then stopped, which saves a checkpoint under RUNS_DIR/screenshot-run).
"""

from __future__ import annotations

import argparse
import shutil
import socket
from pathlib import Path

from playwright.sync_api import sync_playwright

from stylecycle.config import ServeConfig
from stylecycle.serve.app import serve

DOCS = Path(__file__).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path)
    parser.add_argument("data", type=Path)
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = serve(ServeConfig(checkpoints=args.runs, data_root=args.data, port=port), block=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(180_000)
        page.goto(f"http://127.0.0.1:{port}")
        photo = sorted((args.data / "testA").iterdir())[1]
        page.locator("#translate-uploads input[type=file]").set_input_files([str(photo)])
        page.locator("#translate-uploads").get_by_text(photo.name).first.wait_for()
        page.locator("#translate-button").click()
        page.locator("#translate-note").get_by_text("Translated").wait_for()
        page.screenshot(path=DOCS / "serve_translate.png", full_page=True)

        page.get_by_role("tab", name="Train").click()
        page.locator("#folder-a textarea, #folder-a input").first.fill("trainA")
        page.locator("#folder-b textarea, #folder-b input").first.fill("trainB")
        page.locator("#run-name textarea, #run-name input").first.fill("screenshot-run")
        page.locator("#start").click()
        run = args.runs / "screenshot-run"
        while not (sorted(run.glob("samples/step_*.png")) and (run / "losses.png").exists()):
            page.wait_for_timeout(1000)
        page.wait_for_timeout(3000)  # the page refreshes every 2 s
        page.screenshot(path=DOCS / "serve_train.png", full_page=True)
        page.locator("#stop").click()
        page.locator("#train-status").get_by_text("stopped").wait_for()
        browser.close()
    app.close()


if __name__ == "__main__":
    main()
