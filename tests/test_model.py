"""The BioGPT network against the ``transformers`` reference, and its own invariants."""

from __future__ import annotations

import pytest
import torch
from model_oracle import padded_batch, reference_model
from transformers import BioGptConfig, BioGptForCausalLM

from biogpt import BioGPT, BioGPTConfig
from biogpt.model import PRESETS, count_parameters


def _on_meta(config: BioGPTConfig) -> BioGPT:
    with torch.device("meta"):
        return BioGPT(config)


@pytest.mark.parametrize(("preset", "expected"), [("biogpt", 346_763_264), ("biogpt-large", 1_571_188_800)])
def test_released_presets_have_the_published_parameter_counts(preset: str, expected: int) -> None:
    assert count_parameters(_on_meta(BioGPTConfig.from_preset(preset))) == expected


def test_preset_counts_match_the_reference_implementation() -> None:
    config = BioGPTConfig.from_preset("small")
    with torch.device("meta"):
        reference = BioGptForCausalLM(
            BioGptConfig(
                vocab_size=config.vocab_size,
                hidden_size=config.hidden_size,
                num_hidden_layers=config.num_layers,
                num_attention_heads=config.num_heads,
                intermediate_size=config.ffn_size,
                max_position_embeddings=config.max_positions,
            )
        )
    assert count_parameters(_on_meta(config)) == count_parameters(reference)


def test_unknown_preset_lists_the_valid_names() -> None:
    with pytest.raises(ValueError, match="unknown model preset 'biogpt-xl'.*biogpt-large"):
        BioGPTConfig.from_preset("biogpt-xl")
    assert set(PRESETS) >= {"biogpt", "biogpt-large", "tiny"}


def test_invalid_config_names_the_field() -> None:
    with pytest.raises(ValueError, match="hidden_size .100. must be divisible by num_heads .16."):
        BioGPTConfig(hidden_size=100)
    with pytest.raises(ValueError, match="unknown BioGPTConfig field.*n_layer"):
        BioGPTConfig.from_dict({"n_layer": 3})


@pytest.fixture(scope="module")
def tiny_model() -> BioGPT:
    torch.manual_seed(0)
    config = BioGPTConfig.from_preset("tiny", vocab_size=500, max_positions=64)
    model = BioGPT(config).eval()
    with torch.no_grad():  # non-trivial LayerNorms and biases
        for name, param in model.named_parameters():
            if "layer_norm" in name or name.endswith("bias"):
                param.add_(torch.randn_like(param) * 0.1)
    return model


def test_right_padded_batch_equals_each_sequence_alone(tiny_model: BioGPT) -> None:
    ids, mask = padded_batch(500, [9, 4, 1, 7])
    with torch.no_grad():
        batched = tiny_model(ids, mask)
        for row, length in enumerate(mask.sum(1).tolist()):
            alone = tiny_model(ids[row : row + 1, :length])
            torch.testing.assert_close(batched[row, :length], alone[0], atol=1e-5, rtol=0)


def test_left_padded_batch_equals_each_sequence_alone(tiny_model: BioGPT) -> None:
    right_ids, right_mask = padded_batch(500, [6, 3])
    ids = torch.stack([right_ids[0], torch.cat([torch.ones(3, dtype=torch.long), right_ids[1, :3]])])
    mask = torch.stack([right_mask[0], torch.tensor([0, 0, 0, 1, 1, 1])])
    with torch.no_grad():
        batched = tiny_model(ids, mask)
        alone = tiny_model(right_ids[1:, :3])
    torch.testing.assert_close(batched[1, 3:], alone[0], atol=1e-5, rtol=0)
    assert torch.isfinite(batched).all(), "padding rows must not produce NaN"


@pytest.mark.parametrize("lengths", [[8, 8], [8, 5, 2]], ids=["unpadded", "right-padded"])
def test_incremental_decoding_with_cache_equals_full_forward(tiny_model: BioGPT, lengths: list[int]) -> None:
    ids, mask = padded_batch(500, lengths, seed=3)
    with torch.no_grad():
        full = tiny_model(ids, mask)
        cache = tiny_model.new_cache(len(lengths), ids.shape[1])
        steps = [tiny_model(ids[:, :3], mask[:, :3], cache=cache)]
        for t in range(3, ids.shape[1]):
            steps.append(tiny_model(ids[:, t : t + 1], mask[:, : t + 1], cache=cache))
    incremental = torch.cat(steps, dim=1)
    keep = mask.bool()
    torch.testing.assert_close(incremental[keep], full[keep], atol=1e-5, rtol=0)
    assert cache.length == ids.shape[1]


