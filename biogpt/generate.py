"""Free text generation: ``python -m biogpt.generate ckpt=<source> text="COVID-19 is" beam=5 min_len=100``.

The text is tokenized and prefixed with ``</s>`` (fairseq language models start sequences with it);
the continuation is printed after the text, detokenized.
"""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

from biogpt.generation import GenerationConfig, generate
from biogpt.model import BioGPT
from biogpt.paths import CONF_DIR
from biogpt.tokenizer import BioGPTTokenizer


def continue_text(cfg: DictConfig) -> str:
    model = BioGPT.from_pretrained(str(cfg.ckpt))
    model_dir = Path(str(cfg.ckpt))
    vocabulary = cfg.tokenizer or (
        model_dir if model_dir.is_dir() else Path(str(cfg.data_dir)) / "vocab" / "biogpt"
    )
    tokenizer = BioGPTTokenizer.from_pretrained(vocabulary)
    config = GenerationConfig(
        max_new_tokens=cfg.max_len,
        min_new_tokens=cfg.min_len,
        beam=cfg.beam,
        length_penalty=cfg.lenpen,
        sampling=cfg.sampling,
        temperature=cfg.temperature,
        top_k=cfg.top_k,
        top_p=cfg.top_p,
        no_repeat_ngram_size=cfg.no_repeat_ngram_size,
        seed=cfg.seed,
    )
    prefix = [tokenizer.eos_id, *tokenizer.encode(str(cfg.text))]
    [continuation] = generate(model, [prefix], config, eos_id=tokenizer.eos_id, pad_id=tokenizer.pad_id)
    return tokenizer.decode(prefix[1:] + continuation)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="generate")
def main(cfg: DictConfig) -> None:
    print(continue_text(cfg))


if __name__ == "__main__":
    main()
