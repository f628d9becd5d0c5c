"""``biogpt-serve`` through HTTP, as its users reach it: one server (``python -m biogpt.serve``) on a free
port of 127.0.0.1 for the whole module, serving the tiny DDI model ``train.py`` fine-tuned
(``tests/extraction_models.py``: it memorised 4 test documents, so it states real relations for them).

The oracle is the extraction engine itself, loaded in this process with the same settings: every
answer, batched or not, under load or not, must equal what it gives for the same text.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from project_commands import run_project
from serve_process import HOST, PROJECT, Service, ended_within, running_service

from biogpt.data.tasks import load_task_split, make_task_settings
from biogpt.extraction.corpus import read_shard
from biogpt.extraction.engine import ExtractionSettings, Extractor
from biogpt.generation import GenerationSettings
from biogpt.serving.api import RESULT_FIELDS, extraction_json

MAX_CHARS = 5000
MAX_TEXTS = 4
MAX_NEW_TOKENS = 64  # serve.max_new_tokens: the most a request may ask
DEFAULT_NEW_TOKENS = 24  # eval.generation.max_new_tokens: what the server decodes by default
LOAD_NEW_TOKENS = 12  # the load test's requests: many short generations
SHORT_TEXT = "Aspirin may increase the anticoagulant effect of warfarin."
DOCS_SCREENSHOT = PROJECT / "docs" / "serve-page.png"


@pytest.fixture(scope="module")
def ddi_texts(shared_data: Path, fine_tuned_ddi: Path) -> list[str]:
    """The 4 DDI test documents the model memorised (its run's ``train_ids``), 2 it did not, and a
    short sentence."""
    examples = load_task_split(make_task_settings("ddi", data_dir=str(shared_data)), "test").examples
    memorised = json.loads((fine_tuned_ddi.parent / "train_summary.json").read_text())["train_ids"]
    by_id = {example.id: example.source for example in examples}
    others = [example.source for example in examples if example.id not in memorised][:2]
    return [by_id[name] for name in memorised] + others + [SHORT_TEXT]


@pytest.fixture(scope="module")
def engine(fine_tuned_ddi: Path, shared_data: Path) -> Extractor:
    """The engine, with the settings the server is started with below."""
    return Extractor.load(
        ExtractionSettings(
            ckpt=str(fine_tuned_ddi),
            vocab_root=shared_data / "vocab",
            generation=GenerationSettings(max_new_tokens=DEFAULT_NEW_TOKENS, seed=1),
            dtype="fp32",
            batch_size=8,
        )
    )


@pytest.fixture(scope="module")
def service(
    fine_tuned_ddi: Path, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    arguments = [
        f"ckpt={fine_tuned_ddi}",
        f"data_dir={shared_data}",
        "serve.max_batch_size=8",
        "serve.batch_timeout=0.05",
        f"serve.max_chars={MAX_CHARS}",
        f"serve.max_texts={MAX_TEXTS}",
        f"serve.max_new_tokens={MAX_NEW_TOKENS}",
        f"eval.generation.max_new_tokens={DEFAULT_NEW_TOKENS}",
        "eval.batch_size=8",
    ]
    # Started as a script's background job starts it: Ctrl+C must still end it whole on the way out.
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with running_service(arguments, log, sigint_ignored=True) as running:
        yield running


def expected(engine: Extractor, texts: list[str], **generation: Any) -> list[dict[str, Any]]:
    config = GenerationSettings(**{"max_new_tokens": DEFAULT_NEW_TOKENS, "seed": 1, **generation})
    return [extraction_json(extraction) for extraction in engine.extract(texts, generation=config)]


def test_answers_equal_the_engines(service: Service, engine: Extractor, ddi_texts: list[str]) -> None:
    answer = service.extract({"texts": ddi_texts[:MAX_TEXTS]})
    assert answer.status == 200, answer.body
    assert answer.body == {"results": expected(engine, ddi_texts[:MAX_TEXTS])}
    # The model memorised these documents: it states relations whose arguments are in them.
    for text, result in zip(ddi_texts, answer.body["results"], strict=False):
        assert result["relations"] and not result["parse_failed"]
        for relation in result["relations"]:
            for role in ("head", "tail"):
                if relation[f"{role}_span"] is not None:
                    start, end = relation[f"{role}_span"]
                    assert text[start:end].lower() == relation[role].lower()
    assert any(r["head_span"] and r["tail_span"] for r in answer.body["results"][0]["relations"])
    # One text alone, and with a decoding override within the limits.
    single = service.extract({"text": ddi_texts[4]})
    assert single.status == 200 and single.body == {"results": expected(engine, [ddi_texts[4]])}
    override = service.extract({"text": ddi_texts[5], "generation": {"max_new_tokens": 5}})
    assert override.body == {"results": expected(engine, [ddi_texts[5]], max_new_tokens=5)}


def test_answers_equal_biogpt_extracts(
    service: Service, ddi_texts: list[str], fine_tuned_ddi: Path, shared_data: Path, tmp_path: Path
) -> None:
    """The same texts as a corpus through ``biogpt-extract`` with the server's decoding settings."""
    corpus = tmp_path / "texts.jsonl"
    corpus.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(ddi_texts)))
    out = tmp_path / "kb"
    run_project(
        [
            "-m",
            "biogpt.extract",
            f"ckpt={fine_tuned_ddi}",
            f"input={corpus}",
            f"out={out}",
            f"data_dir={shared_data}",
            f"eval.generation.max_new_tokens={DEFAULT_NEW_TOKENS}",
            "eval.batch_size=8",
            "format=jsonl",
            "progress=false",
        ]
    )
    rows = [row for shard in sorted((out / "extractions").iterdir()) for row in read_shard(shard)]
    assert [row["id"] for row in rows] == [str(i) for i in range(len(ddi_texts))]
    answers = [service.extract({"text": text}).body["results"][0] for text in ddi_texts]
    assert answers == [{field: row[field] for field in RESULT_FIELDS} for row in rows]


