"""PubMed XML corpus: real NLM samples, then generated files for every format and failure mode."""

from __future__ import annotations

import gzip
import re
from datetime import date
from pathlib import Path

import pytest
from project_commands import run_command

from biogpt.data.pubmed.corpus import PubmedCounts, input_files, iter_documents, main, write_dataset
from biogpt.data.pubmed.records import Citation, Deletion, Malformed, MalformedXMLError, iter_records

EXPECTED_TEXT = "; expected a well-formed PubMed XML file (PubmedArticleSet or MedlineCitationSet)"
EXPECTED = re.escape(EXPECTED_TEXT)

# Abstracts of the real samples, written out from the XML: inline <sub> and pretty-printing
# whitespace give "β 2-agonist", &#xa0; becomes a plain space, &lt; / &gt; are decoded.
ABSTRACT_29768149 = (
    "In patients with mild asthma, as-needed use of an inhaled glucocorticoid plus a fast-acting β "
    "2-agonist may be an alternative to conventional treatment strategies. We conducted a 52-week, "
    "double-blind trial involving patients 12 years of age or older with mild asthma. Patients were "
    "randomly assigned to one of three regimens: twice-daily placebo plus terbutaline (0.5 mg) used "
    "as needed (terbutaline group), twice-daily placebo plus budesonide-formoterol (200 μg of "
    "budesonide and 6 μg of formoterol) used as needed (budesonide-formoterol group), or twice-daily "
    "budesonide (200 μg) plus terbutaline used as needed (budesonide maintenance group). The primary "
    "objective was to investigate the superiority of as-needed budesonide-formoterol to as-needed "
    "terbutaline with regard to electronically recorded weeks with well-controlled asthma. A total of"
    " 3849 patients underwent randomization, and 3836 (1277 in the terbutaline group, 1277 in the "
    "budesonide-formoterol group, and 1282 in the budesonide maintenance group) were included in the "
    "full analysis and safety data sets. With respect to the mean percentage of weeks with well-"
    "controlled asthma per patient, budesonide-formoterol was superior to terbutaline (34.4% vs. "
    "31.1% of weeks; odds ratio, 1.14; 95% confidence interval [CI], 1.00 to 1.30; P=0.046) but "
    "inferior to budesonide maintenance therapy (34.4% and 44.4%, respectively; odds ratio, 0.64; 95%"
    " CI, 0.57 to 0.73). The annual rate of severe exacerbations was 0.20 with terbutaline, 0.07 with"
    " budesonide-formoterol, and 0.09 with budesonide maintenance therapy; the rate ratio was 0.36 "
    "(95% CI, 0.27 to 0.49) for budesonide-formoterol versus terbutaline and 0.83 (95% CI, 0.59 to "
    "1.16) for budesonide-formoterol versus budesonide maintenance therapy. The rate of adherence in "
    "the budesonide maintenance group was 78.9%. The median metered daily dose of inhaled "
    "glucocorticoid in the budesonide-formoterol group (57 μg) was 17% of the dose in the budesonide "
    "maintenance group (340 μg). In patients with mild asthma, as-needed budesonide-formoterol "
    "provided superior asthma-symptom control to as-needed terbutaline, assessed according to "
    "electronically recorded weeks with well-controlled asthma, but was inferior to budesonide "
    "maintenance therapy. Exacerbation rates with the two budesonide-containing regimens were similar"
    " and were lower than the rate with terbutaline. Budesonide-formoterol used as needed resulted in"
    " substantially lower glucocorticoid exposure than budesonide maintenance therapy. (Funded by "
    "AstraZeneca; SYGMA 1 ClinicalTrials.gov number, NCT02149199 .)."
)
ABSTRACT_36400559 = (
    "Back pain is a common condition affecting millions of individuals each year. A biopsychosocial "
    "approach to back pain provides the best clinical framework. A detailed history and physical "
    "examination with a thorough workup are required to exclude emergent or nonoperative etiologies "
    "of back pain. The treatment of back pain first uses conventional therapies including lifestyle "
    "modifications, nonsteroidal anti-inflammatory drugs, physical therapy, and cognitive behavioral "
    "therapy. If these options have been exhausted and pain persists for greater than 6 weeks, "
    "imaging and a specialist referral may be indicated."
)
ABSTRACT_2930949 = (
    "Low back pain is one of the most common and costly afflictions of our Society. The majority of "
    "adults will have at least one episode of acute low back pain that will likely resolve regardless"
    " of treatment. Lumbar spine radiographs are overused and there is little scientific support for "
    "many of the therapeutic interventions advocated. Even for those patients with symptomatic "
    "herniated disc, only a small fraction will ultimately require surgical intervention."
)
ABSTRACT_28786991 = (
    "To synthesize outputs and outcomes of community-based tuberculosis targeted testing and "
    "treatment (TTT) programs in foreign-born populations (FBP) in the United States (US). We "
    "systematically searched five bibliographic databases and other key resources. Two reviewers "
    "independently applied eligibility criteria to screen citations and extracted data from included "
    "studies. We excluded studies that contained <50% FBP participants or that examined steps only "
    "after diagnosis of latent TB infection (LTBI). We stratified studies as majority FBP (50-90%) "
    "and predominantly FBP (>90%). We used random-effects meta-analytic models to calculate pooled "
    "proportions and 95% confidence intervals (CI) for community-based TTT cascade steps (e.g., "
    "recruited, tested and treated), and used them to create two hypothetical cascades for 100 "
    "individuals. Fifteen studies conducted in 10 US states met inclusion criteria. Studies were "
    "heterogeneous in recruitment strategies and mostly recruited participants born in Latin America."
    " Of 100 hypothetical participants (predominantly FBP) reached by community-based TTT, 40.4 (95% "
    "CI 28.6 to 50.1) would have valid test results, 15.7 (95% CI 9.9 to 21.8) would test positive, "
    "and 3.6 (95% CI 1.4 to 6.0) would complete LTBI treatment. Likewise, of 100 hypothetical "
    "participants (majority FBP) reached, 77.9 (95% CI 54.0 to 92.1) would have valid test results, "
    "26.5 (95% CI 18.0 to 33.5) would test positive, and 5.4 (95% CI 2.1 to 9.0) would complete LTBI "
    "treatment. Of those with valid test results, pooled proportions of LTBI test positive for "
    "predominantly FBP and majority FBP were 38.9% (95% CI 28.6 to 49.8) and 34.3% (95% CI 29.3 to "
    "39.5), respectively. We observed high attrition throughout the care cascade in FBP participating"
    " in LTBI community-based TTT studies. Few studies included cascade steps prior to LTBI "
    "diagnosis, limiting our review findings. Moreover, Asia-born populations in the US are "
    "substantially underrepresented in the FBP community-based TTT literature."
)
TITLE_28786991 = (
    "Yield of community-based tuberculosis targeted testing and treatment in foreign-born populations "
    "in the United States: A systematic review."
)
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'
ABSTRACT = "<AbstractText>An abstract.</AbstractText>"