def test_left_padded_prompt_then_cached_steps_equal_the_unpadded_sequence(tiny_model: BioGPT) -> None:
    ids, _ = padded_batch(500, [7], seed=5)
    padded = torch.cat([torch.ones(1, 2, dtype=torch.long), ids], dim=1)
    mask = torch.tensor([[0, 0] + [1] * 7])
    with torch.no_grad():
        reference = tiny_model(ids)
        cache = tiny_model.new_cache(1, 9)
        prefix = tiny_model(padded[:, :5], mask[:, :5], cache=cache)
        rest = [tiny_model(padded[:, t : t + 1], mask[:, : t + 1], cache=cache) for t in range(5, 9)]
    torch.testing.assert_close(torch.cat([prefix[:, 2:], *rest], dim=1), reference, atol=1e-5, rtol=0)


def test_inputs_embeds_splice_equals_token_ids(tiny_model: BioGPT) -> None:
    ids, mask = padded_batch(500, [6, 4], seed=7)
    with torch.no_grad():
        from_ids = tiny_model(ids, mask)
        from_embeds = tiny_model(inputs_embeds=tiny_model.embed(ids), attention_mask=mask)
    torch.testing.assert_close(from_embeds, from_ids, atol=0, rtol=0)


def test_inputs_embeds_carry_gradients_to_spliced_prompt_vectors(tiny_model: BioGPT) -> None:
    ids, _ = padded_batch(500, [5], seed=8)
    prompt = torch.nn.Parameter(torch.randn(1, 3, tiny_model.config.hidden_size))
    embeds = torch.cat([tiny_model.embed(ids[:, :2]), prompt, tiny_model.embed(ids[:, 2:])], dim=1)
    tiny_model(inputs_embeds=embeds).sum().backward()
    assert prompt.grad is not None and prompt.grad.abs().sum() > 0


def test_cache_overflow_and_position_overflow_are_reported(tiny_model: BioGPT) -> None:
    ids, _ = padded_batch(500, [5])
    with torch.no_grad(), pytest.raises(ValueError, match="KVCache holds 4 positions; this call needs 5"):
        tiny_model(ids, cache=tiny_model.new_cache(1, 4))
    long_ids = torch.full((1, 65), 5)
    with pytest.raises(ValueError, match="65 positions exceeds max_positions 64"):
        tiny_model(long_ids)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda m: m(torch.ones(5, dtype=torch.long)),
            r"input_ids must be an integer tensor \[batch, time\]",
        ),
        (lambda m: m(torch.ones(2, 5)), r"input_ids must be an integer tensor"),
        (
            lambda m: m(torch.ones(2, 5, dtype=torch.long), torch.ones(2, 4)),
            r"attention_mask must be .*\[2, 5\]",
        ),
        (lambda m: m(inputs_embeds=torch.ones(2, 5, 3)), r"inputs_embeds must be \[batch, time, 64\]"),
        (lambda m: m(), "exactly one of input_ids and inputs_embeds"),
    ],
)
def test_bad_inputs_name_what_was_expected(tiny_model: BioGPT, call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(tiny_model)


def test_dropout_is_active_only_in_training(tiny_model: BioGPT) -> None:
    ids, _ = padded_batch(500, [8])
    model = BioGPT(tiny_model.config)
    model.load_state_dict(tiny_model.state_dict())
    model.train()
    assert not torch.equal(model(ids), model(ids))
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(ids), model(ids))


def test_transformers_ignores_its_layer_norm_eps_field() -> None:
    """Why we load Hugging Face configs with eps 1e-5: the reference never reads the field."""
    ids, _ = padded_batch(200, [6])
    shape = dict(
        vocab_size=200, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
    )
    with torch.no_grad():
        small_eps = reference_model(1, layer_norm_eps=1e-12, **shape)(input_ids=ids).logits
        huge_eps = reference_model(1, layer_norm_eps=10.0, **shape)(input_ids=ids).logits
    torch.testing.assert_close(small_eps, huge_eps, atol=0, rtol=0)


@pytest.mark.parametrize("keep", [1, 3, 7])
def test_kept_logits_equal_the_last_columns(tiny_model: BioGPT, keep: int) -> None:
    ids, mask = padded_batch(500, [7, 5], seed=9)
    with torch.no_grad():
        torch.testing.assert_close(
            tiny_model(ids, mask, logits_to_keep=keep), tiny_model(ids, mask)[:, -keep:]
        )
