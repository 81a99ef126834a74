"""The page itself: a Translate tab and a Train tab, wired to the handlers of this package.

Every browser request goes through a handler that turns a :class:`StylecycleError` into the
one-line message Gradio shows; requests queue (one translation at a time) instead of running
out of memory together.

What a browser can fetch is only what the page shows it: translations of its own uploads, and
copies of the latest sample grid and loss plot, all in a temporary folder per browser session
that goes when the session ends. The checkpoints folder (weights, logs) and the data root are
never served; beyond 127.0.0.1 the page needs a login (:mod:`.logins`).
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from ..config import ServeConfig
from ..errors import ConfigError, StylecycleError, first_line, user_message
from ..translate_files import VIDEO_EXTENSIONS
from .jobs import PRESETS, TrainingJobs
from .logins import LOOPBACK, check_exposure, login_check, read_logins
from .models import ModelCache, directions, find_models
from .safety import Limits, Refused, accept_uploads, inside, run_name
from .translate import translate_uploads

log = logging.getLogger("stylecycle")
QUEUE_SIZE = 32  # requests waiting beyond this are told the server is busy
REFRESH_S = 2.0


def shown_to_user(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Errors a user can cause become Gradio's error message (one line), not a traceback."""

    @functools.wraps(handler)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except StylecycleError as exc:
            raise gr.Error(user_message(exc), print_exception=False) from exc

    return wrapped