def date_xml(tag: str, iso: str) -> str:
    year, month, day = iso.split("-")
    return f"<{tag}><Year>{year}</Year><Month>{month}</Month><Day>{day}</Day></{tag}>"


def citation_xml(
    pmid: str | None,
    title: str = "A title.",
    abstract: str | None = ABSTRACT,
    revised: str | None = "2020-01-02",
    date_tag: str = "DateRevised",
) -> str:
    """A ``MedlineCitation``; None leaves the PMID, the abstract or the date out."""
    pmid_xml = "" if pmid is None else f'<PMID Version="1">{pmid}</PMID>'
    revised_xml = "" if revised is None else date_xml(date_tag, revised)
    abstract_xml = "" if abstract is None else f"<Abstract>{abstract}</Abstract>"
    return (
        f'<MedlineCitation Status="MEDLINE" Owner="NLM">{pmid_xml}{revised_xml}'
        f"<Article><ArticleTitle>{title}</ArticleTitle>{abstract_xml}</Article></MedlineCitation>"
    )


def article_xml(pmid: str | None, **fields: str | None) -> str:
    """A current-format ``PubmedArticle``, with a ``PubmedData`` part that must be ignored."""
    return (
        f"<PubmedArticle>{citation_xml(pmid, **fields)}<PubmedData><ArticleIdList>"
        f'<ArticleId IdType="pubmed">999{pmid}</ArticleId></ArticleIdList></PubmedData></PubmedArticle>'
    )


def deletion_xml(*pmids: str) -> str:
    return (
        "<DeleteCitation>"
        + "".join(f'<PMID Version="1">{pmid}</PMID>' for pmid in pmids)
        + "</DeleteCitation>"
    )


