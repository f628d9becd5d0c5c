"""Checks every ``POST /extract`` body before it reaches LitServe's batching queue.

An ASGI middleware: it reads the body (refusing one larger than any valid request could be as soon as
it passes that size), parses and checks it (:func:`~biogpt.serving.requests.parse_request`), and
answers a bad one itself with its 4xx and a JSON message naming the field and the limit. A good body is
replayed to LitServe unchanged, as JSON whatever ``Content-Type`` the client sent (``curl -d`` sends
a form type), so no bad input ever reaches a worker: nothing a client sends can end in a 500 or
take a worker down. It also counts the requests answered, for ``/health``.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.responses import JSONResponse

from biogpt.generation import GenerationSettings
from biogpt.serving.requests import RequestError, decode_body, max_body_bytes, parse_request
from biogpt.serving.settings import ServeSettings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
EXTRACT_PATH = "/extract"


class RequestCounter:
    """Requests answered with 200: a number in shared memory, so that the HTTP server processes LitServe
    forks from this one count into it."""

    def __init__(self) -> None:
        self._count = multiprocessing.get_context("fork").Value("q", 0)

    def add(self) -> None:
        with self._count.get_lock():
            self._count.value += 1

    @property
    def count(self) -> int:
        return int(self._count.value)


class ExtractRequestGuard:
    """The middleware: bad ``/extract`` bodies answered here, good ones passed on and counted."""

    def __init__(
        self, app: ASGIApp, *, generation: GenerationSettings, settings: ServeSettings, served: RequestCounter
    ) -> None:
        self.app = app
        self.generation = generation
        self.settings = settings
        self.served = served
        self.limit = max_body_bytes(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != EXTRACT_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        try:
            body = await self._read_body(receive)
            parse_request(decode_body(body), self.generation, self.settings)
        except RequestError as error:
            await JSONResponse(error.payload(), status_code=error.status)(scope, receive, send)
            return
        await self.app(self._as_json(scope), _replay(body, receive), self._counting(send))

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise RequestError(400, "body", "the client disconnected before sending the whole body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                raise RequestError(
                    413,
                    "body",
                    f"over {self.limit} bytes, more than serve.max_texts={self.settings.max_texts} texts of "
                    f"serve.max_chars={self.settings.max_chars} characters can take",
                )
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    @staticmethod
    def _as_json(scope: Scope) -> Scope:
        headers = [(name, value) for name, value in scope["headers"] if name.lower() != b"content-type"]
        return {**scope, "headers": [*headers, (b"content-type", b"application/json")]}

    def _counting(self, send: Send) -> Send:
        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                self.served.add()
            await send(message)

        return counted


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the body already read, then the client's own messages (its disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
