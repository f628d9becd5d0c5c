"""The oneDNN projections (``network.ONEDNN_LINEAR``) compute what ``F.linear`` computes: logits,
cached decoding and gradients agree within fp32 tolerance, and every other case takes ``F.linear``. So
do one-row bf16 products through ``torch.mv`` (``network.BF16_MATVEC``), within bf16 rounding; and the
float32 logits of a bf16 embedding, whose copies reuse one buffer per thread without gradients."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
import torch.nn.functional as F

from biogpt.generation import GenerationSettings, generate
from biogpt.model import network
from biogpt.model.config import BioGPTConfig
from biogpt.model.precision import cpu_runs_amx
from biogpt.model.pretrained import BioGPT

# Available is enough: the tests switch the path on themselves, whatever the default (F.linear below AVX2).
pytestmark = pytest.mark.skipif(not network.ONEDNN_AVAILABLE, reason="oneDNN linear not available")


@pytest.fixture(autouse=True)
def every_product_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests' tiny shapes take the oneDNN path when it is switched on, whatever their width, and so
    do training's products, whatever this CPU's defaults (on an Intel CPU training keeps MKL)."""
    monkeypatch.setattr(network, "ONEDNN_MIN_FEATURES", 1)
    monkeypatch.setattr(network, "ONEDNN_TRAINING", True)


@pytest.fixture
def model() -> BioGPT:
    torch.manual_seed(0)
    config = BioGPTConfig.from_preset("tiny", vocab_size=300, dropout=0.0, attention_dropout=0.0)
    return BioGPT(config)


def _with_flag(monkeypatch: pytest.MonkeyPatch, value: bool) -> None:
    monkeypatch.setattr(network, "ONEDNN_LINEAR", value)


def test_linear_matches_f_linear_forward_and_backward(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(network, "ONEDNN_MIN_ROWS", 1)
    torch.manual_seed(0)
    for bias in (True, False):
        x = torch.randn(3, 5, 16, requires_grad=True)
        weight = torch.randn(8, 16, requires_grad=True)
        b = torch.randn(8, requires_grad=True) if bias else None
        grad = torch.randn(3, 5, 8)
        ours = network.linear(x, weight, b)
        ours.backward(grad)
        mine = [t.grad.clone() for t in (x, weight, b) if t is not None]
        for t in (x, weight, b):
            if t is not None:
                t.grad = None
        reference = F.linear(x, weight, b)
        reference.backward(grad)
        torch.testing.assert_close(ours, reference, atol=1e-5, rtol=1e-5)
        for got, t in zip(mine, [t for t in (x, weight, b) if t is not None], strict=True):
            torch.testing.assert_close(got, t.grad, atol=1e-5, rtol=1e-5)


def test_linear_grad_of_weight_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(network, "ONEDNN_MIN_ROWS", 1)
    x = torch.randn(4, 16)
    weight = torch.randn(8, 16, requires_grad=True)
    network.linear(x, weight).sum().backward()
    expected = torch.ones(4, 8).t() @ x
    torch.testing.assert_close(weight.grad, expected, atol=1e-5, rtol=1e-5)


def test_other_dtypes_and_autocast_take_f_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object) -> torch.Tensor:
        raise AssertionError("oneDNN path taken")

    monkeypatch.setattr(network, "_onednn_linear", fail)
    x, weight = torch.randn(2, 16), torch.randn(8, 16)
    torch.testing.assert_close(
        network.linear(x.bfloat16(), weight.bfloat16()), F.linear(x.bfloat16(), weight.bfloat16())
    )
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = network.linear(x, weight)
    assert out.dtype == torch.bfloat16
    _with_flag(monkeypatch, False)
    assert torch.equal(network.linear(x, weight), F.linear(x, weight))


