"""rerun.statistics: rates with Wilson intervals, failures, times and readiness of rerun.csv's rows."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pandas as pd

from analysis.rerun.ftypes import RERUN_COLUMNS, RerunRow
from analysis.rerun.job import statistics_of
from analysis.rerun.statistics import auc, rerun_statistics, summary_frame
from analysis.statistics.shares import wilson
from analysis.tables import cells
from miner.fileio import write_csv

def test_statistics_rates_failures_and_readiness() -> None:
    rows = [RerunRow("a", "MLproject", "main", env_kind="python_env", env_build="ok", status="succeeded",
                     build_seconds=2.0, run_seconds=1.0, metrics_equal=True, metrics_close=True),
            RerunRow("b", "MLproject", "main", env_kind="conda_env", env_build="ok", status="failed",
                     failure_class="ModuleNotFoundError"),
            RerunRow("c", "MLproject", "main", env_kind="python_env", env_build="failed: package not found",
                     status="not-attempted", failure_class="env build"),
            RerunRow("d", "MLproject", "main", env_kind="none", env_build="ok", status="failed", failure_class="x"),
            RerunRow("e", "MLproject", "main", env_kind="docker_env", status="not-attempted", failure_class="docker")]
    frame = pd.DataFrame([{k: ("true" if v is True else v) for k, v in vars(r).items()} for r in rows])
    repro = pd.DataFrame({"repo": ["a", "b", "c", "d", "e"], "readiness": ["0.9", "0.6", "0.1", "0.2", "0.3"]})
    stats = rerun_statistics(frame, repro)
    rates = stats.rates.set_index("rate")
    # built: over the environments there were to build (not d's bare environment, not e's docker image, never tried)
    assert (rates.loc["built", "n"], rates.loc["built", "n_eligible"]) == (2, 3)
    assert (rates.loc["ran", "n"], rates.loc["ran", "n_eligible"]) == (1, 5)
    assert (rates.loc["same given compared", "n"], rates.loc["same given compared", "n_eligible"]) == (1, 1)
    assert "same results" not in rates.index  # over every target it would count those never compared
    assert rates.loc["ran given built", "n_eligible"] == 3
    # five repositories of one target each: a bootstrap over repositories
    assert rates.loc["ran", "ci_method"] == "cluster bootstrap" and rates.loc["ran", "n_clusters"] == 5
    assert 0 <= rates.loc["ran", "ci_low"] < 1 / 5 < rates.loc["ran", "ci_high"] <= 1
    assert set(zip(stats.failures["status"], stats.failures["failure_class"])) == {
        ("failed", "ModuleNotFoundError"), ("not-attempted", "env build"), ("failed", "x"), ("not-attempted", "docker")}
    assert stats.auc == 1.0
    # one success: its own seconds, not quantiles of one value
    assert stats.times.to_dict("records") == [{"quantile": "a main", "build_seconds": 2.0, "run_seconds": 1.0,
                                               "total_seconds": 3.0}]
    summary = summary_frame(stats)
    assert {"network", "driver", "env_manager", "rate", "failure", "time", "readiness"} == set(summary["section"])
    # rows without a policy (written before --network) were measured without network
    assert stats.network == {"none": 5} and stats.network_words() == "no network"
    assert summary[summary["section"] == "network"][["name", "n", "n_eligible"]].values.tolist() == [["none", 5, 5]]
    assert auc([0.1, 0.2], [True, False]) == 0.0 and auc([0.5], [True]) is None



def test_a_target_that_met_a_full_disk_is_in_no_rate_but_in_the_failures() -> None:
    rows = [RerunRow("a", "MLproject", "main", env_kind="python_env", env_build="ok", status="succeeded"),
            RerunRow("b", "MLproject", "main", env_kind="python_env", env_build="failed: no space",
                     status="not-attempted", failure_class="no space"),
            RerunRow("c", "MLproject", "main", env_kind="python_env", env_build="ok", status="failed",
                     failure_class="no space")]
    stats = rerun_statistics(pd.DataFrame([asdict(r) for r in rows], columns=list(RERUN_COLUMNS)))
    rates = stats.rates.set_index("rate")
    assert [(rates.loc[r, "n"], rates.loc[r, "n_eligible"]) for r in ("built", "ran", "ran given built")] == \
        [(1, 1), (1, 1), (1, 1)]
    assert sorted(zip(stats.failures["status"], stats.failures["failure_class"], stats.failures["n"])) == \
        [("failed", "no space", 1), ("not-attempted", "no space", 1)]


def test_unreachable_channels_and_a_manager_mlflow_refuses_are_in_no_rate_but_in_the_failures() -> None:
    rows = [RerunRow("a", "MLproject", "main", env_kind="conda_env", env_build="ok", status="succeeded",
                     env_manager="conda"),
            RerunRow("b", "MLproject", "main", env_kind="conda_env", env_build="failed: channel unreachable",
                     status="not-attempted", failure_class="channel unreachable", env_manager="conda"),
            RerunRow("c", "MLproject", "main", env_kind="python_env", status="not-attempted",
                     failure_class="env manager", env_manager="conda"),
            RerunRow("d", "MLproject", "main", env_kind="conda_env", env_build="ok", status="failed",
                     failure_class="ModuleNotFoundError", env_manager="virtualenv")]
    stats = rerun_statistics(pd.DataFrame([asdict(r) for r in rows], columns=list(RERUN_COLUMNS)))
    rates = stats.rates.set_index("rate")
    assert [(rates.loc[r, "n"], rates.loc[r, "n_eligible"]) for r in ("built", "ran", "ran given built")] == \
        [(2, 2), (1, 2), (1, 2)]
    assert sorted(zip(stats.failures["failure_class"], stats.failures["n"])) == \
        [("ModuleNotFoundError", 1), ("channel unreachable", 1), ("env manager", 1)]
    assert stats.env_manager == {"conda": 3, "virtualenv": 1}
    summary = summary_frame(stats)
    assert summary[summary["section"] == "env_manager"][["name", "n", "n_eligible"]].values.tolist() == \
        [["conda", 3, 4], ["virtualenv", 1, 4]]


def test_the_network_policy_of_the_rows_is_told_and_a_mix_is_counted() -> None:
    def frame(*policies: str) -> pd.DataFrame:
        return pd.DataFrame([asdict(RerunRow(f"r{i}", "MLproject", "main", network=p, status="succeeded"))
                             for i, p in enumerate(policies)], columns=list(RERUN_COLUMNS))

    assert rerun_statistics(frame("all", "all")).network_words() == "the host's network"
    mixed = rerun_statistics(frame("all", "none", "none"))
    assert mixed.network == {"all": 1, "none": 2}
    assert mixed.network_words() == "the host's network for 1 target and no network for 2 targets"
    assert rerun_statistics(frame("none").drop(columns=["network"])).network == {"none": 1}


def test_rerun_csv_read_typed_gives_the_statistics_of_its_rows(tmp_path: Path) -> None:
    """job.statistics_of reads rerun.csv through its row type (booleans, seconds); the report's text frame agrees."""
    rows = [RerunRow("a", "MLproject", "main", env_build="ok", status="succeeded", build_seconds=2.5, run_seconds=1.0,
                     metrics_equal=False, metrics_close=True),
            RerunRow("a", "MLproject", "other", env_build="ok", status="succeeded", run_seconds=4.0),
            RerunRow("b", "MLproject", "main", env_build="ok", status="succeeded", build_seconds=1.0, run_seconds=1.0,
                     metrics_equal=True, metrics_close=True)]
    write_csv(tmp_path / "rerun.csv", RERUN_COLUMNS, (cells(asdict(r)) for r in rows))
    typed = statistics_of(tmp_path)
    pd.testing.assert_frame_equal(typed.rates, statistics_of(tmp_path, rows).rates)
    rates = typed.rates.set_index("rate")
    # compared: the two runs with a committed run's metrics; "other" (metrics_equal empty) is not compared
    assert (rates.loc["same given compared", "n"], rates.loc["same given compared", "n_eligible"]) == (1, 2)
    assert rates.loc["close given compared", "n"] == 2
    # seconds, each of the three (fewer than five: listed): an empty build_seconds counts as no build time
    times = typed.times.set_index("quantile")
    assert (times.loc["a other", "total_seconds"], times.loc["a other", "build_seconds"]) == (4.0, 0.0)
    text = pd.read_csv(tmp_path / "rerun.csv", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(rerun_statistics(text).rates, typed.rates)
    pd.testing.assert_frame_equal(rerun_statistics(text).times, typed.times)


def test_a_repository_holding_most_targets_is_told_with_the_rate_without_it() -> None:
    """maelstrom-like: one repository with 20 entry points that all fail, five with one that runs."""
    rows = [RerunRow("big/one", "MLproject", f"ep{i}", env_kind="python_env", env_build="ok", status="failed",
                     failure_class="x") for i in range(20)]
    rows += [RerunRow(f"small/{i}", "MLproject", "main", env_kind="python_env", env_build="ok", status="succeeded",
                      build_seconds=1.0, run_seconds=1.0) for i in range(5)]
    ran = rerun_statistics(pd.DataFrame([vars(r) for r in rows])).rates.set_index("rate").loc["ran"]
    assert (ran["n"], ran["n_eligible"], ran["largest_cluster"], ran["largest_cluster_units"]) == (5, 25, "big/one", 20)
    assert (ran["numerator_without_largest"], ran["denominator_without_largest"], ran["share_without_largest"]) == (5, 5, 1.0)
    assert ran["ci_high"] - ran["ci_low"] > 0.5  # six repositories, not 25 independent targets


def test_a_target_run_under_both_drivers_counts_once_and_each_choice_has_its_rates() -> None:
    def row(repo: str, driver: str, status: str, failure: str = "") -> RerunRow:
        return RerunRow(repo, "MLproject", "main", env_kind="python_env", env_build="ok", status=status,
                        failure_class=failure, driver_mlflow=driver)

    rows = [row("a", "current 3.17.2", "failed", "TypeError"), row("a", "declared 1.30.1", "succeeded"),
            row("b", "current 3.17.2", "failed", "TypeError"), row("b", "declared 2.9.2", "failed", "ValueError"),
            row("c", "current 3.17.2", "succeeded")]  # pins nothing: declared chose the tool's MLflow too
    stats = rerun_statistics(pd.DataFrame([asdict(r) for r in rows], columns=list(RERUN_COLUMNS)))
    rates = stats.rates.set_index("rate")
    # one row per target, the declared one where there is one: a and c ran, b did not
    assert (rates.loc["ran", "n"], rates.loc["ran", "n_eligible"]) == (2, 3)
    assert set(zip(stats.failures["status"], stats.failures["failure_class"])) == {("failed", "ValueError")}
    assert stats.drivers == {"current 3.17.2": 1, "declared 1.30.1": 1, "declared 2.9.2": 1}
    # each choice over the targets run under both (a and b)
    by = stats.by_driver.set_index(["driver", "rate"])
    assert (by.loc[("current", "ran"), "n"], by.loc[("current", "ran"), "n_eligible"]) == (0, 2)
    assert (by.loc[("declared", "ran"), "n"], by.loc[("declared", "ran"), "n_eligible"]) == (1, 2)
    summary = summary_frame(stats)
    paired = summary[summary["section"] == "driver rate"].set_index("name")
    assert (paired.loc["ran: declared", "n"], paired.loc["ran: current", "n"]) == (1, 0)
    assert summary[summary["section"] == "driver"][["name", "n"]].values.tolist() == [
        ["current 3.17.2", 1], ["declared 1.30.1", 1], ["declared 2.9.2", 1]]


def test_rows_of_one_choice_have_no_rates_by_driver() -> None:
    rows = [RerunRow("a", "MLproject", "main", env_kind="none", env_build="ok", status="succeeded",
                     driver_mlflow="current 3.17.2")]
    stats = rerun_statistics(pd.DataFrame([asdict(r) for r in rows], columns=list(RERUN_COLUMNS)))
    assert stats.by_driver.empty and "driver rate" not in set(summary_frame(stats)["section"])


def test_a_rate_none_reached_has_bounds_from_its_repositories_and_one_over_no_target_has_no_share() -> None:
    """The re-run of the dev corpus: 0 of 88 targets ran, in 30-odd repositories. The bootstrap would give
    0% to 0%; the interval is Wilson's over the repositories. No target was compared: no share, not 0%."""
    rows = [RerunRow(f"o/r{i // 3}", "MLproject", f"ep{i}", env_kind="python_env", env_build="ok", status="failed",
                     failure_class="x") for i in range(30)]
    rates = rerun_statistics(pd.DataFrame([vars(r) for r in rows])).rates.set_index("rate")
    ran = rates.loc["ran"]
    assert (ran["n"], ran["n_eligible"], ran["ci_method"], ran["ci_low"]) == (0, 30, "wilson over repositories", 0.0)
    assert ran["ci_high"] == wilson(0, 10)[1] > 0.2  # ten repositories, each once
    same = rates.loc["same given compared"]
    assert same["n_eligible"] == 0 and pd.isna(same["share"]) and pd.isna(same["ci_low"])
    written = summary_frame(rerun_statistics(pd.DataFrame([vars(r) for r in rows])))
    assert written.set_index("name").loc["same given compared", "share"] is None or \
        pd.isna(written.set_index("name").loc["same given compared", "share"])
