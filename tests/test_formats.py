"""Target formats: rendering, the release's parsing behaviour (literal expectations), ambiguity, errors.

Expected values come from reading the release scripts (microsoft/BioGPT examples/RE-*/rebuild_data.py
and postprocess.py), not from running this package.
"""

from __future__ import annotations

import random
import re

import pytest

from biogpt.data.formats import (
    BC5CDR_RELATION,
    RELEASE_BC5CDR_PREFIXES,
    TargetFormat,
    Triplet,
    get_format,
    parse_answer,
    parse_target,
    relation_to_verb,
    strip_generation,
)

DTI_REL_IS = get_format("kd-dti", "rel-is")
CDR_REL_IS = get_format("bc5cdr", "rel-is")
TWO = (Triplet("aspirin", "inhibitor", "cox-1"), Triplet("x", "weak inhibitor", "y"))


@pytest.mark.parametrize(
    ("relation", "verb"),
    [
        ("inhibitor", "inhibits"),  # irregular table
        ("weak inhibitor", "weakly inhibits"),
        ("product of", "is the product of"),
        ("other/unknown", "randomly works with"),
        ("agonist", "agonists"),  # "agonist"/"antagonist" suffix rule comes before "-or"/"-er"
        ("partial antagonist", "partial antagonists"),
        ("activator", "activates"),  # -or -> -es
        ("binder", "bindes"),  # release quirk kept on purpose
        ("intercalation", "intercalates"),  # -tion -> -es
        ("binding", "binds"),  # -ing -> -s
        ("substrate", "substrates"),  # default +s
    ],
)
def test_relation_to_verb_follows_release_rules(relation: str, verb: str) -> None:
    assert relation_to_verb(relation) == verb


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "rel-is",
            "the interaction between aspirin and cox-1 is inhibitor; "
            "the interaction between x and y is weak inhibitor.",
        ),
        ("svo", "aspirin inhibits cox-1; x weakly inhibits y."),
        ("is-of", "aspirin is the inhibitor of cox-1; x is the weak inhibitor of y."),
        ("structured", "<h> aspirin <t> cox-1 <r> inhibitor <h> x <t> y <r> weak inhibitor."),
    ],
)
def test_drug_formats_render_release_strings(name: str, expected: str) -> None:
    assert get_format("ddi", name).render(TWO) == expected


def test_bc5cdr_formats_render_release_strings() -> None:
    pairs = (Triplet("lithium", BC5CDR_RELATION, "cyanosis"), Triplet("a", BC5CDR_RELATION, "b"))
    assert (
        CDR_REL_IS.render(pairs)
        == "the relation between lithium and cyanosis exists; the relation between a and b exists."
    )
    assert (
        get_format("bc5cdr", "svo").render(pairs) == "lithium correlates with cyanosis; a correlates with b."
    )


def test_render_refuses_empty_triplets() -> None:
    with pytest.raises(ValueError, match="empty"):
        DTI_REL_IS.render(())


@pytest.mark.parametrize("name", ["rel-is", "svo", "is-of", "structured"])
def test_every_format_round_trips(name: str) -> None:
    fmt = get_format("kd-dti", name)
    relations = ["inhibitor", "weak inhibitor"]
    assert parse_target(fmt.render(TWO), fmt, relations=relations).triplets == TWO


@pytest.mark.parametrize(
    ("generated", "stripped"),
    [
        (
            "learned1 learned2 learned3 the interaction between a and b is c.",
            "the interaction between a and b is c",
        ),
        ("we can conclude that the type of this document is empty.", "the type of this document is empty"),
        ("in conclusion, x.", "x"),
        ("  no prefix here .  ", "no prefix here "),
        # a prefix is searched anywhere and the line is cut after its last occurrence, as released
        ("junk we have that a we have that b", "b"),
        ("", ""),
    ],
)
def test_strip_generation_matches_release(generated: str, stripped: str) -> None:
    assert strip_generation(generated) == stripped


def test_bc5cdr_prefix_is_tokenised_comma() -> None:
    assert strip_generation(
        "in conclusion , the relation between a and b exists", RELEASE_BC5CDR_PREFIXES
    ) == ("the relation between a and b exists")
    assert strip_generation("in conclusion, x", RELEASE_BC5CDR_PREFIXES) == "in conclusion, x"


def test_release_greedy_grammar_on_and_in_entities() -> None:
    """The release's ``(.*)`` groups are greedy: the head runs to the last " and " followed by " is "."""
    result = parse_target("the interaction between a and b and c is d and e is f", DTI_REL_IS)
    assert result.triplets == (Triplet("a and b and c is d", "f", "e"),)
    bc5cdr = parse_target("the relation between a and b and c exists", CDR_REL_IS)
    assert bc5cdr.triplets == (Triplet("a and b", BC5CDR_RELATION, "c"),)


def test_informed_parser_resolves_and_in_entities() -> None:
    text = (
        "the interaction between opb-51602 and signal transducer and activator of transcription 3 "
        "is inhibitor"
    )
    assert parse_target(text, DTI_REL_IS).triplets == (
        Triplet("opb-51602 and signal transducer", "inhibitor", "activator of transcription 3"),
    )
    known = {"opb-51602", "signal transducer and activator of transcription 3"}
    assert parse_target(text, DTI_REL_IS, entities=known).triplets == (
        Triplet("opb-51602", "inhibitor", "signal transducer and activator of transcription 3"),
    )


