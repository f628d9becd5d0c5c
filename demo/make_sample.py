"""Write the synthetic demo sample: a KD-DTI-like relation-extraction set and a PubMed-like XML file.

SYNTHETIC DATA. Nothing here comes from PubMed or KD-DTI. Every text is assembled from the templates
and word lists in this file by a seeded ``random.Random``; the drug names are invented (any
resemblance to a real compound is coincidental), the targets are real human protein names, and the
drug-target statements are random pairings, not facts. The sample exists so that the README's demo
and the smoke tests run offline in minutes; never use it to judge a model.

    python demo/make_sample.py            # rewrites demo/data (the committed files)
    python demo/make_sample.py --out DIR  # writes DIR/data/... instead

Output (byte-identical on every run, standard library only):

* ``data/KD-DTI/raw/{train,valid,test}.json``: the KD-DTI release layout
  ``{pmid: {"title", "abstract", "triples": [{"drug", "target", "interaction"}]}}``, 160/24/24
  documents with 1-3 triplets each; ids start with 99 (99100001 train, 99200001 valid, 99300001 test),
  beyond the real PMID range, to mark them as synthetic.
* ``data/PubMed/demo_pubmed.xml``: a ``PubmedArticleSet`` of 400 citations (PMIDs 990001-990400) in
  the structure of NLM's baseline files; about a quarter have structured abstracts (labelled
  ``AbstractText``), two have no abstract, and a few carry inline ``<sub>`` markup.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

SEED = 20240601
SPLITS = (("train", 160, 99100001), ("valid", 24, 99200001), ("test", 24, 99300001))
PUBMED_CITATIONS = 400
PUBMED_FIRST_PMID = 990001
PUBMED_WITHOUT_ABSTRACT = (990137, 990311)  # title-only items, dropped by the corpus builder

# ----------------------------------------------------------------------------------------------
# Vocabulary. Invented drug names (lowercase, so the release's order rule sees their mentions) and
# real protein targets in KD-DTI's "full name (SYMBOL)" style, grouped by the kind of target, which
# decides the plausible interactions. No name contains " and ", " is ", " of " or "; ", the words
# the target formats are parsed on.
DRUGS: tuple[str, ...] = (
    "zarvotinib",
    "quelatinib",
    "morvatinib",
    "trelvotinib",
    "yendatinib",
    "kolvaciclib",
    "brantaciclib",
    "vexadostat",
    "lumirastat",
    "oxaprostat",
    "torvalol",
    "kesprolol",
    "quenisartan",
    "zolapril",
    "dravopril",
    "morgliptin",
    "zelnacoxib",
    "valisetron",
    "quorazepam",
    "drelfoxetine",
    "trimperidol",
    "kelvadenafil",
    "quaglitazone",
    "norvastigmine",
    "zelodipine",
    "trivocaine",
    "vexagliflozin",
    "pelorantel",
    "dextravudine",
    "halonapride",
    "sulvaperone",
    "fenorexant",
    "ixabrutide",
    "corvamidine",
    "tazomelin",
    "rilvapiprant",
    "obrexolone",
    "gantrazine",
    "lexitropane",
    "meproxifan",
)

RECEPTOR, ENZYME, CHANNEL, TRANSPORTER = "receptor", "enzyme", "channel", "transporter"
TARGETS: tuple[tuple[str, str], ...] = (
    ("dopamine D2 receptor (DRD2)", RECEPTOR),
    ("dopamine D1 receptor (DRD1)", RECEPTOR),
    ("beta-2 adrenergic receptor (ADRB2)", RECEPTOR),
    ("alpha-1A adrenergic receptor (ADRA1A)", RECEPTOR),
    ("histamine H1 receptor (HRH1)", RECEPTOR),
    ("5-hydroxytryptamine receptor 2A (HTR2A)", RECEPTOR),
    ("mu-type opioid receptor (OPRM1)", RECEPTOR),
    ("cannabinoid receptor 1 (CNR1)", RECEPTOR),
    ("muscarinic acetylcholine receptor M3 (CHRM3)", RECEPTOR),
    ("adenosine receptor A2a (ADORA2A)", RECEPTOR),
    ("glucagon-like peptide 1 receptor (GLP1R)", RECEPTOR),
    ("estrogen receptor alpha (ESR1)", RECEPTOR),
    ("androgen receptor (AR)", RECEPTOR),
    ("peroxisome proliferator-activated receptor gamma (PPARG)", RECEPTOR),
    ("metabotropic glutamate receptor 5 (GRM5)", RECEPTOR),
    ("angiotensin II receptor type 1 (AGTR1)", RECEPTOR),
    ("epidermal growth factor receptor (EGFR)", ENZYME),
    ("tyrosine-protein kinase ABL1 (ABL1)", ENZYME),
    ("cyclin-dependent kinase 4 (CDK4)", ENZYME),
    ("mitogen-activated protein kinase 1 (MAPK1)", ENZYME),
    ("cyclooxygenase-2 (PTGS2)", ENZYME),
    ("acetylcholinesterase (ACHE)", ENZYME),
    ("angiotensin-converting enzyme (ACE)", ENZYME),
    ("HMG-CoA reductase (HMGCR)", ENZYME),
    ("dipeptidyl peptidase 4 (DPP4)", ENZYME),
    ("histone deacetylase 1 (HDAC1)", ENZYME),
    ("phosphodiesterase 5A (PDE5A)", ENZYME),
    ("carbonic anhydrase 2 (CA2)", ENZYME),
    ("dihydrofolate reductase (DHFR)", ENZYME),
    ("glucokinase (GCK)", ENZYME),
    ("AMP-activated protein kinase (PRKAA1)", ENZYME),
    ("sirtuin 1 (SIRT1)", ENZYME),
    ("L-type calcium channel (CACNA1C)", CHANNEL),
    ("potassium voltage-gated channel H2 (KCNH2)", CHANNEL),
    ("sodium channel protein type 9 (SCN9A)", CHANNEL),
    ("transient receptor potential vanilloid 1 (TRPV1)", CHANNEL),
    ("GABA-A receptor alpha-1 subunit (GABRA1)", CHANNEL),
    ("nicotinic acetylcholine receptor alpha-7 (CHRNA7)", CHANNEL),
    ("serotonin transporter (SLC6A4)", TRANSPORTER),
    ("dopamine transporter (SLC6A3)", TRANSPORTER),
    ("norepinephrine transporter (SLC6A2)", TRANSPORTER),
    ("sodium/glucose cotransporter 2 (SLC5A2)", TRANSPORTER),
    ("P-glycoprotein (ABCB1)", TRANSPORTER),
)

# KD-DTI interaction labels (the release's own spelling; every target format renders them) and the
# kinds of target each is drawn with. Weights echo KD-DTI's skew towards inhibitors, mildly.
INTERACTIONS: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("inhibitor", 3, (ENZYME, TRANSPORTER, CHANNEL)),
    ("antagonist", 2, (RECEPTOR,)),
    ("agonist", 2, (RECEPTOR,)),
    ("activator", 1, (ENZYME,)),
    ("binder", 1, (RECEPTOR, ENZYME, CHANNEL, TRANSPORTER)),
    ("blocker", 1, (CHANNEL, TRANSPORTER)),
    ("modulator", 1, (RECEPTOR, CHANNEL)),
)

# One relation in one sentence: {drug}, {target}, and the filler slots below. A template may open a
# sentence with {Drug} or {Target} (capitalised first letter); the reader lowercases the text anyway.
RELATION_TEMPLATES: dict[str, tuple[str, ...]] = {
    "inhibitor": (
        "{Drug} potently inhibited {target} with an IC50 of {nm} nM.",
        "We found that {drug} acts as a selective inhibitor of {target}.",
        "The activity of {target} was suppressed by {drug} in a concentration-dependent manner.",
        "In {cell} cells, {drug} inhibited {target} at submicromolar concentrations.",
    ),
    "antagonist": (
        "{Drug} antagonized {target} with a Ki of {nm} nM.",
        "In functional assays {drug} behaved as a competitive antagonist at {target}.",
        "Agonist responses mediated by {target} were abolished by {drug}.",
        "We identified {drug} as a selective antagonist of {target}.",
    ),
    "agonist": (
        "{Drug} behaved as a full agonist at {target}.",
        "{Drug} stimulated {target} with an EC50 of {nm} nM.",
        "In {cell} cells expressing {target}, {drug} acted as an agonist.",
        "These data show that {drug} is a potent agonist of {target}.",
    ),
    "activator": (
        "{Drug} enhanced the catalytic activity of {target} by {pct} percent.",
        "We characterized {drug} as an allosteric activator of {target}.",
        "{Target} was activated by {drug} in {cell} cells.",
        "Treatment with {drug} increased {target} activity in a dose-dependent manner.",
    ),
    "binder": (
        "{Drug} bound to {target} with a Kd of {nm} nM.",
        "Surface plasmon resonance showed that {drug} binds {target}.",
        "Docking and thermal shift assays identified {drug} as a binder of {target}.",
        "Direct binding of {drug} to {target} was confirmed by isothermal titration calorimetry.",
    ),
    "blocker": (
        "{Drug} blocked {target} in {cell} cells.",
        "Electrophysiology revealed that {drug} is a use-dependent blocker of {target}.",
        "Transport by {target} was blocked by {drug} with an IC50 of {nm} nM.",
        "{Drug} produced a rapid and reversible block of {target}.",
    ),
    "modulator": (
        "{Drug} modulated {target} function without direct activation.",
        "Radioligand studies indicate that {drug} acts as a modulator of {target}.",
        "The response of {target} to its endogenous ligand was modulated by {drug}.",
        "{Drug} behaved as an allosteric modulator at {target}.",
    ),
}
# One drug with the same interaction on two targets, in one sentence.
PAIR_TEMPLATES: dict[str, str] = {
    "inhibitor": "{Drug} inhibited both {target} and {target2}.",
    "antagonist": "{Drug} antagonized both {target} and {target2}.",
    "agonist": "{Drug} acted as an agonist at both {target} and {target2}.",
    "activator": "{Drug} activated both {target} and {target2}.",
    "binder": "{Drug} bound to both {target} and {target2}.",
    "blocker": "{Drug} blocked both {target} and {target2}.",
    "modulator": "{Drug} modulated both {target} and {target2}.",
}
# A drug and a target mentioned together without a relation (the drug is in no triplet).
NEGATIVE_TEMPLATES: tuple[str, ...] = (
    "In contrast, {drug} had no effect on {target}.",
    "The reference compound {drug} showed no activity at {target}.",
)
TITLE_TEMPLATES: tuple[str, ...] = (
    "Characterization of {drug} as a novel {label} of {target}.",
    "Pharmacological profile of {drug} at {target}.",
    "Effects of {drug} on {target} in {cell} cells.",
    "Discovery of {drug}, {a_label} of {target}.",
    "{Drug}: a new {target} {label} for {disease}.",
)
GENERIC_TITLES: tuple[str, ...] = (
    "Pharmacological characterization of novel small molecules in {cell} cells.",
    "Drug-target profiling of a new compound series for {disease}.",
    "Structure-activity relationships of novel {kind} ligands.",
)
OPENERS: tuple[str, ...] = (
    "{Kind} signalling plays a central role in {disease}.",
    "New therapeutic agents are needed for the treatment of {disease}.",
    "Here we describe the pharmacology of a new series of small molecules.",
    "Drug-target interactions were characterized in binding and functional assays.",
    "The molecular targets of many candidate drugs for {disease} remain poorly defined.",
)
CLOSERS: tuple[str, ...] = (
    "These findings suggest a therapeutic potential in {disease}.",
    "The effects were dose-dependent and fully reversible after washout.",
    "No cytotoxicity was observed at concentrations up to {um} microM.",
    "Oral administration was well tolerated in {species}.",
    "Further studies in {species} are warranted.",
)
KIND_WORDS = {
    RECEPTOR: "G protein-coupled receptor",
    ENZYME: "kinase",
    CHANNEL: "ion channel",
    TRANSPORTER: "monoamine transporter",
}
DISEASES = (
    "non-small cell lung cancer",
    "chronic myeloid leukemia",
    "hypertension",
    "type 2 diabetes",
    "major depressive disorder",
    "schizophrenia",
    "Parkinson disease",
    "Alzheimer disease",
    "neuropathic pain",
    "asthma",
    "heart failure",
    "rheumatoid arthritis",
    "obesity",
    "epilepsy",
    "gout",
)
CELLS = ("HEK293", "CHO-K1", "HeLa", "MCF-7", "SH-SY5Y", "PC12", "A549", "HepG2")
SPECIES = ("rats", "mice", "healthy volunteers", "dogs", "guinea pigs")

# PubMed-only material: general clinical abstracts (no drug-target relation) and structured sections.
CLINICAL_TITLES: tuple[str, ...] = (
    "Prevalence and risk factors of {disease} in a regional cohort.",
    "Long-term outcomes of patients with {disease}: a retrospective study.",
    "Biomarkers of disease progression in {disease}.",
    "Quality of life in adults living with {disease}.",
)
CLINICAL_SENTENCES: tuple[str, ...] = (
    "{Disease} is a major cause of morbidity worldwide.",
    "We enrolled {n} patients with {disease} at {sites} centres.",
    "Clinical and laboratory data were collected at baseline and after {months} months.",
    "The primary outcome was hospital admission within one year.",
    "Multivariable regression was used to identify independent risk factors.",
    "Older age and obesity were associated with a higher risk of {disease}.",
    "Serum markers of inflammation predicted disease progression.",
    "The incidence of adverse events was low and similar between groups.",
    "Adherence to treatment decreased over the course of follow-up.",
    "Early diagnosis may improve the prognosis of patients with {disease}.",
    "Larger prospective studies are needed to confirm these results.",
)
METHOD_SENTENCES: tuple[str, ...] = (
    "Compounds were tested in radioligand binding assays and in {cell} cells.",
    "Concentration-response curves were fitted by nonlinear regression.",
    "Selectivity was assessed against a panel of {n} related targets.",
    "Pharmacokinetics were studied after a single oral dose in {species}.",
)
LABELS = ("BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
JOURNALS = (
    ("Synthetic Journal of Demo Pharmacology", "Synth J Demo Pharmacol"),
    ("Demo Sample Reports in Molecular Medicine", "Demo Sample Rep Mol Med"),
    ("Synthetic Clinical Demo Letters", "Synth Clin Demo Lett"),
)
XML_HEADER = (
    '<?xml version="1.0" ?>\n'
    '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2019//EN" '
    '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_190101.dtd">\n'
    "<!-- SYNTHETIC SAMPLE written by demo/make_sample.py for the biogpt demo and smoke tests. Not\n"
    "     PubMed data: PMIDs, journals, titles and abstracts are generated from templates, and the\n"
    "     drug-target statements are random pairings of invented drug names and real protein names. -->\n"
    "<PubmedArticleSet>\n"
)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _article(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


class _Writer:
    """Fills templates from the word lists with one seeded random generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.labels = [label for label, _, _ in INTERACTIONS]
        self.weights = [weight for _, weight, _ in INTERACTIONS]
        self.kinds = {label: kinds for label, _, kinds in INTERACTIONS}

    def fill(self, template: str, **slots: str) -> str:
        """A template with its named slots, the rest drawn at random; ``{Name}`` is ``{name}`` capitalised."""
        disease = self.rng.choice(DISEASES)
        values = {
            "disease": disease,
            "cell": self.rng.choice(CELLS),
            "species": self.rng.choice(SPECIES),
            "kind": KIND_WORDS[self.rng.choice(sorted(KIND_WORDS))],
            "nm": str(self.rng.choice((2, 5, 8, 12, 18, 25, 40, 60, 85, 120, 250, 480))),
            "um": str(self.rng.choice((10, 30, 50, 100))),
            "pct": str(self.rng.randrange(30, 260, 10)),
            "n": str(self.rng.randrange(12, 900)),
            "sites": str(self.rng.randrange(2, 14)),
            "months": str(self.rng.choice((6, 12, 18, 24, 36))),
            **slots,
        }
        values.update({_cap(key): _cap(value) for key, value in list(values.items())})
        return template.format(**values)

    def relations(self, count: int) -> list[tuple[str, str, str]]:
        """``count`` distinct (drug, target, interaction) triples; several may share one drug."""
        shared_drug = count > 1 and self.rng.random() < 0.5
        drugs = [self.rng.choice(DRUGS)] * count if shared_drug else self.rng.sample(DRUGS, count)
        triples: list[tuple[str, str, str]] = []
        used_targets: set[str] = set()
        for drug in drugs:
            label = self.rng.choices(self.labels, self.weights)[0]
            candidates = [
                name for name, kind in TARGETS if kind in self.kinds[label] and name not in used_targets
            ]
            target = self.rng.choice(candidates)
            used_targets.add(target)
            triples.append((drug, target, label))
        return triples

    def relation_sentences(self, triples: Sequence[tuple[str, str, str]]) -> list[str]:
        """One sentence per triple, or one for two consecutive triples of the same drug and label."""
        sentences: list[str] = []
        index = 0
        while index < len(triples):
            drug, target, label = triples[index]
            following = triples[index + 1] if index + 1 < len(triples) else None
            if following and following[0] == drug and following[2] == label and self.rng.random() < 0.6:
                sentences.append(
                    self.fill(PAIR_TEMPLATES[label], drug=drug, target=target, target2=following[1])
                )
                index += 2
                continue
            template = self.rng.choice(RELATION_TEMPLATES[label])
            sentences.append(self.fill(template, drug=drug, target=target))
            index += 1
        return sentences

    def negative_sentence(self, triples: Sequence[tuple[str, str, str]]) -> str:
        """A drug that is in no triple, mentioned with a target: a mention that is not a relation."""
        drug = self.rng.choice([d for d in DRUGS if d not in {t[0] for t in triples}])
        target = self.rng.choice([name for name, _ in TARGETS if name not in {t[1] for t in triples}])
        return self.fill(self.rng.choice(NEGATIVE_TEMPLATES), drug=drug, target=target)

    def title(self, triples: Sequence[tuple[str, str, str]]) -> str:
        drug, target, label = triples[0]
        if len(triples) > 1 and self.rng.random() < 0.3:
            return self.fill(self.rng.choice(GENERIC_TITLES))
        return self.fill(
            self.rng.choice(TITLE_TEMPLATES), drug=drug, target=target, label=label, a_label=_article(label)
        )

    def relation_abstract(self, triples: Sequence[tuple[str, str, str]], long: bool) -> list[str]:
        """Opener, relation sentences, maybe a non-relation mention, closer; 2-4 sentences unless ``long``."""
        body = self.relation_sentences(triples)
        if self.rng.random() < 0.2:
            body.insert(self.rng.randrange(len(body) + 1), self.negative_sentence(triples))
        room = (6 if long else 4) - len(body)
        opener = [self.fill(self.rng.choice(OPENERS))] if room > 0 and self.rng.random() < 0.75 else []
        room -= len(opener)
        closers = self.rng.sample(CLOSERS, min(room, 2 if long else 1)) if room > 0 else []
        if closers and not long and self.rng.random() < 0.35:
            closers = []
        return opener + body + [self.fill(closer) for closer in closers]