def write_pubmed(path: Path, *records: str, root: str = "PubmedArticleSet", separator: str = "\n") -> Path:
    """Write a PubMed file (gzip when the name ends in .gz): declaration, root line, then the records."""
    content = f"{XML_DECLARATION}<{root}>{separator}{separator.join(records)}{separator}</{root}>\n".encode()
    path.write_bytes(gzip.compress(content) if path.name.endswith(".gz") else content)
    return path


def records(path: Path, **options: bool) -> list[object]:
    return list(iter_records(path, **options))


# --- the real NLM samples -------------------------------------------------------------------------


def test_real_baseline_sample_yields_every_citation(shared_data: Path) -> None:
    assert records(shared_data / "PubMed" / "test_current_medline.xml.gz") == [
        Citation(
            "36400559", "Back Pain: Differential Diagnosis and Management.", ABSTRACT_36400559, "2022-11-30"
        ),
        Citation("2930949", "Low back pain.", ABSTRACT_2930949, "2018-11-13"),
        Citation("11446611", "Acute back pain.", "", "2019-06-07"),
        Citation("28786991", TITLE_28786991, ABSTRACT_28786991, "2018-12-02"),
    ]


def test_real_structured_abstract_with_and_without_labels(shared_data: Path) -> None:
    path = shared_data / "PubMed" / "pubmed-29768149.xml"
    title = "Inhaled Combined Budesonide-Formoterol as Needed in Mild Asthma."
    assert records(path) == [Citation("29768149", title, ABSTRACT_29768149, "2022-04-10")]
    labelled = "BACKGROUND: " + ABSTRACT_29768149.replace(
        " We conducted a 52-week", " METHODS: We conducted a 52-week"
    ).replace(" A total of 3849", " RESULTS: A total of 3849").replace(
        " In patients with mild asthma, as-needed", " CONCLUSIONS: In patients with mild asthma, as-needed"
    )
    assert records(path, keep_labels=True) == [Citation("29768149", title, labelled, "2022-04-10")]


def test_real_samples_become_documents_in_file_name_order(shared_data: Path) -> None:
    counts = PubmedCounts()
    documents = list(iter_documents([shared_data / "PubMed"], counts=counts))
    assert [document.pmid for document in documents] == ["29768149", "36400559", "2930949", "28786991"]
    assert documents[2].text == "Low back pain. " + ABSTRACT_2930949
    assert counts == PubmedCounts(read=5, kept=4, without_abstract=1)


def test_real_samples_revision_cutoff(shared_data: Path) -> None:
    counts = PubmedCounts()
    documents = list(iter_documents([shared_data / "PubMed"], revised_before=date(2021, 1, 1), counts=counts))
    assert [document.pmid for document in documents] == ["2930949", "28786991"]
    assert counts == PubmedCounts(read=5, kept=2, without_abstract=1, revised_after_cutoff=2)


# --- formats and text -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "abstract", "text"),
    [
        ("Title.", "Body.", "Title. Body."),
        ("Why?", "Body.", "Why? Body."),
        ("No stop", "Body.", "No stop. Body."),
        ("", "Body.", "Body."),
    ],
)
def test_text_joins_title_and_abstract_without_doubling_the_stop(
    title: str, abstract: str, text: str
) -> None:
    assert Citation("1", title, abstract, None).text == text


def test_old_medline_citation_set_format(tmp_path: Path) -> None:
    path = write_pubmed(
        tmp_path / "medline16n0001.xml",
        citation_xml("11", title="Old format."),
        citation_xml("12", revised="1999-03-04", date_tag="DateCreated"),
        deletion_xml("5", "6"),
        root="MedlineCitationSet",
    )
    assert records(path) == [
        Citation("11", "Old format.", "An abstract.", "2020-01-02"),
        Citation("12", "A title.", "An abstract.", "1999-03-04"),
        Deletion(("5", "6")),
    ]


def test_structured_abstract_joined_in_order_with_optional_labels(tmp_path: Path) -> None:
    abstract = (
        '<AbstractText Label="BACKGROUND" NlmCategory="BACKGROUND">Why.</AbstractText>'
        '<AbstractText Label="METHODS" NlmCategory="METHODS">How.</AbstractText>'
        '<AbstractText>Unlabelled.</AbstractText><AbstractText Label="RESULTS"/>'
    )
    path = write_pubmed(tmp_path / "pubmed99n0001.xml", article_xml("1", abstract=abstract))
    assert records(path)[0].abstract == "Why. How. Unlabelled."
    assert records(path, keep_labels=True)[0].abstract == "BACKGROUND: Why. METHODS: How. Unlabelled."