@pytest.mark.parametrize("min_rows", [1, 2])
def test_logits_and_cached_decoding_match_f_linear(
    model: BioGPT, monkeypatch: pytest.MonkeyPatch, min_rows: int
) -> None:
    monkeypatch.setattr(network, "ONEDNN_MIN_ROWS", min_rows)
    model.eval()
    ids = torch.randint(4, 300, (3, 12), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)
    mask[1, :4] = 0  # a left-padded row
    results = {}
    for flag in (False, True):
        _with_flag(monkeypatch, flag)
        with torch.no_grad():
            full = model(ids, mask)
            cache = model.new_cache(3, 12)
            steps = [model(ids[:, :8], mask[:, :8], cache=cache)]
            steps += [model(ids[:, t : t + 1], mask[:, : t + 1], cache=cache) for t in range(8, 12)]
        results[flag] = (full, torch.cat(steps, 1))
    torch.testing.assert_close(results[True][0], results[False][0], atol=1e-5, rtol=0)
    torch.testing.assert_close(results[True][1], results[False][1], atol=1e-5, rtol=0)


def test_training_gradients_match_f_linear(model: BioGPT, monkeypatch: pytest.MonkeyPatch) -> None:
    model.train()
    ids = torch.randint(4, 300, (2, 10), generator=torch.Generator().manual_seed(2))
    results = {}
    for flag in (False, True):
        _with_flag(monkeypatch, flag)
        model.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(ids)[:, :-1].flatten(0, 1), ids[:, 1:].flatten())
        loss.backward()
        results[flag] = (loss.detach(), {name: p.grad.clone() for name, p in model.named_parameters()})
    torch.testing.assert_close(results[True][0], results[False][0], atol=1e-6, rtol=0)
    for name, grad in results[False][1].items():
        torch.testing.assert_close(results[True][1][name], grad, atol=1e-5, rtol=1e-4, msg=name)


def test_greedy_and_beam_tokens_match_f_linear(model: BioGPT, monkeypatch: pytest.MonkeyPatch) -> None:
    prefixes = [[2, 17, 40, 33], [2, 90, 5]]
    tokens = {}
    for flag in (False, True):
        _with_flag(monkeypatch, flag)
        tokens[flag] = [
            generate(model, prefixes, GenerationSettings(max_new_tokens=8, beam=beam), eos_id=2, pad_id=1)
            for beam in (1, 3)
        ]
    assert tokens[True] == tokens[False]


def test_bias_only_training_gets_gradients(monkeypatch: pytest.MonkeyPatch) -> None:
    _with_flag(monkeypatch, True)
    x, weight = torch.randn(4, 16), torch.randn(8, 16)
    bias = torch.zeros(8, requires_grad=True)
    network.linear(x, weight, bias).sum().backward()
    torch.testing.assert_close(bias.grad, torch.full((8,), 4.0))


def test_hooked_projections_run_their_hooks(model: BioGPT) -> None:
    calls = []
    model.layers[0].fc1.register_forward_hook(lambda module, args, out: calls.append(out.shape))
    with torch.no_grad():
        model(torch.tensor([[2, 5, 7]]))
    assert calls == [torch.Size([1, 3, model.config.ffn_size])]


def test_rows_below_the_threshold_take_f_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(network, "ONEDNN_MIN_ROWS", 2)

    def fail(*args: object) -> torch.Tensor:
        raise AssertionError("oneDNN path taken")

    monkeypatch.setattr(network, "_onednn_linear", fail)
    x, weight, bias = torch.randn(1, 1, 16), torch.randn(8, 16), torch.randn(8)
    assert torch.equal(network.linear(x, weight, bias), F.linear(x, weight, bias))


def test_products_of_fewer_features_than_the_threshold_take_f_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    _with_flag(monkeypatch, True)
    monkeypatch.setattr(network, "ONEDNN_MIN_FEATURES", 17)
    calls: list[int] = []
    original = network._onednn_linear
    monkeypatch.setattr(
        network, "_onednn_linear", lambda *args: calls.append(args[0].shape[-1]) or original(*args)
    )
    for features in (16, 17):
        x, weight = torch.randn(4, features), torch.randn(8, features)
        torch.testing.assert_close(network.linear(x, weight), F.linear(x, weight))
    assert calls == [17]


