"""The README's pages of options are the rendering of the current schemas and validation rules."""

from __future__ import annotations

from pathlib import Path

from biogpt.experiment.config.options_doc import BEGIN, END, render, replace_section
from biogpt.experiment.config.validation import CHECKS

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_options_are_generated_from_the_schemas() -> None:
    text = README.read_text(encoding="utf-8")
    listed = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert listed == render(), "run: python -m biogpt.experiment.config.options_doc README.md"


def test_every_checked_key_is_listed_with_what_it_allows() -> None:
    pages = render()
    for config_name, checks in CHECKS.items():
        for key, rule in checks.rules.items():
            assert f"| `{key}` |" in pages and rule.allowed.replace("|", "\\|") in pages, (config_name, key)


def test_replacing_the_section_keeps_the_rest_of_the_readme() -> None:
    text = f"intro\n{BEGIN}\nold table\n{END}\noutro\n"
    assert replace_section(text, "NEW") == "intro\nNEW\noutro\n"