def test_inline_markup_kept_as_text_and_whitespace_normalised(tmp_path: Path) -> None:
    title = "Role of <i>TP53</i> in H<sub>2</sub>O<sup>+</sup>\n\t\ttransport"
    abstract = (
        "<AbstractText>We  measured <b>Ca</b><sup>2+</sup> at\n\t\t<u>37</u>&#xa0;&#176;C with "
        '<mml:math xmlns:mml="http://www.w3.org/1998/Math/MathML"><mml:msup><mml:mi>x</mml:mi>'
        "<mml:mn>2</mml:mn></mml:msup></mml:math> fit.\n</AbstractText>"
    )
    (citation,) = records(
        write_pubmed(tmp_path / "pubmed99n0001.xml", article_xml("1", title=title, abstract=abstract))
    )
    assert citation.title == "Role of TP53 in H2O+ transport"
    assert citation.abstract == "We measured Ca2+ at 37 °C with x2 fit."
    assert citation.text == "Role of TP53 in H2O+ transport. We measured Ca2+ at 37 °C with x2 fit."


def test_book_articles_are_citations(tmp_path: Path) -> None:
    def book_xml(pmid: str, chapter: str) -> str:
        chapter_xml = f"<ArticleTitle>{chapter}</ArticleTitle>" if chapter else ""
        return (
            f'<PubmedBookArticle><BookDocument><PMID Version="1">{pmid}</PMID>'
            f'<Book><BookTitle book="gene">GeneReviews<sup>®</sup></BookTitle></Book>{chapter_xml}'
            '<Abstract><AbstractText Label="SUMMARY">Book text.</AbstractText></Abstract>'
            f"{date_xml('DateRevised', '2019-05-06')}</BookDocument><PubmedBookData/></PubmedBookArticle>"
        )

    path = write_pubmed(
        tmp_path / "pubmed99n0001.xml", book_xml("20301295", "Chapter."), book_xml("20301296", "")
    )
    assert records(path, keep_labels=True) == [
        Citation("20301295", "Chapter.", "SUMMARY: Book text.", "2019-05-06"),
        Citation("20301296", "GeneReviews®", "SUMMARY: Book text.", "2019-05-06"),
    ]


# --- versions, deletions, cut-off -------------------------------------------------------------------


def test_latest_version_wins_across_files_and_deletions_apply(tmp_path: Path) -> None:
    first = write_pubmed(
        tmp_path / "pubmed99n0001.xml.gz",
        *(article_xml(pmid, title=f"{pmid} v1.") for pmid in ("1", "2", "3", "4", "5", "6")),
    )
    second = write_pubmed(
        tmp_path / "pubmed99n0002.xml",
        article_xml("1", title="1 v2."),
        deletion_xml("3", "999"),
        article_xml("4", title="4 v2.", abstract=None),
        deletion_xml("5"),
        article_xml("6", title="6 v2."),
        article_xml("6", title="6 v3."),
    )
    third = write_pubmed(tmp_path / "pubmed99n0003.xml", article_xml("5", title="5 back."))
    counts = PubmedCounts()
    documents = iter_documents([third, second, first], counts=counts)  # given out of order on purpose
    assert [(document.pmid, document.title) for document in documents] == [
        ("2", "2 v1."),
        ("1", "1 v2."),
        ("6", "6 v3."),
        ("5", "5 back."),
    ]
    # Superseded: 1 v1, 4 v1, 5 v1 (deleted, then re-added), 6 v1, 6 v2; PMID 999 was never read.
    assert counts == PubmedCounts(read=11, kept=4, without_abstract=1, deleted=1, duplicates=5)