def test_is_of_greedy_relation_and_vocabulary_resolution() -> None:
    fmt = get_format("ddi", "is-of")
    text = "anticholinergic drugs is the effect of antiarrhythmic agents of class i"
    assert parse_target(text, fmt).triplets == (
        Triplet("anticholinergic drugs", "effect of antiarrhythmic agents", "class i"),
    )
    assert parse_target(text, fmt, relations={"effect", "advise"}).triplets == (
        Triplet("anticholinergic drugs", "effect", "antiarrhythmic agents of class i"),
    )


def test_brackets_and_is_inside_entities() -> None:
    """Brackets are plain text (no regex metacharacters leak); " is " in a tail is kept by greediness."""
    text = (
        "the interaction between a (b) [c] and mao-a (is) is inhibitor; "
        "the interaction between x and y is z is w"
    )
    assert parse_target(text, DTI_REL_IS).triplets == (
        Triplet("a (b) [c]", "inhibitor", "mao-a (is)"),
        Triplet("x", "w", "y is z"),
    )


def test_semicolon_in_entity_splits_the_clause_as_released() -> None:
    """The release splits on "; " before matching: an entity with "; " yields two unparsable clauses."""
    result = parse_target("the interaction between a; b and c is d", DTI_REL_IS)
    assert result.triplets == ()
    assert result.unparsed == ("the interaction between a", "b and c is d")
    assert result.failed
    # BC5CDR splits on a bare ";" and strips each clause
    cdr = parse_target(
        "the relation between a;b and c exists;the relation between d and e exists", CDR_REL_IS
    )
    assert cdr.triplets == (Triplet("d", BC5CDR_RELATION, "e"),)
    assert cdr.unparsed == ("the relation between a", "b and c exists")


def test_release_matching_quirks() -> None:
    # KD-DTI/DDI clauses are matched unstripped: a leading space makes the clause fail
    result = parse_target(
        "the interaction between a and b is c;  the interaction between d and e is f", DTI_REL_IS
    )
    assert result.triplets == (Triplet("a", "c", "b"),)
    assert result.unparsed == (" the interaction between d and e is f",)
    assert not result.failed
    # BC5CDR matches from the clause start only: text after "exists" is ignored
    cdr = parse_target("the relation between a and b exists and more", CDR_REL_IS)
    assert cdr.triplets == (Triplet("a", BC5CDR_RELATION, "b"),)


def test_svo_prefers_longest_verb_and_needs_relations() -> None:
    fmt = get_format("kd-dti", "svo")
    relations = ["inhibitor", "weak inhibitor", "other", "other/unknown"]
    assert parse_target("x weakly inhibits y", fmt, relations=relations).triplets == (
        Triplet("x", "weak inhibitor", "y"),
    )
    # two relations share a verb: it maps back to the first one listed
    assert parse_target("a randomly works with b", fmt, relations=relations).triplets == (
        Triplet("a", "other", "b"),
    )
    with pytest.raises(ValueError, match="relation vocabulary"):
        parse_target("x inhibits y", fmt)


def test_empty_target_parses_to_nothing_without_failure() -> None:
    result = parse_target(
        "learned1 there are no relations.", DTI_REL_IS, empty_target="there are no relations."
    )
    assert result.triplets == () and result.unparsed == () and not result.failed
    assert parse_target("there are no relations.", DTI_REL_IS).failed


def test_unknown_format_and_task_list_valid_names() -> None:
    with pytest.raises(ValueError, match="valid formats: is-of, rel-is, structured, svo"):
        get_format("ddi", "triples")
    with pytest.raises(ValueError, match="valid formats: rel-is, svo"):
        get_format("bc5cdr", "is-of")
    with pytest.raises(ValueError, match="valid tasks: bc5cdr, ddi, kd-dti"):
        get_format("hoc", "rel-is")


def test_parse_answer_as_released() -> None:
    lead = "the answer to the question given the context is"
    assert (
        parse_answer("learned1 learned2 the answer to the question given the context is maybe.", lead)
        == "maybe"
    )
    assert parse_answer("the type of this document is a|b.", "the type of this document is") == "a|b"
    assert parse_answer("no answer here", lead) is None


@pytest.mark.parametrize(
    ("fmt", "oracle", "lead"),
    [
        (DTI_REL_IS, r"the interaction between (.*) and (.*) is (.*)", "the interaction between "),
        (CDR_REL_IS, r"the relation between (.*) and (.*) exists", "the relation between "),
    ],
)
def test_clause_parse_equals_release_regex_on_random_clauses(
    fmt: TargetFormat, oracle: str, lead: str
) -> None:
    """Greedy slot choice is ``re.match`` with the release's pattern, on clauses full of template words."""
    rng = random.Random(0)
    words = ["a", "and", "is", "b", "exists", "between", "(x)", "is the", "and and", ""]
    for _ in range(2000):
        clause = lead + " ".join(rng.choice(words) for _ in range(rng.randint(0, 9)))
        match = re.match(oracle, clause.strip())  # the release strips the line first
        parsed = parse_target(clause, fmt).triplets
        if match is None:
            assert parsed == (), clause
            continue
        groups = [g.strip() for g in match.groups()]
        expected = (
            (groups[0], groups[2], groups[1]) if len(groups) == 3 else (groups[0], BC5CDR_RELATION, groups[1])
        )
        assert parsed == (Triplet(*expected),), clause
