"""The web page, driven in a real headless Chromium: what an artist does with it.

Run alone with ``.venv/bin/python -m pytest -m browser``. Needs Debian's ``chromium``
(``make test`` installs it when it can); skipped, with the reason, where it is missing.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest
from PIL import Image

from conftest import tiny_config
from stylecycle.config import ServeConfig
from stylecycle.training.checkpoint import list_checkpoints
from stylecycle.training.trainer import Trainer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRED = os.environ.get("STYLECYCLE_REQUIRE_BROWSER") == "1"  # set by .ci/run: CI must not skip them
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None and not REQUIRED, reason="no chromium on this machine: `apt-get install chromium` (make test does)"
    ),
]
TIMEOUT_MS = 60_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(demo_root: Path, tmp_path_factory: pytest.TempPathFactory):
    """The page, serving a tiny trained model, with the demo data as the data root."""
    from stylecycle.serve.app import serve

    checkpoints = tmp_path_factory.mktemp("checkpoints")
    Trainer(tiny_config(demo_root, checkpoints / "tiny", max_steps=2)).run()
    port = free_port()
    app = serve(ServeConfig(checkpoints=checkpoints, data_root=demo_root, port=port, device="cpu"), block=False)
    yield f"http://127.0.0.1:{port}", checkpoints
    app.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if CHROMIUM is None:
        pytest.fail("STYLECYCLE_REQUIRE_BROWSER=1 but chromium is not installed (make test installs it as root or with sudo)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server[0])
    yield page
    context.close()


def upload(page, element_id: str, *files: Path) -> None:
    page.locator(f"#{element_id} input[type=file]").set_input_files([str(f) for f in files])
    for f in files:
        page.locator(f"#{element_id}").get_by_text(f.stem).first.wait_for()  # shown as stem and extension


def test_an_uploaded_photo_comes_back_translated_at_its_size_and_downloads(page, demo_root, tmp_path):
    photo = demo_root / "testA" / "coffee_right.png"
    upload(page, "translate-uploads", photo)
    page.locator("#translate-button").click()
    link = page.locator('#downloads a[download="coffee_right-a2b.png"]')
    link.wait_for()
    with page.expect_download() as download:
        link.click()
    download.value.save_as(tmp_path / "result.png")
    assert Image.open(tmp_path / "result.png").size == Image.open(photo).size
    assert page.locator("#translate-note").get_by_text("Translated 1 file(s)").count() == 1


def test_a_text_file_named_like_a_photo_is_refused_with_a_message(page, tmp_path):
    fake = tmp_path / "holiday.jpg"
    fake.write_text("this is not a picture")
    upload(page, "translate-uploads", fake)
    page.locator("#translate-button").click()
    page.get_by_text("holiday.jpg is not an image this page can read").first.wait_for()


def test_a_run_started_from_the_train_tab_shows_progress_stops_and_leaves_a_checkpoint(page, server):
    page.get_by_role("tab", name="Train").click()
    page.locator("#folder-a textarea, #folder-a input").first.fill("trainA")
    page.locator("#folder-b textarea, #folder-b input").first.fill("trainB")
    page.locator("#run-name textarea, #run-name input").first.fill("from-the-page")
    page.locator("#start").click()
    page.locator("#train-status").get_by_text("is training: step").wait_for()
    page.locator("#stop").click()
    page.locator("#train-status").get_by_text("stopped at step").wait_for()
    saved = list_checkpoints(server[1] / "from-the-page")
    assert saved and saved[-1].name in page.locator("#train-status").inner_text()


def test_clicking_a_translation_puts_it_on_the_before_after_slider(page, demo_root):
    upload(page, "translate-uploads", demo_root / "testA" / "coffee_right.png", demo_root / "testA" / "rocket_right.png")
    page.locator("#translate-button").click()
    shown = "() => [...document.querySelectorAll('#before-after img')].map(i => i.src.split('/').pop()).sort().join(' ') == '{}'"
    page.wait_for_function(shown.format("coffee_right-a2b.png coffee_right.png"))
    page.locator("#translations button.thumbnail-item").nth(1).click()
    page.wait_for_function(shown.format("rocket_right-a2b.png rocket_right.png"))


@pytest.fixture(scope="module")
def server_with_logins(demo_root: Path, tmp_path_factory: pytest.TempPathFactory):
    """The page as shared with others: logins required (alice / wonderland)."""
    from stylecycle.serve.app import serve

    checkpoints = tmp_path_factory.mktemp("checkpoints_shared")
    Trainer(tiny_config(demo_root, checkpoints / "tiny", max_steps=1)).run()
    auth = tmp_path_factory.mktemp("auth") / "logins.txt"
    auth.write_text("alice:wonderland\n")
    port = free_port()
    app = serve(ServeConfig(checkpoints=checkpoints, data_root=demo_root, port=port, device="cpu", auth_file=auth), block=False)
    yield f"http://127.0.0.1:{port}"
    app.close()


def test_a_shared_page_asks_for_a_login_refuses_a_wrong_one_and_then_translates(browser, server_with_logins, demo_root):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(server_with_logins)
        assert page.locator("#translate-button").count() == 0  # nothing of the app before logging in
        page.get_by_label("username").fill("alice")
        page.get_by_label("password").fill("guess")
        page.get_by_role("button", name="Login").click()
        page.get_by_text("Incorrect Credentials").wait_for()
        page.get_by_label("username").fill("alice")  # the form is cleared after a failed try
        page.get_by_label("password").fill("wonderland")
        page.get_by_role("button", name="Login").click()
        upload(page, "translate-uploads", demo_root / "testA" / "rocket_right.png")
        page.locator("#translate-button").click()
        page.locator('#downloads a[download="rocket_right-a2b.png"]').wait_for()
    finally:
        context.close()
