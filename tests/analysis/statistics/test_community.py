"""Community statistics: Wilson intervals, and numbers recomputed from the rows they come from."""

from __future__ import annotations

import csv
import math
import shutil
from pathlib import Path

import pytest

from analysis.engine.driver import analyze
from analysis.ftypes import AnalyzeSettings
from analysis.statistics.shares import wilson
from miner.ftypes import CorpusSpec, MineSettings, MlflowSelection
from miner.mine import mine
from tests.conftest import make_repo


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [(0, 10, 0.0, 0.2775), (5, 10, 0.2366, 0.7634), (10, 10, 0.7225, 1.0), (39, 57, 0.5552, 0.7900), (0, 0, 0.0, 0.0)],
)
def test_wilson_known_values(k: int, n: int, low: float, high: float) -> None:
    got = wilson(k, n)
    assert math.isclose(got[0], low, abs_tol=1e-4) and math.isclose(got[1], high, abs_tol=1e-4)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("stats")
    copy = {"train.py": "import mlflow\nmlflow.log_param('a', 1)\nmlflow.log_metric('m', 1, step=2)\n",
            "MLproject": "name: x\nentry_points:\n  main:\n    command: python train.py\n"}
    make_repo(tmp / "src" / "orig", copy)
    make_repo(tmp / "src" / "copy", copy)  # a classroom copy: same files, fresh history
    make_repo(tmp / "src" / "auto", {"t.py": "import mlflow\nmlflow.autolog()\nmlflow.set_tag('k', 'v')\n"})
    make_repo(tmp / "src" / "none", {"t.py": "print(1)\n"})
    spec = CorpusSpec(name="t", path=tmp / "t.toml", mlflow=MlflowSelection(source="none"))
    mine(MineSettings(spec=spec, corpus_dir=tmp / "corpus", from_local=tmp / "src", skip_mlflow=True))
    analyze(AnalyzeSettings(corpus_dir=tmp / "corpus", out_dir=tmp / "out", draw_report=False))
    return tmp / "out"


def _practice(out: Path, population: str, name: str) -> dict[str, str]:
    return next(r for r in _read(out / "practices.csv") if r["population"] == population and r["practice"] == name)


def test_practices_recomputed_from_the_rows(out: Path) -> None:
    manifest = _read(out.parent / "corpus" / "manifest.csv")
    leaders = {r["repo"] for r in manifest if r["status"] == "ok" and not r["duplicate_of"]}
    calls = _read(out / "call_sites.csv")
    for population, repos in (("one-per-family", leaders), ("all", {r["repo"] for r in manifest})):
        params = {c["repo"] for c in calls if c["category"] == "param" and c["repo"] in repos}
        row = _practice(out, population, "logs params")
        assert (int(row["n_repos"]), int(row["n_eligible"])) == (len(params), len(repos))
        low, high = wilson(len(params), len(repos))
        assert (float(row["ci_low"]), float(row["ci_high"])) == (round(low, 4), round(high, 4))
    assert len(leaders) == 3  # the copy is counted once by default


def test_effect_of_the_duplicate_filter_is_visible(out: Path) -> None:
    assert (_practice(out, "one-per-family", "logs params")["n_repos"], _practice(out, "all", "logs params")["n_repos"]) == ("1", "2")
    steps = _practice(out, "one-per-family", "uses steps")
    assert (steps["n_repos"], steps["n_eligible"]) == ("1", "1")  # eligible: repositories logging metrics
    auto = _practice(out, "one-per-family", "autolog only")
    assert (auto["n_repos"], auto["n_eligible"]) == ("1", "2")
    assert _practice(out, "one-per-family", "MLproject present")["n_repos"] == "1"
    # no repository declares dependencies: a share of nothing is written empty, not 0 with an interval of 0 to 0
    none = _practice(out, "one-per-family", "exact pinning share 0")
    assert [none[c] for c in ("n_repos", "n_eligible", "share", "ci_low", "ci_high")] == ["0", "0", "", "", ""]
    assert not [r for r in _read(out / "practices.csv") if "nan" in (r["share"], r["ci_low"], r["ci_high"])]


