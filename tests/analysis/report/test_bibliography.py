"""The LaTeX export's bibliography: an entry per study of baselines.csv, its DOI, stable keys, the text citing them."""

from __future__ import annotations

import re

import pandas as pd

from analysis.report.bibliography import bibtex, citing_paragraph, read_baselines, studies


def _entries(bib: str) -> dict[str, str]:
    """key -> the entry's text."""
    return {m.group(2): m.group(0) for m in re.finditer(r"@(\w+)\{([^,\s]+),\n(.*?)\n\}", bib, re.DOTALL)}


def test_an_entry_per_study_of_baselines_csv_with_its_doi() -> None:
    frame = read_baselines()
    entries = _entries(bibtex(studies(frame)))
    assert len(entries) == frame["study"].nunique()
    assert list(entries) == ["pimentel2019large", "samuel2024computational", "nguyen2025majority"]
    dois = dict(zip(frame["study"], frame["doi"]))
    for study, entry in zip(studies(frame), entries.values()):
        assert dois[next(s for s in dois if s.endswith(study.title))] == study.doi
        assert study.doi and f"doi = {{{study.doi}}}" in entry and f"https://doi.org/{study.doi}" in entry
    assert entries["pimentel2019large"].startswith("@inproceedings")
    assert "author = {Pimentel and Murta and Braganholo and Freire}" in entries["pimentel2019large"]
    assert "booktitle = {IEEE/ACM 16th International Conference on Mining Software Repositories (MSR)}" in \
        entries["pimentel2019large"]
    assert entries["samuel2024computational"].startswith("@article")
    assert "journal = {GigaScience}" in entries["samuel2024computational"]
    assert "author = {Nguyen and others}" in entries["nguyen2025majority"]
    assert "title = {{Are the Majority of Public" in entries["nguyen2025majority"]  # its capitals kept


def test_a_study_without_doi_has_no_doi_field_and_keys_stay_distinct() -> None:
    frame = pd.DataFrame({"study": ["Doe: The Study of Things & 50% More", "Doe: Study of Other Things"],
                          "venue": ["J. Stuff 2020", "ICSE 2020"], "doi": ["", ""], "population": ["x", ""]})
    found = studies(frame)
    assert [s.key for s in found] == ["doe2020study", "doe2020studyb"]
    assert [s.kind for s in found] == ["article", "inproceedings"]
    bib = bibtex(found)
    assert "doi" not in bib and "note" not in bib
    assert "The Study of Things \\& 50\\% More" in bib
    text = citing_paragraph(found, None)
    assert "\\cite{doe2020study}" in text and "\\cite{doe2020studyb}" in text and "\\ref" not in text


def test_every_study_is_cited_with_the_baselines_table() -> None:
    found = studies(read_baselines())
    text = citing_paragraph(found, "tab:baselines")
    assert set(re.findall(r"\\cite\{([^}]+)\}", text)) == {s.key for s in found}
    assert "Pimentel et al.~\\cite{pimentel2019large}" in text and "Samuel and Mietchen~" in text
    assert "Table~\\ref{tab:baselines}" in text