def test_a_document_longer_than_the_models_positions_is_truncated_and_flagged(
    service: Service, engine: Extractor, ddi_texts: list[str]
) -> None:
    answer = service.extract({"texts": [ddi_texts[0], SHORT_TEXT]})
    long, short = answer.body["results"]
    assert len(engine.sources([ddi_texts[0]])[0]) > engine.max_source_tokens
    assert long["truncated"] is True and short["truncated"] is False


TOO_LONG = "a" * (MAX_CHARS + 1)


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


# (name, body, status, field, words the message must hold: the field's limit)
# fmt: off
BAD_REQUESTS: list[tuple[str, bytes, int, str, str]] = [
    ("empty text", b'{"text": ""}', 422, "text", "empty text"),
    ("blank text", b'{"text": "  \\n "}', 422, "text", "empty text"),
    ("text too long", _json({"text": TOO_LONG}), 422, "text", f"limit of {MAX_CHARS}"),
    ("a text too long", _json({"texts": ["ok", TOO_LONG]}), 422, "texts[1]", "serve.max_chars"),
    ("too many texts", _json({"texts": ["ok"] * (MAX_TEXTS + 1)}), 422, "texts", f"1 to {MAX_TEXTS}"),
    ("no texts", b'{"texts": []}', 422, "texts", "serve.max_texts"),
    ("text not a string", b'{"text": 42}', 422, "text", "expected a string, got a number"),
    ("texts not a list", b'{"texts": "abc"}', 422, "texts", "expected a list of strings"),
    ("a text not a string", b'{"texts": ["ok", null]}', 422, "texts[1]", "expected a string, got null"),
    ("body not an object", b'["a text"]', 422, "body", "expected a JSON object, got an array"),
    ("both text and texts", b'{"text": "a", "texts": ["b"]}', 422, "text", "exactly one of"),
    ("neither text nor texts", b"{}", 422, "text", "exactly one of"),
    ("unknown field", b'{"text": "a", "txt": "b"}', 422, "txt", "unknown field"),
    ("malformed JSON", b'{"text": "a"', 400, "body", "malformed JSON at line 1"),
    ("non-UTF-8 body", b'{"text": "caf\xe9"}', 400, "body", "not UTF-8"),
    ("unknown generation key", b'{"text": "a", "generation": {"beams": 2}}', 422, "generation.beams",
     "max_new_tokens"),
    ("generation not an object", b'{"text": "a", "generation": 5}', 422, "generation", "expected an object"),
    ("max_new_tokens over the limit", b'{"text": "a", "generation": {"max_new_tokens": 100000}}', 422,
     "generation.max_new_tokens", f"[1, {MAX_NEW_TOKENS}]"),
    ("max_new_tokens of the wrong type", b'{"text": "a", "generation": {"max_new_tokens": "8"}}', 422,
     "generation.max_new_tokens", "an integer"),
    ("beam over the limit", b'{"text": "a", "generation": {"beam": 6}}', 422, "generation.beam", "[1, 5]"),
    ("top_p out of range", b'{"text": "a", "generation": {"top_p": 0}}', 422, "generation.top_p", "(0, 1]"),
    ("sampling with beam search", b'{"text": "a", "generation": {"sampling": true, "beam": 2}}', 422,
     "generation", "exclusive"),
    ("min over max new tokens", b'{"text": "a", "generation": {"min_new_tokens": 9, "max_new_tokens": 8}}',
     422, "generation.min_new_tokens", "exceeds"),
    ("min equal to max under beam search",
     b'{"text": "a", "generation": {"beam": 2, "min_new_tokens": 8, "max_new_tokens": 8}}',
     422, "generation.min_new_tokens", "no room for the </s>"),
    ("body larger than any valid request", b'{"text": "' + b"a" * (MAX_TEXTS * MAX_CHARS * 6 + 5000) + b'"}',
     413, "body", "serve.max_chars"),
]
# fmt: on


