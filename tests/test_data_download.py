"""``biogpt-data``: datasets fetched through the real code path with ``../shared/data`` as the mirror
(a local directory, or served over HTTP with Range support), verified byte for byte against the
pins; a corrupted mirror, an interrupted download, no network, and the PubMed baseline's MD5 files."""

from __future__ import annotations

import filecmp
import gzip
import hashlib
import os
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from project_commands import run_command

from biogpt.data.download import main
from biogpt.data.files.fetch import ChecksumError, partial_path
from biogpt.data.files.install import download
from biogpt.data.files.sources import Archive, datasets, pins, select

# Not downloadable datasets: the shared data's own notes and the PubMed samples.
NOT_DATASETS = ("README.md", "PubMed/")


def shared_files(shared_data: Path) -> set[str]:
    found = {path.relative_to(shared_data).as_posix() for path in shared_data.rglob("*") if path.is_file()}
    return {path for path in found if not path.startswith(NOT_DATASETS)}


class RangeHandler(SimpleHTTPRequestHandler):
    """A static file server that honours ``Range: bytes=N-`` and records the ranges it served."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        requested = self.headers.get("Range")
        if requested is None:
            super().do_GET()
            return
        self.server.ranges.append((self.path, requested))  # type: ignore[attr-defined]
        path = Path(self.translate_path(self.path))
        start = int(requested.removeprefix("bytes=").removesuffix("-"))
        data = path.read_bytes()
        if start >= len(data):
            self.send_error(416)
            return
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serve(directory: Path) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """An HTTP server over ``directory`` on a free local port: its URL and the ranges it served."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(RangeHandler, directory=str(directory)))
    server.ranges = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", server.ranges  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _no_proxy_for_local_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def test_every_pin_belongs_to_a_dataset_file_and_every_shared_file_is_pinned(shared_data: Path) -> None:
    files = {f.path: f for dataset in datasets().values() for f in dataset.files}
    assert set(pins()) <= set(files)
    assert set(pins()) == shared_files(shared_data)
    assert [path for path, f in files.items() if f.sha256 is None] == ["KD-DTI/raw/train.json"]


