"""What ``POST /extract`` accepts, checked field by field: every refusal names the field and the limit.

A body is ``{"text": "..."}`` or ``{"texts": ["...", ...]}``, with optional ``"generation": {...}``
overrides of the server's decoding settings (``eval.generation``), each within the bounds
:func:`generation_bounds` sets. :func:`parse_request` turns a body into an :class:`ExtractRequest` or
raises :class:`RequestError` (an HTTP status and a message); :func:`request_schema` is the same rules
as the JSON schema ``/docs`` shows, so the two cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from biogpt.generation import GenerationSettings
from biogpt.serving.settings import ServeSettings

# Bytes a JSON string may spend on one character (a \uXXXX escape); a body longer than the largest
# valid request could be is refused before it is read whole.
_JSON_BYTES_PER_CHAR = 6
_ENVELOPE_BYTES = 4096
_BODY_KEYS = ("text", "texts", "generation")
_SEED_MAX = 2**32 - 1


class RequestError(Exception):
    """A request the service refuses: ``status`` (4xx), the ``field`` at fault and what it allows."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.status = status
        self.field = field
        self.message = message

    def payload(self) -> dict[str, Any]:
        return {"error": str(self), "field": self.field}


@dataclass(frozen=True)
class ExtractRequest:
    """The texts of one request and the decoding settings they are generated with."""

    texts: tuple[str, ...]
    generation: GenerationSettings


@dataclass(frozen=True)
class Bound:
    """What one generation override allows: its JSON type and inclusive/exclusive bounds."""

    kind: type
    low: float | None = None
    high: float | None = None
    low_open: bool = False

    def allowed(self) -> str:
        name = {int: "an integer", float: "a number", bool: "true or false"}[self.kind]
        if self.low is not None and self.high is not None:
            return f"{name} in {'(' if self.low_open else '['}{self.low}, {self.high}]"
        if self.low is not None:
            return f"{name} {'>' if self.low_open else '>='} {self.low}"
        return name

    def accepts(self, value: Any) -> bool:
        if self.kind is bool:
            return isinstance(value, bool)
        if isinstance(value, bool) or not isinstance(value, (int, float) if self.kind is float else int):
            return False
        above = self.low is None or (value > self.low if self.low_open else value >= self.low)
        return above and (self.high is None or value <= self.high)


def generation_bounds(settings: ServeSettings) -> dict[str, Bound]:
    """The overridable decoding settings (every field of GenerationSettings) and their bounds; the costly
    ones (``max_new_tokens``, ``min_new_tokens``, ``beam``) are capped by the server's settings."""
    return {
        "max_new_tokens": Bound(int, 1, settings.max_new_tokens),
        "min_new_tokens": Bound(int, 0, settings.max_new_tokens),
        "beam": Bound(int, 1, settings.max_beam),
        "length_penalty": Bound(float),
        "sampling": Bound(bool),
        "temperature": Bound(float, 0, low_open=True),
        "top_k": Bound(int, 0),
        "top_p": Bound(float, 0, 1, low_open=True),
        "no_repeat_ngram_size": Bound(int, 0),
        "seed": Bound(int, 0, _SEED_MAX),
    }


def max_body_bytes(settings: ServeSettings) -> int:
    """The size of the largest body a valid request could have."""
    return settings.max_texts * (settings.max_chars * _JSON_BYTES_PER_CHAR + 8) + _ENVELOPE_BYTES


