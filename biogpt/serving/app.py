"""The service: the LitServe server of :class:`ExtractionAPI` with the routes around it.

- ``POST /extract``: LitServe's endpoint, behind :class:`ExtractRequestGuard`; its request schema is
  put in the OpenAPI document (``/docs``) by hand, since LitServe reads the body itself.
- ``GET /health``: the model, task, device and dtype the workers loaded, uptime and requests served.
  LitServe's own readiness check (503 until every worker has loaded) moves to ``GET /ready``.
- ``GET /example``: the page's example text (:mod:`biogpt.serving.examples`).
- ``GET /``: the page, and its script and style under ``/page/`` (files shipped in the package).

LitServe forks one HTTP server process (``num_api_servers=1``: the worker's report is read once, by it)
and spawns the inference workers; the request counter lives in shared memory.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import time
from pathlib import Path
from typing import Any

import litserve as ls
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from biogpt.extraction.engine import ExtractionSettings
from biogpt.serving.api import ExtractionAPI
from biogpt.serving.guard import EXTRACT_PATH, ExtractRequestGuard, RequestCounter
from biogpt.serving.requests import request_schema
from biogpt.serving.settings import ServeSettings

PAGE_DIR = Path(__file__).with_name("page")
READY_PATH = "/ready"
# Seconds /health waits for the workers' report (they send it before LitServe reports them ready).
_REPORT_WAIT = 30.0


class WorkerReport:
    """What the first worker sent after loading the model: its description and the example text."""

    def __init__(self, channel: Any) -> None:
        self._channel = channel
        self._report: dict[str, Any] | None = None

    def get(self) -> dict[str, Any] | None:
        if self._report is None:
            try:
                self._report = self._channel.get(timeout=_REPORT_WAIT)
            except queue.Empty:
                return None
        return self._report


def build_server(extraction: ExtractionSettings, settings: ServeSettings) -> ls.LitServer:
    """The server, ready to :meth:`~litserve.LitServer.run`."""
    channel = multiprocessing.get_context("spawn").Queue()
    api = ExtractionAPI(extraction, settings, channel)
    served = RequestCounter()
    server = ls.LitServer(
        api,
        accelerator="auto",
        devices=1,
        workers_per_device=settings.workers,
        timeout=settings.timeout,
        healthcheck_path=READY_PATH,
        middlewares=[
            (
                ExtractRequestGuard,
                {"generation": extraction.generation, "settings": settings, "served": served},
            )
        ],
    )
    _add_routes(server, WorkerReport(channel), served, settings)
    return server


def _add_routes(
    server: ls.LitServer, report: WorkerReport, served: RequestCounter, settings: ServeSettings
) -> None:
    app = server.app
    started = time.monotonic()
    # LitServe answers GET / with a plain "litserve running"; the page takes its place.
    app.router.routes = [route for route in app.router.routes if getattr(route, "path", None) != "/"]

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(PAGE_DIR / "index.html")

    @app.get("/health")
    async def health() -> JSONResponse:
        """The model served, its task, device and dtype, the uptime and the requests answered."""
        worker = report.get()
        if worker is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        return JSONResponse(
            {
                "status": "ok",
                **worker["describe"],
                "uptime_s": round(time.monotonic() - started, 3),
                "requests_served": served.count,
                "workers": settings.workers,
                "max_batch_size": settings.max_batch_size,
            }
        )

    @app.get("/example")
    async def example() -> JSONResponse:
        """An example input for the page: the first document of the task's test split."""
        worker = report.get()
        if worker is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        return JSONResponse({"text": worker["example"].text, "source": worker["example"].source})

    app.mount("/page", StaticFiles(directory=PAGE_DIR), name="page")
    for route in app.router.routes:
        if getattr(route, "path", None) == EXTRACT_PATH:
            route.openapi_extra = {  # type: ignore[attr-defined]
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": request_schema(settings)}},
                }
            }
            route.summary = "Extract relations (or the label / answer) from texts"  # type: ignore[attr-defined]


def serve(extraction: ExtractionSettings, settings: ServeSettings) -> None:
    """Serve until SIGINT (Ctrl+C) or SIGTERM (``kill``), either of which stops the whole service."""
    _stop_the_service_on_sigint_and_sigterm()
    build_server(extraction, settings).run(
        host=settings.host,
        port=settings.port,
        num_api_servers=1,
        generate_client_file=False,
    )


def _stop_the_service_on_sigint_and_sigterm() -> None:
    """Both signals take LitServe's Ctrl+C path (``KeyboardInterrupt`` in this process): it stops the HTTP
    server, then the inference workers, then its manager, and returns.

    Neither is what the service would do otherwise. Started with SIGINT ignored (a script's background
    job, ``nohup``), Python keeps it ignored while the forked HTTP server installs its own handler: a
    SIGINT to the process group ended the HTTP server alone and left this process and the workers
    waiting for ever. SIGTERM (``kill <pid>``) ended this process alone, and the HTTP server went on
    answering beside workers that held the model, all of them orphans. Handlers reset at ``exec``, so
    the spawned workers start with the defaults; the forked HTTP server replaces these with its own.
    """

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)
