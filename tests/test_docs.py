"""Every notes file that code, tests or the workflow cite (docs/..., NOTES.md, README.md, ...)
is in the repository, beside the citing file or from the repository root."""
import re

from conftest import REPO

CITED = re.compile(r"(?<![\w/.-])((?:[\w-]+/)*(?:[A-Z][A-Z_-]*\.md|docs/[\w./-]+\.md))")
SOURCES = [*REPO.glob("ijae/**/*.py"), *REPO.glob("baselines/**/*.py"), *REPO.glob("tests/*.py"),
           *REPO.glob("bench/*.py"), *REPO.glob("rules/*.smk"), REPO / "Snakefile",
           *REPO.glob("config/*.yaml"), *REPO.glob("config/presets/*/*.yaml"), REPO / "README.md",
           *REPO.glob("docs/*.md"), REPO / "baselines" / "README.md"]
SOURCES.remove(REPO / "tests" / "test_docs.py")   # its own examples below are not citations


def cited_files():
    for source in SOURCES:
        for match in CITED.finditer(source.read_text(encoding="utf-8")):
            yield source, match[1]


def test_the_pattern_finds_the_citations_it_should():
    found = {name for _, name in cited_files()}
    assert {"docs/paper-notes.md", "docs/design.md"} <= found
    assert CITED.findall("see NOTES.md section 1, DESIGN.md and docs/x.md; not table1.md") == \
        ["NOTES.md", "DESIGN.md", "docs/x.md"]


def test_every_cited_notes_file_exists():
    missing = sorted({f"{source.relative_to(REPO)}: {name}" for source, name in cited_files()
                      if not ((source.parent / name).is_file() or (REPO / name).is_file())})
    assert not missing, missing


def test_the_generated_reference_pages_are_current():
    """docs/cli.md and docs/config-keys.md are made from the parser, the config's dataclasses and
    the workflow schema, the README's headline table from results/default/claims.csv
    (`python -m ijae.reference`): an argument, a key or a regenerated claim without them fails."""
    from ijae import reference

    assert reference.main(["--check"]) == 0


def test_the_headline_counts_the_headline_rows_of_each_family_and_dataset():
    """The README's headline table: verdict counts per family (row) and dataset (column), over
    the headline rows only (a λ = 0 twin row is not counted); an unknown verdict is an error."""
    import pandas as pd
    import pytest

    from ijae.report.headline import headline_markdown

    rows = [("digits", "λ trends", True, "holds"), ("digits", "λ trends", True, "refuted"),
            ("digits", "λ trends", False, "holds"),   # the "with λ = 0" row: not a headline
            ("digits", "Table 1", True, "undecided at this budget"),
            ("stacked_digits", "λ trends", True, "no effect larger than δ"),
            ("stacked_digits", "Table 1", True, "not decided (measure fails its controls)"),
            ("stacked_digits", "Table 1", True, "holds")]
    claims = pd.DataFrame(rows, columns=["dataset", "family", "headline", "verdict"]).assign(seeds=3)
    lines = headline_markdown(claims, "default").splitlines()
    assert lines[0] == "| claims | digits | stacked digits |"
    assert lines[2] == "| λ trends | 2: 1 hold, 1 refuted | 1: 1 no effect > δ |"
    assert lines[3] == ("| Table 1 | 1: 1 undecided | 2: 1 hold, "
                        "1 not decided (fails its controls) |")
    with pytest.raises(ValueError, match="unknown verdict"):
        headline_markdown(claims.assign(verdict="maybe"), "default")