def decode_body(body: bytes) -> Any:
    """The JSON value of a raw body: 400 for bytes that are not UTF-8 or not JSON."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RequestError(
            400, "body", f"not UTF-8 (byte {error.start} is {body[error.start]:#04x}); send JSON in UTF-8"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise RequestError(
            400, "body", f"malformed JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None


def _text(value: Any, field: str, settings: ServeSettings) -> str:
    if not isinstance(value, str):
        raise RequestError(422, field, f"expected a string, got {_json_type(value)}")
    if not value.strip():
        raise RequestError(
            422, field, f"empty text; expected 1 to {settings.max_chars} characters (serve.max_chars)"
        )
    if len(value) > settings.max_chars:
        raise RequestError(
            422,
            field,
            f"{len(value)} characters, over the limit of {settings.max_chars} (serve.max_chars)",
        )
    return value


def _texts(body: Mapping[str, Any], settings: ServeSettings) -> tuple[str, ...]:
    if ("text" in body) == ("texts" in body):
        raise RequestError(422, "text", 'expected exactly one of "text" (a string) and "texts" (a list)')
    if "text" in body:
        return (_text(body["text"], "text", settings),)
    texts = body["texts"]
    if not isinstance(texts, list):
        raise RequestError(422, "texts", f"expected a list of strings, got {_json_type(texts)}")
    if not 1 <= len(texts) <= settings.max_texts:
        raise RequestError(
            422,
            "texts",
            f"{len(texts)} texts; expected 1 to {settings.max_texts} (serve.max_texts)",
        )
    return tuple(_text(text, f"texts[{index}]", settings) for index, text in enumerate(texts))


def _generation(value: Any, base: GenerationSettings, settings: ServeSettings) -> GenerationSettings:
    if not isinstance(value, dict):
        raise RequestError(422, "generation", f"expected an object, got {_json_type(value)}")
    bounds = generation_bounds(settings)
    for key, override in value.items():
        field = f"generation.{key}"
        if key not in bounds:
            raise RequestError(422, field, f"unknown setting; expected one of: {', '.join(bounds)}")
        if not bounds[key].accepts(override):
            raise RequestError(422, field, f"{json.dumps(override)}; expected {bounds[key].allowed()}")
    try:
        return dataclasses.replace(base, **value)
    except ValueError as error:  # settings that exclude each other (sampling with beam > 1, ...)
        raise RequestError(422, "generation", str(error)) from None


def parse_request(body: Any, base: GenerationSettings, settings: ServeSettings) -> ExtractRequest:
    """The request in a decoded JSON body; ``base``: the server's decoding settings."""
    if not isinstance(body, dict):
        raise RequestError(422, "body", f"expected a JSON object, got {_json_type(body)}")
    unknown = [key for key in body if key not in _BODY_KEYS]
    if unknown:
        raise RequestError(422, unknown[0], f"unknown field; expected: {', '.join(_BODY_KEYS)}")
    generation = _generation(body["generation"], base, settings) if "generation" in body else base
    if generation.min_new_tokens > generation.max_new_tokens:
        raise RequestError(
            422,
            "generation.min_new_tokens",
            f"{generation.min_new_tokens} exceeds max_new_tokens {generation.max_new_tokens}",
        )
    if generation.beam > 1 and generation.min_new_tokens == generation.max_new_tokens:
        raise RequestError(
            422,
            "generation.min_new_tokens",
            f"{generation.min_new_tokens} leaves beam search no room for the </s> that ends a hypothesis "
            f"within max_new_tokens {generation.max_new_tokens}; expected less than max_new_tokens",
        )
    return ExtractRequest(_texts(body, settings), generation)


def _json_type(value: Any) -> str:
    """How JSON names the type of a decoded value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return {str: "a string", list: "an array", dict: "an object"}.get(type(value), type(value).__name__)


def request_schema(settings: ServeSettings) -> dict[str, Any]:
    """The JSON schema of a valid body, for the OpenAPI page."""
    text = {"type": "string", "minLength": 1, "maxLength": settings.max_chars}
    generation: dict[str, Any] = {}
    for key, bound in generation_bounds(settings).items():
        schema: dict[str, Any] = {"type": {int: "integer", float: "number", bool: "boolean"}[bound.kind]}
        if bound.low is not None:
            schema["exclusiveMinimum" if bound.low_open else "minimum"] = bound.low
        if bound.high is not None:
            schema["maximum"] = bound.high
        generation[key] = schema
    return {
        "type": "object",
        "properties": {
            "text": text,
            "texts": {"type": "array", "items": text, "minItems": 1, "maxItems": settings.max_texts},
            "generation": {"type": "object", "properties": generation, "additionalProperties": False},
        },
        "additionalProperties": False,
        "oneOf": [{"required": ["text"]}, {"required": ["texts"]}],
        "example": {"text": "Aspirin inhibits COX-1.", "generation": {"max_new_tokens": 64}},
    }