def kd_dti_documents(writer: _Writer) -> dict[str, dict[str, dict]]:
    """The three splits, ``{split: {pmid: record}}``, with no document text repeated."""
    seen: set[str] = set()
    splits: dict[str, dict[str, dict]] = {}
    for split, size, first_id in SPLITS:
        records: dict[str, dict] = {}
        while len(records) < size:
            triples = writer.relations(writer.rng.choices((1, 2, 3), (50, 35, 15))[0])
            title = writer.title(triples)
            abstract = " ".join(writer.relation_abstract(triples, long=False))
            if title + abstract in seen:
                continue
            seen.add(title + abstract)
            text = (title + " " + abstract).lower()
            for drug, target, _ in triples:
                assert drug.lower() in text and target.lower() in text, (drug, target, text)
            records[str(first_id + len(records))] = {
                "title": title,
                "abstract": abstract,
                "triples": [{"drug": d, "target": t, "interaction": i} for d, t, i in triples],
            }
        splits[split] = records
    return splits


def _pubmed_citation(writer: _Writer, pmid: int) -> tuple[str, list[tuple[str, str]]]:
    """A title and its abstract sections (label, text); no sections for a title-only item."""
    rng = writer.rng
    if pmid in PUBMED_WITHOUT_ABSTRACT:
        return writer.fill("Drug-target interactions in {disease}: an editorial comment."), []
    roll = rng.random()
    if roll < 0.25:  # structured: background, methods, results, conclusions
        triples = writer.relations(rng.choice((1, 2, 3)))
        sections = [
            writer.fill(rng.choice(OPENERS)),
            writer.fill(rng.choice(METHOD_SENTENCES)),
            " ".join(writer.relation_sentences(triples)),
            writer.fill(rng.choice(CLOSERS)),
        ]
        return writer.title(triples), list(zip(LABELS, sections, strict=True))
    if roll < 0.4:  # clinical, without drug-target relations
        sentences = [writer.fill(s) for s in rng.sample(CLINICAL_SENTENCES, rng.randrange(3, 6))]
        return writer.fill(rng.choice(CLINICAL_TITLES)), [("", " ".join(sentences))]
    triples = writer.relations(rng.choices((1, 2, 3), (40, 40, 20))[0])
    sentences = writer.relation_abstract(triples, long=True)
    if rng.random() < 0.4:
        sentences.insert(1, writer.fill(rng.choice(METHOD_SENTENCES)))
    return writer.title(triples), [("", " ".join(sentences))]