def build_app(config: ServeConfig) -> tuple[Any, Path]:
    """The page, and the temporary folder its sessions' files live in."""
    checkpoints, data_root = Path(config.checkpoints).resolve(), Path(config.data_root).resolve()
    checkpoints.mkdir(parents=True, exist_ok=True)
    limits = Limits(
        max_upload_mb=config.max_upload_mb,
        max_pixels=config.max_pixels,
        max_files=config.max_files,
        max_video_seconds=config.max_video_seconds,
    )
    models, jobs = ModelCache(checkpoints, config.device), TrainingJobs()
    work_root = Path(tempfile.mkdtemp(prefix="stylecycle-serve-"))

    def session_folder(request: gr.Request) -> Path:
        """This browser session's folder; the session id comes from the browser, so it only names a hash."""
        return work_root / hashlib.sha256(str(request.session_hash).encode()).hexdigest()[:32]

    def forget_session(request: gr.Request) -> None:
        shutil.rmtree(session_folder(request), ignore_errors=True)

    def model_choices() -> Any:
        found = find_models(checkpoints)
        return gr.update(choices=found, value=found[0] if found else None)

    def model_directions(model: str | None) -> Any:
        """The chosen model's directions: A → B alone for a one-sided (CUT) model."""
        offered = directions(checkpoints, model) if model else ["a2b", "b2a"]
        return gr.update(choices=offered, value="a2b")

    @shown_to_user
    def translate(
        uploads: list[str] | None,
        model: str,
        direction: str,
        request: gr.Request,
        progress: Any = gr.Progress(track_tqdm=True),  # noqa: B008 - how Gradio hands a progress tracker
    ) -> tuple:
        translator = models.get(model, direction)
        result = translate_uploads(list(uploads or []), translator, direction, limits, session_folder(request) / uuid.uuid4().hex)
        images = [(str(source), str(output)) for source, output in result.pairs if source.suffix.lower() not in VIDEO_EXTENSIONS]
        note = f"Translated {len(result.pairs)} file(s) with {model} ({direction})."
        if result.refused:
            note += " Not translated: " + "; ".join(result.refused)
            gr.Warning(note)
        downloads = [str(output) for _, output in result.pairs] + ([str(result.archive)] if result.archive else [])
        return images[0] if images else None, [output for _, output in images], downloads, note, images

    def compare(images: list[tuple[str, str]], selected: gr.SelectData) -> Any:
        """Show the picture clicked in the gallery on the before/after slider."""
        return images[selected.index] if images and selected.index is not None else gr.update()

    def runs() -> Any:
        found = [m for m in find_models(checkpoints) if (checkpoints / m).is_dir()]
        return gr.update(choices=found, value=found[0] if found else None)

    @shown_to_user
    def start(folder_a: str, folder_b: str, uploads_a: list[str] | None, uploads_b: list[str] | None, preset: str, name: str) -> str:
        run_dir = inside(checkpoints, run_name(name), "run name")
        if uploads_a or uploads_b:
            if not (uploads_a and uploads_b):
                raise Refused("upload images for both domains, A and B")
            refused = [
                message
                for files, domain in ((uploads_a, "A"), (uploads_b, "B"))
                for message in accept_uploads(files, run_dir / "data" / domain, limits, kinds=("image",))
            ]
            if refused:
                gr.Warning("Not used: " + "; ".join(refused))
            folders = (run_dir / "data" / "A", run_dir / "data" / "B")
        else:
            folders = (inside(data_root, folder_a.strip(), "domain A folder"), inside(data_root, folder_b.strip(), "domain B folder"))
            for folder in folders:
                if not folder.is_dir():
                    raise Refused(f"{folder.relative_to(data_root)} is not a folder under {data_root.name}/")
        return jobs.train(run_dir, *folders, preset)

    @shown_to_user
    def resume(run: str) -> str:
        if not run:
            raise Refused("choose a run to resume")
        return jobs.resume(inside(checkpoints, run, "run"))

    @shown_to_user
    def stop() -> str:
        return jobs.stop()

    def watch(request: gr.Request) -> tuple:
        """The run's status, with copies of its newest sample grid and loss plot in this session's
        folder: the browser is never given a path inside the checkpoints folder."""
        status = jobs.status()
        shown = session_folder(request) / "train"
        shown.mkdir(parents=True, exist_ok=True)
        copies = [copy_when_changed(path, shown) if path else None for path in (status.sample, status.losses)]
        return status.text, *(str(copy) if copy else None for copy in copies)

    # Gradio's own cache (what the browser downloads) is emptied of files older than an hour, hourly.
    with gr.Blocks(title="stylecycle", delete_cache=(3600, 3600)) as app:
        gr.Markdown("# stylecycle\nUnpaired style transfer with CycleGAN: translate pictures with a trained model, or train one.")
        with gr.Tab("Translate", id="translate"):
            with gr.Row():
                with gr.Column():
                    uploads = gr.File(
                        file_count="multiple", file_types=["image", "video"], label="Pictures (or a video)", elem_id="translate-uploads"
                    )
                    with gr.Row():
                        model = gr.Dropdown(label="Model", choices=find_models(checkpoints), elem_id="model", scale=4)
                        refresh = gr.Button("↻", scale=1, min_width=40)
                    direction = gr.Radio(["a2b", "b2a"], value="a2b", label="Direction (A→B or B→A)")
                    go = gr.Button("Translate", variant="primary", elem_id="translate-button")
                with gr.Column():
                    slider = gr.ImageSlider(
                        label="Before / after (click a translation below to compare it)", type="filepath", elem_id="before-after"
                    )
                    gallery = gr.Gallery(label="Translations", columns=3, elem_id="translations")
                    downloads = gr.File(label="Download", file_count="multiple", elem_id="downloads")
                    note = gr.Markdown(elem_id="translate-note")
            refresh.click(model_choices, outputs=model)
            model.change(model_directions, model, direction)
            pairs = gr.State([])  # (upload, translation) of each picture of the last request
            go.click(translate, [uploads, model, direction], [slider, gallery, downloads, note, pairs], concurrency_limit=1)
            gallery.select(compare, pairs, slider)
        if config.train:  # --no-train: no tab, and none of its endpoints
            with gr.Tab("Train", id="train"):
                gr.Markdown(f"Folders are paths inside `{data_root}`; runs are saved under `{checkpoints}`. One run trains at a time.")
                with gr.Row():
                    with gr.Column():
                        folder_a = gr.Textbox(label="Domain A folder", placeholder="e.g. photos", elem_id="folder-a")
                        folder_b = gr.Textbox(label="Domain B folder", placeholder="e.g. paintings", elem_id="folder-b")
                        with gr.Accordion("…or upload the images of each domain", open=False):
                            uploads_a = gr.File(file_count="multiple", file_types=["image"], label="Domain A images")
                            uploads_b = gr.File(file_count="multiple", file_types=["image"], label="Domain B images")
                        preset = gr.Radio(list(PRESETS), value="fast preview", label="Preset", elem_id="preset")
                        name = gr.Textbox(label="Run name", value=time.strftime("run-%Y%m%d-%H%M%S"), elem_id="run-name")
                        with gr.Row():
                            start_button = gr.Button("Start training", variant="primary", elem_id="start")
                            stop_button = gr.Button("Stop (saves a checkpoint)", variant="stop", elem_id="stop")
                        with gr.Row():
                            run_choice = gr.Dropdown(label="Resume a run", choices=[], scale=4)
                            resume_button = gr.Button("Resume", scale=1, elem_id="resume")
                    with gr.Column():
                        status = gr.Markdown("no training run started from this page yet", elem_id="train-status")
                        sample = gr.Image(label="Latest sample grid", type="filepath", interactive=False, elem_id="sample-grid")
                        losses = gr.Image(label="Losses", type="filepath", interactive=False, elem_id="loss-curves")
                start_button.click(start, [folder_a, folder_b, uploads_a, uploads_b, preset, name], status)
                stop_button.click(stop, outputs=status)
                resume_button.click(resume, run_choice, status)
                run_choice.focus(runs, outputs=run_choice)
                gr.Timer(REFRESH_S).tick(watch, outputs=[status, sample, losses], show_progress="hidden")
        app.load(model_choices, outputs=model)
        if config.train:
            app.load(runs, outputs=run_choice)
        app.unload(forget_session)
    app.queue(default_concurrency_limit=1, max_size=QUEUE_SIZE)
    return app, work_root