def test_api_usage_counts_sites_and_repositories(out: Path) -> None:
    rows = _read(out / "api_usage.csv")
    usage = {r["api"]: r for r in rows if r["population"] == "one-per-family"}
    assert (usage["mlflow.log_param"]["n_call_sites"], usage["mlflow.log_param"]["n_repos"]) == ("1", "1")
    assert usage["mlflow.log_param"]["share_repos"] == str(round(1 / 3, 4))
    assert usage["mlflow.log_param"]["n_eligible"] == "3"
    low, high = wilson(1, 3)
    assert (usage["mlflow.log_param"]["ci_low"], usage["mlflow.log_param"]["ci_high"]) == (str(round(low, 4)), str(round(high, 4)))
    assert usage["mlflow.autolog"]["first_version"] != ""
    # over all repositories, the classroom copy's call counts too; one per family's rows first
    every = {r["api"]: r for r in rows if r["population"] == "all"}
    assert (every["mlflow.log_param"]["n_call_sites"], every["mlflow.log_param"]["n_repos"]) == ("2", "2")
    assert every["mlflow.log_param"]["n_eligible"] == "4" and every["mlflow.autolog"]["n_repos"] == "1"
    assert [r["population"] for r in rows] == ["one-per-family"] * len(usage) + ["all"] * len(every)
    prov = (out / "practices.csv.provenance.json").read_text()
    assert "call_sites.csv" in prov and "manifest_sha256" in prov


def test_log_model_with_registered_model_name_registers(tmp_path: Path) -> None:
    repos = {
        "by-log-model": "import mlflow\nmlflow.sklearn.log_model(m, 'model', registered_model_name='iris')\n",
        "computed-name": "import mlflow.pytorch\nmlflow.pytorch.log_model(m, 'model', registered_model_name=NAME)\n",
        "by-registry": "import mlflow\nmlflow.register_model('runs:/1/model', 'iris')\n",
        "logs-only": "import mlflow\nmlflow.sklearn.log_model(m, 'model')\n",
        "nothing": "import mlflow\nmlflow.log_param('a', 1)\n",
    }
    for name, code in repos.items():
        make_repo(tmp_path / "src" / name, {"train.py": code, name: name})  # distinct content: no duplicate family
    spec = CorpusSpec(name="t", path=tmp_path / "t.toml", mlflow=MlflowSelection(source="none"))
    mine(MineSettings(spec=spec, corpus_dir=tmp_path / "corpus", from_local=tmp_path / "src", skip_mlflow=True))
    analyze(AnalyzeSettings(corpus_dir=tmp_path / "corpus", out_dir=tmp_path / "out", draw_report=False))
    calls = _read(tmp_path / "out" / "call_sites.csv")
    registering = {c["repo"] for c in calls if c["category"] == "registry" or c["note"].startswith("registered_model_name=")}
    assert registering == {"by-log-model", "computed-name", "by-registry"}
    row = _practice(tmp_path / "out", "one-per-family", "registers models")
    assert (row["n_repos"], row["n_eligible"]) == ("3", "5")
    assert "registered_model_name" in row["definition"]
    assert _practice(tmp_path / "out", "one-per-family", "logs models")["n_repos"] == "3"
    # the repositories logging anything (not by-registry: registering is not logging) in four parts that add up:
    # three log only a model, one a param by hand
    parts = {p: _practice(tmp_path / "out", "one-per-family", p) for p in
             ("manual only", "autolog only", "autolog and manual", "other logging only")}
    assert {p: (r["n_repos"], r["n_eligible"]) for p, r in parts.items()} == {
        "manual only": ("1", "4"), "autolog only": ("0", "4"), "autolog and manual": ("0", "4"),
        "other logging only": ("3", "4")}