def test_cutoff_drops_late_versions_and_falls_back_to_earlier_ones(tmp_path: Path) -> None:
    write_pubmed(
        tmp_path / "pubmed99n0001.xml",
        article_xml("1", title="Old.", revised="2020-12-31"),
        article_xml("2", title="Late only.", revised="2021-01-01"),
        article_xml("3", title="Undated.", revised=None),
    )
    write_pubmed(tmp_path / "pubmed99n0002.xml", article_xml("1", title="New.", revised="2021-06-01"))
    counts = PubmedCounts()
    documents = iter_documents([tmp_path], revised_before=date(2021, 1, 1), counts=counts)
    assert [(doc.pmid, doc.title, doc.date_revised) for doc in documents] == [
        ("1", "Old.", "2020-12-31"),
        ("3", "Undated.", None),
    ]
    assert counts == PubmedCounts(read=4, kept=2, revised_after_cutoff=2)


def test_input_files_expands_directories_in_release_order(tmp_path: Path) -> None:
    baseline, updates = tmp_path / "baseline", tmp_path / "updatefiles"
    baseline.mkdir()
    updates.mkdir()
    names = ["pubmed24n0002.xml.gz", "pubmed24n0001.xml.gz", "README.txt", "pubmed24n0001.xml.gz.md5"]
    for name in names:
        (baseline / name).touch()
    for name in ("pubmed24n1220.xml.gz", "pubmed24n1219.xml"):
        (updates / name).touch()
    assert input_files([updates, baseline]) == [
        baseline / "pubmed24n0001.xml.gz",
        baseline / "pubmed24n0002.xml.gz",
        updates / "pubmed24n1219.xml",
        updates / "pubmed24n1220.xml.gz",
    ]
    with pytest.raises(FileNotFoundError, match="missing"):
        input_files([tmp_path / "missing"])


# --- malformed input -------------------------------------------------------------------------------

BROKEN = article_xml("2", title="B.").replace("</ArticleTitle>", "</Title>")
ALSO_BROKEN = article_xml("4", title="D.").replace("</Article>", "</Artikel>")


@pytest.mark.parametrize(("separator", "line"), [("\n", 4), ("", 2)])
def test_syntax_error_names_file_and_line(tmp_path: Path, separator: str, line: int) -> None:
    path = write_pubmed(tmp_path / "pubmed99n0007.xml.gz", article_xml("1"), BROKEN, separator=separator)
    with pytest.raises(
        MalformedXMLError, match=rf"^{re.escape(str(path))}:{line}:\d+: mismatched tag{EXPECTED}$"
    ):
        records(path)


@pytest.mark.parametrize(
    ("separator", "lines", "columns"), [("\n", (4, 6), (189, 266)), ("", (2, 2), (613, 1495))]
)
def test_skip_malformed_skips_only_the_bad_citations(
    tmp_path: Path, separator: str, lines: tuple[int, int], columns: tuple[int, int]
) -> None:
    good = [article_xml(pmid, title=f"{pmid}.") for pmid in ("1", "3", "5")]
    path = write_pubmed(
        tmp_path / "pubmed99n0007.xml", good[0], BROKEN, good[1], ALSO_BROKEN, good[2], separator=separator
    )
    assert records(path, skip_malformed=True) == [
        Citation("1", "1.", "An abstract.", "2020-01-02"),
        Malformed(f"{path}:{lines[0]}:{columns[0]}: mismatched tag{EXPECTED_TEXT}"),
        Citation("3", "3.", "An abstract.", "2020-01-02"),
        Malformed(f"{path}:{lines[1]}:{columns[1]}: mismatched tag{EXPECTED_TEXT}"),
        Citation("5", "5.", "An abstract.", "2020-01-02"),
    ]
    counts = PubmedCounts()
    assert [doc.pmid for doc in iter_documents([path], skip_malformed=True, counts=counts)] == ["1", "3", "5"]
    assert counts == PubmedCounts(read=3, kept=3, malformed=2)


def test_truncated_file_skips_its_rest(tmp_path: Path) -> None:
    path = write_pubmed(tmp_path / "pubmed99n0008.xml", article_xml("1"), article_xml("2", title="Cut here."))
    content = path.read_bytes()
    path.write_bytes(content[: content.index(b"here.")])
    with pytest.raises(
        MalformedXMLError,
        match=rf"^{re.escape(str(path))}:4:\d+: unexpected end of file \(no element found\){EXPECTED}$",
    ):
        records(path)
    assert records(path, skip_malformed=True) == [
        Citation("1", "A title.", "An abstract.", "2020-01-02"),
        Malformed(f"{path}:4:189: unexpected end of file (no element found){EXPECTED_TEXT}"),
    ]


