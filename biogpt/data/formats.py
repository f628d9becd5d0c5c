"""Relation target formats: triplets to target sentences and generated sentences back to triplets.

BioGPT casts relation extraction as generation, so the target sentence *is* the label format; the
paper's Table 9 compares four of them. Every format here is one template over the slots ``{head}``,
``{tail}`` and ``{relation}`` (or ``{verb}``, the relation rendered as a verb), so rendering and
parsing are one mechanism configured by name instead of one hand-written pair of functions per format.

Parsing reproduces the release's evaluation scripts (``examples/RE-*/postprocess.py`` in
microsoft/BioGPT) by default: strip a final ".", strip a prompt echo or hard prompt, split the line
into clauses, and match each clause from its start with greedy slots, as Python's ``re.match`` does
with the release's ``(.*)`` groups. The greedy grammar is ambiguous when an entity contains a
template word ("bromodomain and phd finger ..." in rel-is), so a parse may optionally be told known
entity names or relations, which then rank the candidate readings before greediness does.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

# Hard prompts and the learned-prompt echo stripped by the release's postprocess.py before parsing.
# BC5CDR's script lists "in conclusion ," (Moses-tokenised comma) second; the others "in conclusion," last.
RELEASE_PREFIXES: tuple[str, ...] = (
    r"(learned[0-9]+ )+",
    "we can conclude that",
    "we have that",
    "in conclusion,",
)
RELEASE_BC5CDR_PREFIXES: tuple[str, ...] = (
    r"(learned[0-9]+ )+",
    "in conclusion ,",
    "we can conclude that",
    "we have that",
)

# BC5CDR relations have a single type (PubTator's ``CID``, chemical-induced disease); its sentences do
# not name it, so parsing fills it in.
BC5CDR_RELATION = "CID"

_SLOT = re.compile(r"\{(head|tail|relation|verb)\}")


@dataclass(frozen=True)
class Triplet:
    """One (head, relation, tail) fact, e.g. (drug, interaction, target) or (chemical, CID, disease)."""

    head: str
    relation: str
    tail: str


# The release's relation-to-verb table for the svo format: examples/RE-DTI/rebuild_data.py
# (map_relation_to_verb) in microsoft/BioGPT. Relations absent here follow the suffix rules in
# ``relation_to_verb``.
_IRREGULAR_VERBS: dict[str, str] = {
    "product of": "is the product of",
    "negative modulator": "negatively modulates",
    "other/unknown": "randomly works with",
    "other": "randomly works with",
    "incorporation into and destabilization": "incorporates into and destabilizates",
    "cross-linking/alkylation": "cross lines / alkylates",
    "antibody": "is the antibody of",
    "downregulator": "downregulates",
    "desensitize the target": "desensitizes",
    "protector": "protects",
    "inhibitor": "inhibits",
    "weak inhibitor": "weakly inhibits",
    "blocker": "blocks",
}


def relation_to_verb(relation: str) -> str:
    """Render a (lowercased) relation as the release's svo verb: inhibitor -> inhibits.

    The suffix rules are the release's, quirks included (binder -> "bindes", bind and binding both ->
    "binds"), because a model fine-tuned on release targets learned exactly these strings.
    """
    if relation in _IRREGULAR_VERBS:
        return _IRREGULAR_VERBS[relation]
    if relation.endswith(("agonist", "antagonist")):
        return relation + "s"
    if relation.endswith(("or", "er")):
        return relation[:-2] + "es"
    if relation.endswith("tion"):
        return relation[:-3] + "es"
    if relation.endswith("ing"):
        return relation[:-3] + "s"
    return relation + "s"


@dataclass(frozen=True)
class TargetFormat:
    """A target sentence format: a clause template, how clauses are joined, and how a line is split back.

    ``split`` and ``strip_clauses`` follow the task's release script: BC5CDR splits on ";" and strips
    each clause, KD-DTI and DDI split on "; " and match the clause as is (a clause with a leading
    space fails there, as released). ``fixed_relation`` is the relation of formats whose template has
    no relation slot (BC5CDR). ``prefixes`` are the regular expressions stripped before parsing.
    """

    name: str
    template: str
    joiner: str = "; "
    split: str = "; "
    strip_clauses: bool = False
    fixed_relation: str | None = None
    prefixes: tuple[str, ...] = RELEASE_PREFIXES

    def render_clause(self, triplet: Triplet) -> str:
        """One triplet as a clause of this format."""
        return self.template.format(
            head=triplet.head,
            tail=triplet.tail,
            relation=triplet.relation,
            verb=relation_to_verb(triplet.relation),
        )

    def render(self, triplets: Sequence[Triplet]) -> str:
        """The target sentence of a document: clauses joined and ended by ".", as the release builds it."""
        if not triplets:
            raise ValueError("cannot render an empty triplet list; use the task's empty target instead")
        return self.joiner.join(self.render_clause(t) for t in triplets) + "."

    @property
    def needs_relations(self) -> bool:
        """Whether parsing needs the relation vocabulary: svo verbs map back to relations only through it."""
        return "{verb}" in self.template


_REL_IS = TargetFormat("rel-is", "the interaction between {head} and {tail} is {relation}")
_SVO = TargetFormat("svo", "{head} {verb} {tail}")
_IS_OF = TargetFormat("is-of", "{head} is the {relation} of {tail}")
# The release's "htr" builder joins clauses with a space, not "; " (examples/RE-DTI/rebuild_data.py).
_STRUCTURED = TargetFormat(
    "structured", "<h> {head} <t> {tail} <r> {relation}", joiner=" ", split=r" (?=<h> )"
)
_BC5CDR_REL_IS = TargetFormat(
    "rel-is",
    "the relation between {head} and {tail} exists",
    split=";",
    strip_clauses=True,
    fixed_relation=BC5CDR_RELATION,
    prefixes=RELEASE_BC5CDR_PREFIXES,
)
# The release's BC5CDR svo builder (examples/RE-BC5CDR/rebuild_data.py): one verb for the one relation.
_BC5CDR_SVO = TargetFormat(
    "svo",
    "{head} correlates with {tail}",
    split=";",
    strip_clauses=True,
    fixed_relation=BC5CDR_RELATION,
    prefixes=RELEASE_BC5CDR_PREFIXES,
)

_DRUG_FORMATS = {f.name: f for f in (_REL_IS, _SVO, _IS_OF, _STRUCTURED)}
# The formats whose clauses name their relation, for a corpus of any relation types (``task=custom``).
GENERIC_FORMATS: dict[str, TargetFormat] = _DRUG_FORMATS
FORMATS: dict[str, dict[str, TargetFormat]] = {
    "bc5cdr": {f.name: f for f in (_BC5CDR_REL_IS, _BC5CDR_SVO)},
    "kd-dti": _DRUG_FORMATS,
    "ddi": _DRUG_FORMATS,
}


def get_format(task: str, name: str) -> TargetFormat:
    """The format ``name`` of relation task ``task``; an unknown task or name raises, listing valid ones."""
    if task not in FORMATS:
        raise ValueError(f"no target formats for task {task!r}; valid tasks: {', '.join(sorted(FORMATS))}")
    formats = FORMATS[task]
    if name not in formats:
        raise ValueError(
            f"unknown target format {name!r} for task {task!r}; valid formats: {', '.join(sorted(formats))}"
        )
    return formats[name]


@dataclass(frozen=True)
class ParseResult:
    """Triplets read from one generated line, and the clauses that matched no reading.

    The release counts a line as failed when no clause parses; ``failed`` is that count's criterion.
    """

    triplets: tuple[Triplet, ...]
    unparsed: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return not self.triplets and bool(self.unparsed)


def strip_generation(text: str, prefixes: Sequence[str] = RELEASE_PREFIXES) -> str:
    """What the release parses of a generated line: final "." removed, then the first matching prefix cut.

    As in the release, a prefix found anywhere cuts the line after its last occurrence.
    """
    line = text.strip()
    if line.endswith("."):
        line = line[:-1]
    for prefix in prefixes:
        if re.search(prefix, line):
            return re.split(prefix, line)[-1].strip()
    return line


def _readings(clause: str, parts: Sequence[str], verbs: Collection[str]) -> Iterator[dict[str, str]]:
    """Every way the clause fills the template's slots, matching from its start (``re.match`` semantics).

    ``parts`` alternates literals (even indices) and slot names (odd). A slot followed by a literal
    ends at any occurrence of that literal; the last slot takes the rest of the line; text after a
    final literal is ignored, as ``re.match`` ignores it; a verb slot matches one of ``verbs``.
    """

    def walk(pos: int, index: int, filled: tuple[tuple[str, str], ...]) -> Iterator[dict[str, str]]:
        if index == len(parts):
            yield dict(filled)  # slots in template order
            return
        if index % 2 == 0:
            literal = parts[index]
            if clause.startswith(literal, pos):
                yield from walk(pos + len(literal), index + 1, filled)
            return
        slot = parts[index]
        if slot == "verb":
            for verb in verbs:
                if clause.startswith(verb, pos):
                    yield from walk(pos + len(verb), index + 1, (*filled, (slot, verb)))
            return
        following = parts[index + 1]
        if not following and index + 1 == len(parts) - 1:
            yield from walk(len(clause), index + 1, (*filled, (slot, clause[pos:])))
            return
        end = clause.find(following, pos)
        while end != -1:
            yield from walk(end, index + 1, (*filled, (slot, clause[pos:end])))
            end = clause.find(following, end + 1)

    yield from walk(0, 0, ())


def parse_target(
    text: str,
    fmt: TargetFormat,
    *,
    relations: Collection[str] | None = None,
    entities: Collection[str] | None = None,
    empty_target: str | None = None,
) -> ParseResult:
    """Triplets of a generated (or gold) target line in format ``fmt``.

    With only the defaults this is the release's postprocess.py: among the readings of a clause it
    takes the greedy one (each slot as long as possible, left to right), which is what ``re.match``
    with ``(.*)`` groups returns; slot values are stripped as released. Optional knowledge reorders
    the readings first, so it resolves ambiguity without changing unambiguous parses:

    * ``entities``: names known to be entities (a training vocabulary, or any container whose
      ``in`` tests e.g. membership in the source text); readings with more known heads and tails win.
    * ``relations``: the relation vocabulary; readings with a known relation win. Required by svo,
      whose verb maps back to the first relation of this collection that renders it, and whose
      longest matching verb wins ("weakly inhibits" over "inhibits").

    ``empty_target`` (a task's target for documents without relations) parses to no triplets and no
    failure. Clauses matching no reading are returned in ``unparsed``.
    """
    if fmt.needs_relations and relations is None:
        raise ValueError(f"format {fmt.name!r} needs the relation vocabulary to map verbs back to relations")
    line = strip_generation(text, fmt.prefixes)
    if empty_target is not None and line == strip_generation(empty_target, fmt.prefixes):
        return ParseResult(())
    verb_to_relation: dict[str, str] = {}
    for relation in relations or ():
        verb_to_relation.setdefault(relation_to_verb(relation), relation)
    parts = _SLOT.split(fmt.template)
    triplets: list[Triplet] = []
    unparsed: list[str] = []
    for clause in re.split(fmt.split, line):
        candidate = clause.strip() if fmt.strip_clauses else clause
        reading = _best_reading(candidate, parts, verb_to_relation, relations, entities)
        if reading is None:
            unparsed.append(clause)
            continue
        slots = {name: value.strip() for name, value in reading.items()}
        if "verb" in slots:
            relation = verb_to_relation[slots["verb"]]
        else:
            relation = slots.get("relation", fmt.fixed_relation or "")
        triplets.append(Triplet(slots["head"], relation, slots["tail"]))
    return ParseResult(tuple(triplets), tuple(unparsed))


def _best_reading(
    clause: str,
    parts: Sequence[str],
    verb_to_relation: dict[str, str],
    relations: Collection[str] | None,
    entities: Collection[str] | None,
) -> dict[str, str] | None:
    """The preferred reading: most known entities, known relation, longest verb, then greedy slots."""

    def rank(slots: dict[str, str]) -> tuple[int, ...]:
        known_entities = sum(slots[s].strip() in entities for s in ("head", "tail")) if entities else 0
        has_relation = relations is not None and "relation" in slots
        known_relation = int(slots["relation"].strip() in relations) if has_relation else 0
        verb_length = len(slots.get("verb", ""))
        greedy = tuple(len(value) for value in slots.values())
        return (known_entities, known_relation, verb_length, *greedy)

    readings = _readings(clause, parts, verb_to_relation)
    return max(readings, key=rank, default=None)


def parse_answer(text: str, lead: str, prefixes: Sequence[str] = RELEASE_PREFIXES) -> str | None:
    """The answer after ``lead`` in a generated line (PubMedQA, HoC), or None when the lead is absent.

    As the release's postprocess.py: the lead is searched anywhere in the stripped line, and the
    answer is everything after it, stripped.
    """
    found = re.search(re.escape(lead) + "(.*)", strip_generation(text, prefixes))
    return found.group(1).strip() if found else None