def _with_stores(out: Path, to: Path) -> Path:
    """The row tables of ``out`` in ``to``, with two committed stores, three runs and their params."""
    from analysis.statistics.community import STATISTICS_FROM
    from analysis.tables import TABLES

    to.mkdir(parents=True)
    for name in {n for names in STATISTICS_FROM.values() for n in names} - {"manifest.csv", "graphs/"}:
        (to / name).write_bytes((out / name).read_bytes())
    shutil.copytree(out / "graphs", to / "graphs")

    def table(key: str, rows: list[dict[str, object]]) -> None:
        columns = TABLES[key].columns
        with (to / TABLES[key].file).open("w", newline="") as fh:
            writer = csv.DictWriter(fh, columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows({c: row.get(c, "") for c in columns} for row in rows)

    counts = dict.fromkeys(("n_experiments", "n_runs", "bytes", "files", "n_registered_models", "n_model_versions",
                            "n_problems", "skipped_runs", "skipped_metric_lines", "n_metric_points", "metric_bytes"), 0)
    table("stores", [{**counts, "repo": "orig", "store": "mlruns", "kind": "file", "n_experiments": 1, "n_runs": 2,
                      "bytes": 900, "files": 14, "n_metric_points": 6, "metric_bytes": 240},
                     {**counts, "repo": "auto", "store": "mlflow.db", "kind": "sqlite", "n_experiments": 1, "n_runs": 1,
                      "bytes": 4096, "files": 1}])
    run = {"store_kind": "file", "status": "FINISHED", "git_commit": "", "git_commit_in_history": "unknown",
           "source_in_repo": "", "entry_point": "", "artifact_uri_kind": "relative", "n_datasets": 0,
           "artifacts_found": "false", **dict.fromkeys(("n_params", "n_metrics", "n_metric_points", "n_tags",
                                                         "n_artifacts", "artifact_bytes"), 0)}
    table("stored_runs", [{**run, "repo": "orig", "store": "mlruns", "run_id": "r1", "git_commit": "abc",
                           "git_commit_in_history": "yes", "source_in_repo": "yes", "entry_point": "main"},
                          {**run, "repo": "orig", "store": "mlruns", "run_id": "r2", "status": "FAILED",
                           "artifact_uri_kind": "absolute-local"},
                          {**run, "repo": "auto", "store": "mlflow.db", "store_kind": "sqlite", "run_id": "r3"}])
    table("stored_params", [{"repo": "orig", "store": "mlruns", "run_id": "r1", "key": "lr", "value": "0.1",
                             "declared_in_mlproject": "yes", "value_len": 3},
                            {"repo": "orig", "store": "mlruns", "run_id": "r1", "key": "x", "value": "1",
                             "declared_in_mlproject": "no", "value_len": 1}])
    return to


def test_the_report_process_writes_the_statistics_this_process_writes(out: Path, tmp_path: Path) -> None:
    """``analyze`` leaves the statistics to the report's process when there is one: same tables, same bytes."""
    from analysis.report.process import ReportProcess
    from analysis.statistics.community import STATISTICS_FROM, write_statistics

    manifest = out.parent / "corpus" / "manifest.csv"
    analyzed = ["auto", "copy", "none", "orig"]
    provenance = {"tool": "mlflow-census", "written_at": "2026-01-01T00:00:00+00:00"}
    here, there = _with_stores(out, tmp_path / "here"), _with_stores(out, tmp_path / "there")
    write_statistics(here, manifest, "2.9.0", analyzed, provenance)
    drawer = ReportProcess()
    try:
        drawer.start_statistics(there, manifest, "2.9.0", analyzed, provenance, there / "graphs")
        drawer.wait_statistics()
    finally:
        drawer.close()
    for name in STATISTICS_FROM:
        for path in (name, name + ".provenance.json"):
            assert (there / path).read_bytes() == (here / path).read_bytes(), path
    stats = {r["statistic"]: r for r in _read(here / "store_statistics.csv") if r["population"] == "all"}
    assert (stats["repos committing a store"]["numerator"], stats["repos committing a store"]["denominator"]) == ("2", "4")
    assert stats["runs per store"]["numerator"] == "3" and stats["bytes per run"]["numerator"] == "4996"
    assert stats["bytes per metric point (FileStore)"]["share"] == "40.0"
    assert stats["runs whose params all match the MLproject"]["numerator"] == "0"
    assert (stats["runs left FAILED"]["numerator"], stats["runs left FAILED"]["denominator"]) == ("1", "3")
    agreement = {(r["pair"], r["repo"], r["unit"]): r for r in _read(here / "agreement.csv")}
    # orig: a valid MLproject, and 1 of its 2 runs records a commit; auto: neither
    assert agreement[("code version", "orig", "orig")]["category"] == "both yes"
    assert agreement[("code version", "auto", "auto")]["category"] == "both no"
    assert agreement[("parameters", "orig", "MLproject:main:a")]["category"] == "logged only"  # graphs read


def test_the_statistics_read_no_table_but_those_they_are_computed_from(out: Path, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """``analyze`` starts the statistics once the tables of ``STATISTICS_FROM`` are written, and writes the
    others meanwhile: computed from those tables alone, the statistics are those of the whole set, which
    they read no other table of."""
    import analysis.tables
    from analysis.statistics.community import STATISTICS_FROM, write_statistics

    manifest = out.parent / "corpus" / "manifest.csv"
    analyzed, provenance = ["auto", "copy", "none", "orig"], {"tool": "mlflow-census"}
    whole = tmp_path / "whole"
    shutil.copytree(out, whole, ignore=shutil.ignore_patterns(*STATISTICS_FROM, "report"))
    alone = tmp_path / "alone"
    alone.mkdir()
    inputs = {n for names in STATISTICS_FROM.values() for n in names} - {"manifest.csv", "graphs/"}
    for name in inputs:
        shutil.copy(out / name, alone / name)
    shutil.copytree(out / "graphs", alone / "graphs")
    assert len([p for p in whole.glob("*.csv")]) > len(inputs) + 5
    read: set[str] = set()
    reader, columns = analysis.tables.read_cells, analysis.tables.read_columns  # under read_table, table_frame
    monkeypatch.setattr(analysis.tables, "read_cells", lambda path, row_type: read.add(path.name) or reader(path, row_type))
    monkeypatch.setattr(analysis.tables, "read_columns",
                        lambda path, row_type: read.add(path.name) or columns(path, row_type))
    write_statistics(whole, manifest, "2.9.0", analyzed, provenance)
    assert read == inputs
    write_statistics(alone, manifest, "2.9.0", analyzed, provenance)
    for name in STATISTICS_FROM:
        assert (alone / name).read_bytes() == (whole / name).read_bytes(), name


def test_agreement_reads_the_graphs_analyze_wrote(out: Path) -> None:
    """``analyze`` writes the statistics in a staging folder: the graphs are found where they were written."""
    rows = [r for r in _read(out / "agreement.csv") if r["pair"] == "parameters"]
    assert [(r["repo"], r["unit"], r["category"], r["note"]) for r in rows] == [
        (repo, "MLproject:main:a", "logged only", "logged at train.py:2, not declared") for repo in ("copy", "orig")]


@pytest.mark.parametrize("table", ["api_usage.csv", "agreement.csv"])
def test_a_statistics_table_that_cannot_be_written_is_named(out: Path, tmp_path: Path, table: str) -> None:
    """Here or in the report's process, the same OSError, naming the table (analyze's OutputError
    names the file from it: test_analyze's failed write); the agreement table too, which the report's
    process has a forked child write (the child fails, and the process writes it to raise the error)."""
    from analysis.report.process import ReportProcess
    from analysis.statistics.community import write_statistics

    manifest = out.parent / "corpus" / "manifest.csv"
    raised: dict[str, OSError] = {}
    for where in ("here", "there"):
        tables = _with_stores(out, tmp_path / where / ".staging-1")
        (tables / table).mkdir()  # a folder where the table goes: it cannot be replaced
        with pytest.raises(OSError) as caught:
            if where == "here":
                write_statistics(tables, manifest, "2.9.0", ["orig"], {})
            else:
                drawer = ReportProcess()
                try:
                    drawer.start_statistics(tables, manifest, "2.9.0", ["orig"], {})
                    drawer.wait_statistics()
                finally:
                    drawer.close()
        raised[where] = caught.value
    assert raised["here"].filename == raised["there"].filename == table
    assert raised["here"].strerror and (raised["there"].errno, raised["there"].strerror) == (
        raised["here"].errno, raised["here"].strerror)


def test_statistics_tables_read_back_as_their_row_types(out: Path) -> None:
    """Each statistics table has its row type's columns in order, and reads back typed to the same text."""
    from analysis.rows import PracticeRow
    from analysis.tables import STATISTICS, cells, flat, read_table
    from miner.fileio import csv_text

    for table in STATISTICS.values():
        text = (out / table.file).read_text()
        assert text.splitlines()[0] == ",".join(table.columns), table.file
        rows = read_table(out / table.file, table.row_type)
        assert rows, table.file
        assert csv_text(table.columns, (cells(flat(r)) for r in rows)) == text, table.file
    practice = next(r for r in read_table(out / "practices.csv", PracticeRow) if r.practice == "logs params")
    assert isinstance(practice.n_repos, int) and isinstance(practice.share, float)


def test_practices_and_store_statistics_per_population(tmp_path: Path) -> None:
    """teaching, library and application: a partition of one repository per family, each with its practices,
    after the rows of one-per-family and all (which stay first, as they were)."""
    plugin = ("from setuptools import setup\nsetup(name='mlflow-acme', packages=['acme'],\n"
              "      entry_points={'mlflow.tracking_store': 'acme=acme:Store'})\n")
    app = "import mlflow\nmlflow.log_metric('m', 1)\n"
    repos = {
        "acme/mlops-course": {"train.py": "import mlflow\nmlflow.log_param('a', 1)\n", "setup.py": plugin},
        "acme/store": {"setup.py": plugin, "acme/__init__.py": "import mlflow\nmlflow.log_param('b', 2)\n"
                                                              "mlflow.log_metric('n', 2)\n"},
        "bob/app": {"app.py": app},
        "bob/app-copy": {"app.py": app},  # a copy: counted in all only
        "carol/scripts": {"run.py": "print(1)\n"},
    }
    for name, files in repos.items():
        make_repo(tmp_path / "src" / name, files)
    spec = CorpusSpec(name="t", path=tmp_path / "t.toml", mlflow=MlflowSelection(source="none"))
    mine(MineSettings(spec=spec, corpus_dir=tmp_path / "corpus", from_local=tmp_path / "src", skip_mlflow=True))
    analyze(AnalyzeSettings(corpus_dir=tmp_path / "corpus", out_dir=tmp_path / "out", draw_report=False))
    out = tmp_path / "out"
    kinds = {r["repo"]: (r["population"], r["rule"]) for r in _read(out / "populations.csv")}
    assert kinds == {"acme/mlops-course": ("teaching", "course-word"), "acme/store": ("library", "mlflow-plugin"),
                     "bob/app": ("application", "otherwise"), "bob/app-copy": ("application", "otherwise"),
                     "carol/scripts": ("application", "otherwise")}
    rows = _read(out / "practices.csv")
    leaders = [r["practice"] for r in rows if r["population"] == "one-per-family"]
    n = len(leaders)  # each population's rows together, the same practices in each
    assert [r["population"] for r in rows] == ["one-per-family"] * n + ["all"] * n + ["teaching"] * n \
        + ["library"] * n + ["application"] * n + ["without-teaching"] * n
    for kind in ("all", "teaching", "library", "application", "without-teaching"):
        assert [r["practice"] for r in rows if r["population"] == kind] == leaders
    got = {(population, practice): (_practice(out, population, practice)["n_repos"],
                                    _practice(out, population, practice)["n_eligible"])
           for population in ("teaching", "library", "application") for practice in ("logs params", "logs metrics")}
    assert got == {("teaching", "logs params"): ("1", "1"), ("teaching", "logs metrics"): ("0", "1"),
                   ("library", "logs params"): ("1", "1"), ("library", "logs metrics"): ("1", "1"),
                   ("application", "logs params"): ("0", "2"), ("application", "logs metrics"): ("1", "2")}
    assert _practice(out, "one-per-family", "logs metrics")["n_eligible"] == "4"
    # the shares without course work: library and application together
    without = _practice(out, "without-teaching", "logs metrics")
    assert (without["n_repos"], without["n_eligible"]) == ("2", "3")
    stores = [r for r in _read(out / "store_statistics.csv") if r["statistic"] == "repos committing a store"]
    assert [(r["population"], r["denominator"]) for r in stores] == [
        ("one-per-family", "4"), ("all", "5"), ("teaching", "1"), ("library", "1"), ("application", "2"),
        ("without-teaching", "3")]


def test_every_population_has_the_same_practices_in_the_same_order(out: Path, tmp_path: Path) -> None:
    """An environment spec kind only a duplicate has is a row of one per family too (0 of its repositories),
    and the use of a deprecated API a row of every population, ``all`` included; each population's rows
    are together, in the same order."""
    from analysis.statistics.community import write_statistics

    here = _with_stores(out, tmp_path / "here")
    repro = _read(here / "reproducibility.csv")
    assert {r["repo"] for r in repro} == {"auto", "copy", "none", "orig"}
    duplicate = next(r["repo"] for r in _read(out.parent / "corpus" / "manifest.csv") if r["duplicate_of"])
    for row in repro:
        row["env_spec"] = "setup.py" if row["repo"] == duplicate else row["env_spec"]
    with (here / "reproducibility.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, list(repro[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(repro)
    write_statistics(here, out.parent / "corpus" / "manifest.csv", "2.9.0", ["auto", "copy", "none", "orig"], {})
    rows = _read(here / "practices.csv")
    order = [r["population"] for r in rows]
    populations = list(dict.fromkeys(order))
    assert populations[:2] == ["one-per-family", "all"]
    assert order == [p for p in populations for _ in range(order.count(p))]  # each population's rows together
    listed = {p: [r["practice"] for r in rows if r["population"] == p] for p in populations}
    assert all(names == listed["all"] for names in listed.values())
    assert "uses an API deprecated or removed by the latest release" in listed["all"]
    spec = {r["population"]: (r["n_repos"], r["n_eligible"]) for r in rows if r["practice"] == "env spec: setup.py"}
    assert spec["one-per-family"] == ("0", "3") and spec["all"] == ("1", "4")


def test_without_teaching_is_the_library_and_application_leaders_only() -> None:
    """A leader populations.csv gives no kind for (an older table) is in no kind's population, and not
    counted as course-free either; a duplicate and a repository no pass analyzed are in none."""
    import pandas as pd

    from analysis.statistics.community import populations

    manifest = pd.DataFrame({"repo": ["a/course", "b/lib", "c/app", "d/unknown", "e/copy", "f/failed"],
                             "status": ["ok"] * 6, "duplicate_of": ["", "", "", "", "c/app", ""]})
    kinds = pd.DataFrame({"repo": ["a/course", "b/lib", "c/app", "e/copy", "f/failed"],
                          "population": ["teaching", "library", "application", "application", "library"]})
    groups = populations(manifest, ["a/course", "b/lib", "c/app", "d/unknown", "e/copy"], kinds)
    assert groups["one-per-family"] == ["a/course", "b/lib", "c/app", "d/unknown"]
    assert groups["all"] == ["a/course", "b/lib", "c/app", "d/unknown", "e/copy"]
    assert (groups["teaching"], groups["library"], groups["application"]) == (["a/course"], ["b/lib"], ["c/app"])
    assert groups["without-teaching"] == ["b/lib", "c/app"]