def copy_when_changed(source: Path, folder: Path) -> Path:
    """``source`` copied into ``folder``, unless the copy there is already this version of it
    (the Train tab asks every 2 seconds; the loss plot is rewritten every few steps)."""
    copy = folder / source.name
    if not copy.exists() or copy.stat().st_mtime_ns != source.stat().st_mtime_ns:
        shutil.copy2(source, copy)  # keeps the modification time, which the next call compares
    return copy


def never_served(config: ServeConfig, work_root: Path) -> list[str]:
    """The folders Gradio must refuse to serve (it serves none of them unasked; this is a second
    lock): the checkpoints and the data root, unless one holds the folders the page's own files
    live in (``--data-root /tmp``), which would lock the page out of them."""
    own = [work_root, Path(os.environ.get("GRADIO_TEMP_DIR", Path(tempfile.gettempdir()) / "gradio")).resolve()]
    folders = [Path(config.checkpoints).resolve(), Path(config.data_root).resolve()]
    return [str(folder) for folder in folders if not any(folder == p or folder in p.parents for p in own)]


def serve(config: ServeConfig, *, block: bool = True) -> Any:
    """Start the page; returns the Gradio app (with ``block=False``, for tests)."""
    config.validate()
    logins = read_logins(config.auth_file)
    check_exposure(config.host, logins, config.insecure_no_login)
    if config.host not in LOOPBACK and not logins:
        log.warning(
            "serve: listening on %s without a login (--insecure-no-login): anyone who reaches the port can use the page", config.host
        )
    app, work_root = build_app(config)
    atexit.register(shutil.rmtree, work_root, True)
    try:
        app.launch(
            server_name=config.host,
            server_port=config.port,
            auth=login_check(logins) if logins else None,
            auth_message="stylecycle: log in with a user name and password from the server's --auth-file",
            max_file_size=int(config.max_upload_mb * 2**20),
            blocked_paths=never_served(config, work_root),
            prevent_thread_lock=not block,
            quiet=not block,
        )
    except OSError as exc:  # the port is taken, or the address is not this machine's
        raise ConfigError(
            f"cannot listen on {config.host}:{config.port} ({first_line(exc).split('. ')[0]}); choose another --port or --host"
        ) from exc
    return app