def test_without_onednn_training_recorded_products_take_f_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    """``ONEDNN_TRAINING`` off (MKL on an Intel CPU): products autograd records take ``F.linear``, the
    same products without gradients still take oneDNN."""
    _with_flag(monkeypatch, True)
    monkeypatch.setattr(network, "ONEDNN_TRAINING", False)
    monkeypatch.setattr(network, "ONEDNN_MIN_ROWS", 1)
    calls: list[bool] = []
    original = network._onednn_linear
    monkeypatch.setattr(network, "_onednn_linear", lambda *args: calls.append(True) or original(*args))
    x, weight = torch.randn(4, 16), torch.randn(8, 16, requires_grad=True)
    trained = network.linear(x, weight)
    assert calls == [] and trained.grad_fn is not None
    torch.testing.assert_close(trained, F.linear(x, weight))
    with torch.no_grad():
        torch.testing.assert_close(network.linear(x, weight), F.linear(x, weight))
    assert calls == [True]


@pytest.mark.parametrize(
    ("cpuinfo", "expected"),
    [
        ("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R)\n", True),
        ("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9R14\n", False),
        ("processor\t: 0\n", False),
        (None, False),  # no /proc/cpuinfo (not Linux)
    ],
)
def test_the_vendor_is_read_from_cpuinfo(
    cpuinfo: str | None, expected: bool, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cpuinfo"
    if cpuinfo is not None:
        path.write_text(cpuinfo)
    monkeypatch.setattr(torch.backends.mkl, "is_available", lambda: True)
    assert network._blas_is_mkl_on_intel(str(path)) is expected
    monkeypatch.setattr(torch.backends.mkl, "is_available", lambda: False)
    assert network._blas_is_mkl_on_intel(str(path)) is False


def test_one_bf16_row_takes_the_matrix_vector_product_where_it_is_switched_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``BF16_MATVEC`` on: a single bf16 row without gradients (with or without a bias, whatever its leading
    dimensions) goes through ``torch.mv``/``torch.addmv`` and gives ``F.linear``'s values; several rows,
    float32 and products autograd records take ``F.linear``. Off, nothing takes it."""
    calls: list[str] = []
    for name in ("mv", "addmv"):
        original = getattr(torch, name)
        monkeypatch.setattr(torch, name, lambda *args, _n=name, _f=original: calls.append(_n) or _f(*args))
    generator = torch.Generator().manual_seed(0)
    weight, bias = torch.randn(8, 16, generator=generator), torch.randn(8, generator=generator)
    row = torch.randn(1, 1, 16, generator=generator)
    for switched_on in (True, False):
        monkeypatch.setattr(network, "BF16_MATVEC", switched_on)
        calls.clear()
        for x, b in ((row, bias), (row, None), (row[0, 0], bias), (row.expand(1, 3, 16), bias)):
            x, w, b = x.bfloat16(), weight.bfloat16(), None if b is None else b.bfloat16()
            got, expected = network.linear(x, w, b), F.linear(x, w, b)
            assert got.shape == expected.shape and got.dtype == torch.bfloat16
            torch.testing.assert_close(got.float(), expected.float(), atol=0.02, rtol=0.01)
        network.linear(row, weight, bias)
        trained = network.linear(row.bfloat16(), weight.bfloat16().requires_grad_(), bias.bfloat16())
        assert trained.grad_fn is not None
        assert calls == (["addmv", "mv", "addmv"] if switched_on else [])


def test_cached_bf16_decoding_through_the_matrix_vector_product(
    model: BioGPT, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batch-1 bf16 decoding (every cached step a one-row product) with and without ``BF16_MATVEC``: the
    logits of every step agree within bf16 rounding."""
    model = model.bfloat16().eval()
    ids = torch.randint(4, 300, (1, 12), generator=torch.Generator().manual_seed(3))
    results = {}
    for switched_on in (False, True):
        monkeypatch.setattr(network, "BF16_MATVEC", switched_on)
        with torch.no_grad():
            cache = model.new_cache(1, 12)
            steps = [model(ids[:, :6], cache=cache)]
            steps += [model(ids[:, t : t + 1], cache=cache) for t in range(6, 12)]
        results[switched_on] = torch.cat(steps, 1)
    torch.testing.assert_close(results[True], results[False], atol=0.05, rtol=0.02)


@pytest.mark.parametrize(
    ("amx_tiles", "onednn_limit", "expected"),
    [
        (True, None, True),
        (True, "AVX512_CORE_AMX", True),
        (True, "AVX512_CORE_BF16", False),
        (True, "avx2", False),
        (False, None, False),
    ],
)
def test_amx_counts_where_the_cpu_has_it_and_onednn_may_use_it(
    amx_tiles: bool, onednn_limit: str | None, expected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx_tiles, raising=False)
    if onednn_limit is None:
        monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    else:
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", onednn_limit)
    assert cpu_runs_amx() is expected


def _bf16_embedding_and_expected(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A bf16 embedding the output projection takes in three chunks, float32 states, and their logits
    through a float32 copy of the whole embedding."""
    generator = torch.Generator().manual_seed(seed)
    embedding = torch.randn(2 * network.LOGIT_CHUNK + 100, 32, generator=generator).bfloat16()
    hidden = torch.randn(2, 3, 32, generator=generator)
    return embedding, hidden, F.linear(hidden, embedding.float())


def test_bf16_logits_reuse_one_buffer_and_return_fresh_results() -> None:
    embedding, hidden, expected = _bf16_embedding_and_expected(0)
    with torch.no_grad():
        first = network._logits(hidden, embedding)
        buffer = network._ROW_BUFFERS.buffer
        second = network._logits(hidden * 2, embedding)
    assert network._ROW_BUFFERS.buffer is buffer and buffer.shape == (network.LOGIT_CHUNK, 32)
    torch.testing.assert_close(first, expected, atol=1e-5, rtol=1e-5)  # not overwritten by the next call
    torch.testing.assert_close(second, expected * 2, atol=1e-5, rtol=1e-5)


def test_bf16_logits_buffer_made_in_inference_mode_serves_later_calls_without_it() -> None:
    """The first call of a thread in inference mode (as a server's), the next outside it."""
    embedding, hidden, expected = _bf16_embedding_and_expected(1)

    def calls() -> list[torch.Tensor]:
        with torch.inference_mode():
            in_inference = network._logits(hidden, embedding)
        with torch.no_grad():
            return [in_inference.clone(), network._logits(hidden, embedding)]

    with ThreadPoolExecutor(1) as fresh_thread:
        for logits in fresh_thread.submit(calls).result():
            torch.testing.assert_close(logits, expected, atol=1e-5, rtol=1e-5)


def test_concurrent_threads_get_their_own_bf16_logits() -> None:
    cases = [_bf16_embedding_and_expected(seed) for seed in range(4)]

    def decode(case: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> float:
        embedding, hidden, expected = case
        with torch.no_grad():
            return max(float((network._logits(hidden, embedding) - expected).abs().max()) for _ in range(20))

    with ThreadPoolExecutor(4) as threads:
        assert max(threads.map(decode, cases)) <= 1e-4


def test_bf16_logits_that_autograd_records_keep_their_own_copies() -> None:
    """Gradients through the chunked output projection are those of the float32 product (a shared buffer
    would have been overwritten by the later chunks before the backward pass reads it), within float32
    summation error: each gradient sums 8,292 products, in another order per chunking and per CPU's
    kernels, so the bound is a millionth of the sum of their magnitudes (a wrong copy errs by about
    their sum itself)."""
    embedding, hidden, _ = _bf16_embedding_and_expected(2)
    grad = torch.randn(2, 3, embedding.shape[0], generator=torch.Generator().manual_seed(3))
    ours, reference = hidden.clone().requires_grad_(), hidden.clone().requires_grad_()
    network._logits(ours, embedding).backward(grad)
    F.linear(reference, embedding.float()).backward(grad)
    magnitudes = grad.abs() @ embedding.float().abs()
    assert bool(((ours.grad - reference.grad).abs() <= 1e-6 * magnitudes).all())