def test_truncated_gzip_keeps_the_citations_before_the_break(tmp_path: Path) -> None:
    articles = [
        article_xml(str(pmid), abstract=f"<AbstractText>Finding {pmid**7}.</AbstractText>")
        for pmid in range(1, 5001)
    ]
    path = write_pubmed(tmp_path / "pubmed99n0009.xml.gz", *articles)
    compressed = path.read_bytes()
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(
        MalformedXMLError, match=rf"^{re.escape(str(path))}:\d+: truncated or corrupt compressed"
    ):
        records(path)
    *citations, malformed = records(path, skip_malformed=True)
    assert isinstance(malformed, Malformed) and "truncated or corrupt compressed data" in malformed.message
    assert 1000 < len(citations) < 5000
    assert [citation.pmid for citation in citations] == [str(pmid) for pmid in range(1, len(citations) + 1)]


def test_citation_without_pmid_is_malformed(tmp_path: Path) -> None:
    path = write_pubmed(tmp_path / "pubmed99n0010.xml", article_xml("1"), article_xml(None), article_xml("3"))
    with pytest.raises(
        MalformedXMLError, match=rf"^{re.escape(str(path))} record 2 \(MedlineCitation\): missing PMID$"
    ):
        records(path)
    counts = PubmedCounts()
    assert [doc.pmid for doc in iter_documents([path], skip_malformed=True, counts=counts)] == ["1", "3"]
    assert counts == PubmedCounts(read=2, kept=2, malformed=1)


# --- dataset and command line ----------------------------------------------------------------------


def test_cli_writes_a_dataset_that_loads(tmp_path: Path, shared_data: Path) -> None:
    from datasets import load_from_disk

    out = tmp_path / "corpus"
    command = [
        "-m",
        "biogpt.data.pubmed",
        "--out",
        str(out),
        "--keep-labels",
        str(shared_data / "PubMed"),
    ]
    result = run_command(command)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "read: 5",
        "kept: 4",
        "without abstract: 1",
        "deleted: 0",
        "duplicates: 0",
        "malformed: 0",
        "revised after cutoff: 0",
    ]
    dataset = load_from_disk(str(out))
    assert dataset.column_names == ["pmid", "title", "abstract", "text", "date_revised"]
    assert dataset["pmid"] == ["29768149", "36400559", "2930949", "28786991"]
    assert dataset[2] == {
        "pmid": "2930949",
        "title": "Low back pain.",
        "abstract": ABSTRACT_2930949,
        "text": "Low back pain. " + ABSTRACT_2930949,
        "date_revised": "2018-11-13",
    }
    assert dataset[3]["text"].startswith(TITLE_28786991 + " OBJECTIVE: To synthesize outputs")


def test_cli_reports_malformed_xml_and_skips_it_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datasets import load_from_disk

    path = write_pubmed(tmp_path / "pubmed99n0007.xml", article_xml("1"), BROKEN, article_xml("3"))
    with pytest.raises(SystemExit) as failed:
        main(["--out", str(tmp_path / "failed"), str(path)])
    assert failed.value.code == 1
    assert f"{path}:4:" in capsys.readouterr().err
    main(["--out", str(tmp_path / "skipped"), "--skip-malformed", str(path)])
    assert "kept: 2\n" in capsys.readouterr().out
    assert load_from_disk(str(tmp_path / "skipped"))["pmid"] == ["1", "3"]
    with pytest.raises(SystemExit) as empty:
        main(
            [
                "--out",
                str(tmp_path / "empty"),
                "--skip-malformed",
                "--revised-before",
                "2020-01-02",
                str(path),
            ]
        )
    assert empty.value.code == 1
    output = capsys.readouterr()
    assert "malformed: 1\nrevised after cutoff: 2\n" in output.out and "no document kept" in output.err
    assert not (tmp_path / "empty").exists()


def test_write_dataset_accepts_any_documents(tmp_path: Path) -> None:
    from datasets import load_from_disk

    documents = [Citation("7", "T.", "A.", None), Citation("8", "", "B.", "2001-02-03")]
    assert write_dataset(iter(documents), tmp_path / "out") == 2
    assert write_dataset([], tmp_path / "empty") == 0
    assert not (tmp_path / "empty").exists()
    assert load_from_disk(str(tmp_path / "out"))["text"] == ["T. A.", "B."]