def test_download_all_from_the_mirror_reproduces_every_file_and_check_passes(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "data"
    assert main(["download", "all", "--data-dir", str(target), "--mirror", str(shared_data)]) == 0
    written = {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()}
    assert written == shared_files(shared_data)
    match, mismatch, errors = filecmp.cmpfiles(shared_data, target, sorted(written), shallow=False)
    assert (mismatch, errors) == ([], [])
    assert "skipped KD-DTI/raw/train.json, which has no pinned checksum" in capsys.readouterr().out

    assert main(["check", "--data-dir", str(target)]) == 0
    report = capsys.readouterr().out
    assert all(f"{name:<9} present" in report for name in datasets())
    assert "missing (no pinned checksum): KD-DTI/raw/train.json" in report

    # A second run finds everything in place and fetches nothing.
    assert main(["download", "all", "--data-dir", str(target), "--mirror", "/nonexistent"]) == 0


def test_check_names_a_wrong_file_with_both_digests(shared_data: Path, tmp_path: Path, capsys) -> None:
    assert main(["download", "ddi", "--data-dir", str(tmp_path), "--mirror", str(shared_data)]) == 0
    path = tmp_path / "DDI/raw/valid.json"
    path.write_bytes(path.read_bytes()[:-1] + b"!")
    capsys.readouterr()
    assert main(["check", "ddi", "hoc", "--data-dir", str(tmp_path)]) == 1
    report = capsys.readouterr().out
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    assert (
        f"wrong checksum: DDI/raw/valid.json: expected sha256 {pins()['DDI/raw/valid.json']}, got {actual}"
        in report
    )
    assert "hoc       missing" in report
    assert f"biogpt-data download ddi hoc --data-dir {tmp_path}" in report


def _corrupted_mirror(shared_data: Path, root: Path) -> Path:
    """A mirror of the ddi dataset whose valid.json has one byte changed."""
    for file in select(["ddi"])[0].files:
        mirrored = root / file.path
        mirrored.parent.mkdir(parents=True, exist_ok=True)
        mirrored.symlink_to(shared_data / file.path)
    corrupted = root / "DDI/raw/valid.json"
    data = bytearray(corrupted.read_bytes())
    corrupted.unlink()
    data[1000] ^= 1
    corrupted.write_bytes(bytes(data))
    return corrupted


def test_a_corrupted_mirror_file_is_refused_naming_it_and_both_digests(
    shared_data: Path, tmp_path: Path
) -> None:
    corrupted = _corrupted_mirror(shared_data, tmp_path / "mirror")
    target = tmp_path / "data"
    with pytest.raises(ChecksumError) as raised:
        main(["download", "ddi", "--data-dir", str(target), "--mirror", str(tmp_path / "mirror")])
    message = str(raised.value)
    destination = target / "DDI/raw/valid.json"
    assert str(destination) in message and str(corrupted) in message
    assert pins()["DDI/raw/valid.json"] in message
    assert hashlib.sha256(corrupted.read_bytes()).hexdigest() in message
    assert not destination.exists() and not partial_path(destination).exists()

    # An existing file is kept when its replacement does not verify.
    destination.write_text("an older copy")
    with pytest.raises(ChecksumError, match="the existing file was kept"):
        main(["download", "ddi", "--data-dir", str(target), "--mirror", str(tmp_path / "mirror")])
    assert destination.read_text() == "an older copy"
    assert not partial_path(destination).exists()


def test_an_interrupted_download_resumes_with_a_range_request(shared_data: Path, tmp_path: Path) -> None:
    destination = tmp_path / "DDI/raw/train.json"
    destination.parent.mkdir(parents=True)
    offset = 100_000
    partial_path(destination).write_bytes((shared_data / "DDI/raw/train.json").read_bytes()[:offset])
    with serve(shared_data) as (url, ranges):
        assert main(["download", "ddi", "--data-dir", str(tmp_path), "--mirror", url]) == 0
    assert ranges == [("/DDI/raw/train.json", f"bytes={offset}-")]
    for name in ("train", "valid", "test"):
        assert filecmp.cmp(
            shared_data / f"DDI/raw/{name}.json", tmp_path / f"DDI/raw/{name}.json", shallow=False
        )
    assert not partial_path(destination).exists()


def test_a_url_mirror_serves_paths_with_spaces(shared_data: Path, tmp_path: Path) -> None:
    test_folder = "DDI2013/DDICorpus/Test/Test for DDI Extraction task/MedLine"
    with serve(shared_data) as (url, _):
        assert main(["download", "ddi2013", "--data-dir", str(tmp_path), "--mirror", url]) == 0
    assert filecmp.dircmp(shared_data / test_folder, tmp_path / test_folder).diff_files == []
    assert len(list((tmp_path / test_folder).iterdir())) == len(list((shared_data / test_folder).iterdir()))


def test_archive_members_are_extracted_verified_and_the_archive_removed(
    shared_data: Path, tmp_path: Path
) -> None:
    """The official DDI-2013 path (no mirror): the archive is fetched, verified, and its members
    extracted against their own pins; here a local zip of three corpus files stands in for it."""
    corpus = select(["ddi2013"])[0]
    members = [f for f in corpus.files if f.member is not None][:3]
    bundle = tmp_path / "corpus.zip"
    with zipfile.ZipFile(bundle, "w") as archive:
        for file in members:
            archive.write(shared_data / file.path, str(file.member))
    digest = hashlib.sha256(bundle.read_bytes()).hexdigest()
    stand_in = replace(
        corpus, files=tuple(members), archive=Archive(str(bundle), digest, "DDI2013/corpus.zip")
    )
    target = tmp_path / "data"
    download([stand_in], target, log=lambda _: None)
    for file in members:
        assert filecmp.cmp(shared_data / file.path, target / file.path, shallow=False)
    assert sorted(p.name for p in (target / "DDI2013").iterdir()) == ["DDICorpus"]


def test_offline_without_a_mirror_fails_at_once_naming_url_and_destination(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy", "http_proxy")}
    # A proxy on the discard port: every connection is refused at once, as on a machine without network.
    environment |= {"https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}
    started = time.monotonic()
    # One command with this environment: a fresh interpreter costs less than a command server.
    result = run_command(
        ["-m", "biogpt.data.download", "download", "ddi", "--data-dir", str(tmp_path)],
        env=environment,
        timeout=120,
        fresh=True,
    )
    assert result.returncode == 1, result.stderr
    assert time.monotonic() - started < 30
    assert "Traceback" not in result.stderr
    url = select(["ddi"])[0].files[0].url
    assert f"error: cannot download {url} to {tmp_path / 'DDI/raw/train.json'}" in result.stderr
    assert not any(tmp_path.rglob("*.json*"))


def _baseline_mirror(root: Path, wrong_md5: str | None = None) -> Path:
    """Three tiny baseline files with NCBI-style ``.md5`` files (one wrong if asked)."""
    folder = root / "PubMed" / "baseline"
    folder.mkdir(parents=True)
    for number in (1, 2, 3):
        name = f"pubmed99n{number:04d}.xml.gz"
        data = gzip.compress(f"<PubmedArticleSet><!-- {number} --></PubmedArticleSet>".encode(), mtime=0)
        (folder / name).write_bytes(data)
        digest = hashlib.md5(data).hexdigest() if name != wrong_md5 else "0" * 32
        (folder / f"{name}.md5").write_text(f"MD5({name})= {digest}\n")
    (folder / "README.txt").write_text("not a baseline file")
    return root


def test_pubmed_baseline_files_and_range_from_a_mirror(tmp_path: Path) -> None:
    mirror = _baseline_mirror(tmp_path / "mirror")
    target = tmp_path / "data"
    common = ["--data-dir", str(target), "--mirror", str(mirror)]
    assert main(["pubmed", "--baseline", "--files", "1", *common]) == 0
    folder = target / "PubMed" / "baseline"
    assert sorted(p.name for p in folder.iterdir()) == ["pubmed99n0001.xml.gz", "pubmed99n0001.xml.gz.md5"]
    with serve(mirror) as (url, _):
        assert (
            main(["pubmed", "--baseline", "--range", "2-3", "--data-dir", str(target), "--mirror", url]) == 0
        )
    names = sorted(p.name for p in folder.iterdir() if p.suffix == ".gz")
    assert names == [f"pubmed99n000{n}.xml.gz" for n in (1, 2, 3)]
    for name in names:
        assert filecmp.cmp(mirror / "PubMed/baseline" / name, folder / name, shallow=False)


def test_pubmed_baseline_md5_mismatch_is_refused(tmp_path: Path) -> None:
    mirror = _baseline_mirror(tmp_path / "mirror", wrong_md5="pubmed99n0002.xml.gz")
    target = tmp_path / "data"
    with pytest.raises(ChecksumError, match=f"expected md5 {'0' * 32}, got [0-9a-f]{{32}}"):
        main(["pubmed", "--baseline", "--range", "1-2", "--data-dir", str(target), "--mirror", str(mirror)])
    folder = target / "PubMed" / "baseline"
    assert (folder / "pubmed99n0001.xml.gz").is_file()
    assert not (folder / "pubmed99n0002.xml.gz").exists()
    assert not partial_path(folder / "pubmed99n0002.xml.gz").exists()