def _xml_text(text: str) -> str:
    """Escaped element text; potency subscripts as inline markup, as NLM writes them."""
    return escape(text).replace("IC50", "IC<sub>50</sub>").replace("EC50", "EC<sub>50</sub>")


def _date(tag: str, year: int, month: int, day: int, indent: str) -> list[str]:
    return [
        f"{indent}<{tag}>",
        f"{indent}\t<Year>{year}</Year>",
        f"{indent}\t<Month>{month:02d}</Month>",
        f"{indent}\t<Day>{day:02d}</Day>",
        f"{indent}</{tag}>",
    ]


def pubmed_xml(writer: _Writer) -> str:
    """The ``PubmedArticleSet`` file: every citation in the element structure of NLM's baseline files."""
    rng = writer.rng
    lines = [XML_HEADER.rstrip("\n")]
    for pmid in range(PUBMED_FIRST_PMID, PUBMED_FIRST_PMID + PUBMED_CITATIONS):
        title, sections = _pubmed_citation(writer, pmid)
        year = rng.randrange(2012, 2020)
        month, day = rng.randrange(1, 13), rng.randrange(1, 29)
        journal, abbreviation = rng.choice(JOURNALS)
        lines += [
            "\t<PubmedArticle>",
            '\t\t<MedlineCitation Owner="NLM" Status="MEDLINE">',
            f'\t\t\t<PMID Version="1">{pmid}</PMID>',
            *_date("DateRevised", year + 1, month, day, "\t\t\t"),
            '\t\t\t<Article PubModel="Print">',
            "\t\t\t\t<Journal>",
            '\t\t\t\t\t<JournalIssue CitedMedium="Print">',
            f"\t\t\t\t\t\t<Volume>{year - 2000}</Volume>",
            f"\t\t\t\t\t\t<Issue>{rng.randrange(1, 13)}</Issue>",
            f"\t\t\t\t\t\t<PubDate><Year>{year}</Year><Month>{MONTHS[month - 1]}</Month></PubDate>",
            "\t\t\t\t\t</JournalIssue>",
            f"\t\t\t\t\t<Title>{journal}</Title>",
            f"\t\t\t\t\t<ISOAbbreviation>{abbreviation}</ISOAbbreviation>",
            "\t\t\t\t</Journal>",
            f"\t\t\t\t<ArticleTitle>{_xml_text(title)}</ArticleTitle>",
        ]
        if sections:
            lines.append("\t\t\t\t<Abstract>")
            for label, text in sections:
                attributes = f' Label="{label}" NlmCategory="{label}"' if label else ""
                lines.append(f"\t\t\t\t\t<AbstractText{attributes}>{_xml_text(text)}</AbstractText>")
            lines.append("\t\t\t\t</Abstract>")
        lines += [
            '\t\t\t\t<AuthorList CompleteYN="Y">',
            '\t\t\t\t\t<Author ValidYN="Y"><CollectiveName>biogpt demo sample</CollectiveName></Author>',
            "\t\t\t\t</AuthorList>",
            "\t\t\t\t<Language>eng</Language>",
            "\t\t\t\t<PublicationTypeList>",
            '\t\t\t\t\t<PublicationType UI="D016428">Journal Article</PublicationType>'
            if sections
            else '\t\t\t\t\t<PublicationType UI="D016420">Comment</PublicationType>',
            "\t\t\t\t</PublicationTypeList>",
            "\t\t\t</Article>",
            "\t\t</MedlineCitation>",
            "\t\t<PubmedData>",
            "\t\t\t<PublicationStatus>ppublish</PublicationStatus>",
            "\t\t\t<ArticleIdList>",
            f'\t\t\t\t<ArticleId IdType="pubmed">{pmid}</ArticleId>',
            "\t\t\t</ArticleIdList>",
            "\t\t</PubmedData>",
            "\t</PubmedArticle>",
        ]
    lines.append("</PubmedArticleSet>")
    return "\n".join(lines) + "\n"


def _check_vocabulary() -> None:
    """Names stay unambiguous: none inside another, none holding a word the target formats split on."""
    for names in (DRUGS, [name for name, _ in TARGETS]):
        assert len(set(names)) == len(names)
        for name in names:
            assert not any(name.lower() in other.lower() for other in names if other != name), name
            assert not any(word in f" {name} " for word in (" and ", " is ", " of ", ";")), name


def write_sample(out_dir: str | Path) -> list[Path]:
    """Write every sample file under ``out_dir``/data; returns their paths."""
    _check_vocabulary()
    data = Path(out_dir) / "data"
    writer = _Writer(SEED)
    written: list[Path] = []
    for split, records in kd_dti_documents(writer).items():
        path = data / "KD-DTI" / "raw" / f"{split}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(records, indent=2) + "\n", encoding="utf8", newline="\n")
        written.append(path)
    path = data / "PubMed" / "demo_pubmed.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(pubmed_xml(writer), encoding="utf8", newline="\n")
    written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the synthetic biogpt demo sample (deterministic).")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="directory to write data/ into (default: demo/, the committed sample)",
    )
    args = parser.parse_args(argv)
    for path in write_sample(args.out):
        print(f"{path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