@pytest.mark.parametrize(
    ("body", "status", "field", "words"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
def test_bad_input_gets_its_4xx_and_the_server_keeps_serving(
    service: Service, engine: Extractor, body: bytes, status: int, field: str, words: str
) -> None:
    answer = service.request("POST", "/extract", body)
    assert answer.status == status, answer.body
    assert answer.body["field"] == field, answer.body
    assert answer.body["error"].startswith(f"{field}: ") and words in answer.body["error"], answer.body
    # A worker still answers (a short generation: what counts is that the model runs).
    after = service.extract({"text": SHORT_TEXT, "generation": {"max_new_tokens": 2}})
    assert after.status == 200 and after.body == {"results": expected(engine, [SHORT_TEXT], max_new_tokens=2)}


def test_a_form_encoded_body_is_read_as_json(service: Service, engine: Extractor) -> None:
    """``curl -d`` without a Content-Type sends a form type: the JSON body is still what counts."""
    body = _json({"text": SHORT_TEXT})
    answer = service.request("POST", "/extract", body, content_type="application/x-www-form-urlencoded")
    assert answer.status == 200 and answer.body == {"results": expected(engine, [SHORT_TEXT])}


def test_health_names_what_is_served_and_counts_requests(service: Service, fine_tuned_ddi: Path) -> None:
    before = service.request("GET", "/health").body
    assert before["status"] == "ok"
    assert before["model"] == str(fine_tuned_ddi) and before["task"] == "ddi"
    assert before["device"] == "cpu" and before["dtype"] == "float32"
    assert before["uptime_s"] > 0
    assert service.extract({"text": SHORT_TEXT}).status == 200
    assert service.extract({"text": ""}).status == 422
    after = service.request("GET", "/health").body
    assert after["requests_served"] == before["requests_served"] + 1  # answered, not refused
    assert after["uptime_s"] > before["uptime_s"]


def test_openapi_documents_the_request_and_its_limits(service: Service) -> None:
    assert service.request("GET", "/docs").status == 200
    schema = service.request("GET", "/openapi.json").body
    body = schema["paths"]["/extract"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["text"]["maxLength"] == MAX_CHARS
    assert body["properties"]["texts"]["maxItems"] == MAX_TEXTS
    assert body["properties"]["generation"]["properties"]["max_new_tokens"]["maximum"] == MAX_NEW_TOKENS
    assert {"/health", "/example"} <= set(schema["paths"])


def test_concurrent_clients_are_batched_and_all_answered_correctly(
    service: Service, engine: Extractor, ddi_texts: list[str]
) -> None:
    """200 requests from 16 concurrent clients: every one answered, each as the engine answers its text."""
    generation = {"max_new_tokens": LOAD_NEW_TOKENS}
    answered = expected(engine, ddi_texts, **generation)
    oracle = {text: result for text, result in zip(ddi_texts, answered, strict=True)}
    texts = [ddi_texts[i % len(ddi_texts)] for i in range(200)]
    with ThreadPoolExecutor(max_workers=16) as clients:
        answers = list(
            clients.map(lambda text: service.extract({"text": text, "generation": generation}), texts)
        )
    assert [answer.status for answer in answers] == [200] * len(texts)
    for text, answer in zip(texts, answers, strict=True):
        assert answer.body == {"results": [oracle[text]]}, text[:60]
    log = service.log.read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]


def highlight_spans(relations: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """The page's rule (page.js highlightSpans): distinct spans by start, the longer first, an overlapping
    one left out."""
    spans = {tuple(r[role]) for r in relations for role in ("head_span", "tail_span") if r[role] is not None}
    placed: list[tuple[int, int]] = []
    for start, end in sorted(spans, key=lambda span: (span[0], -span[1])):
        if not placed or start >= placed[-1][1]:
            placed.append((start, end))
    return placed


def _browser() -> Any:
    webdriver = pytest.importorskip("selenium.webdriver")
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.skip(
            "Debian's chromium and chromium-driver are not installed (scripts/setup.sh installs them)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1100,1000"):
        options.add_argument(argument)
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver))


def _answered_page(browser: Any, service: Service, text: str) -> list[tuple[int, int]]:
    """Press Extract on the page showing ``text``; check its table and highlights against the API's
    answer for the same text; returns the highlighted spans."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.find_element(By.ID, "extract").click()
    WebDriverWait(browser, 120).until(
        lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "answered"
    )
    [api] = service.extract({"text": text}).body["results"]
    rows = [
        [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
        for row in browser.find_elements(By.CSS_SELECTOR, "#relations tbody tr")
    ]
    assert rows == [[str(i + 1), r["head"], r["type"], r["tail"]] for i, r in enumerate(api["relations"])]
    marks = browser.find_elements(By.CSS_SELECTOR, "#highlighted mark")
    spans = [(int(m.get_attribute("data-start")), int(m.get_attribute("data-end"))) for m in marks]
    assert spans == highlight_spans(api["relations"])
    assert [m.text for m in marks] == [text[start:end].strip() for start, end in spans]
    # The whole text is shown, nothing added or lost around the marks.
    assert browser.find_element(By.ID, "highlighted").text.split() == text.split()
    return spans


def test_the_page_extracts_the_prefilled_abstract_in_a_real_browser(
    service: Service, ddi_texts: list[str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    example = service.request("GET", "/example").body
    assert example["text"] and "ddi test split" in example["source"]
    browser = _browser()
    try:
        browser.get(f"{service.url}/")
        WebDriverWait(browser, 120).until(
            lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "ready"
        )
        textarea = browser.find_element(By.ID, "text")
        assert textarea.get_property("value") == example["text"]  # prefilled with the task's example
        _answered_page(browser, service, example["text"])
        # A document the model memorised: relations whose arguments are in the text, highlighted.
        browser.execute_script(
            "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'));",
            textarea,
            ddi_texts[0],
        )
        assert _answered_page(browser, service, ddi_texts[0])
        artifacts = tmp_path_factory.mktemp("artifacts")
        assert browser.save_screenshot(str(artifacts / "serve-page.png"))
        if os.environ.get("BIOGPT_UPDATE_SCREENSHOT"):
            browser.save_screenshot(str(DOCS_SCREENSHOT))  # the README's picture
    finally:
        browser.quit()


def test_kill_stops_the_whole_service(fine_tuned_ddi: Path, shared_data: Path, tmp_path: Path) -> None:
    """SIGTERM to the main process alone (``kill <pid>``) ends every process of the service and closes
    its port (it ended the main process alone, leaving the HTTP server answering beside orphaned
    workers). Ctrl+C is checked wherever a test's service stops (:func:`running_service`), with SIGINT
    ignored at its start for the module's service."""
    arguments = [f"ckpt={fine_tuned_ddi}", f"data_dir={shared_data}"]
    with running_service(arguments, tmp_path / "serve.log") as service:
        assert service.extract({"text": SHORT_TEXT}).status == 200
        os.kill(service.process.pid, signal.SIGTERM)
        assert ended_within(service.process, 30), service.log.read_text()[-3000:]
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((HOST, service.port), timeout=5).close()
