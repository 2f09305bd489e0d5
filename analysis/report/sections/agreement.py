"""Where two measures of one thing meet (after section 4): the code-version link from the code against the
committed runs, declared against logged parameters, the readiness score against the re-runs; for each,
its 2x2 table and the units where the two disagree, with what each measure says."""

from __future__ import annotations

import pandas as pd

from analysis.report import facts as F
from analysis.report.sections.drawing import Drawing
from analysis.statistics.agreement import (
    CODE_VERSION,
    NOT_COMPARABLE,
    PAIRS,
    PARAMETERS,
    READINESS,
    agreement_counts,
    disagreements,
    readiness_agreement,
)

# the anchors of each pair's tables (counts, disagreements)
ANCHORS = {pair: (f"t-agreement-{pair.replace(' ', '-')}", f"t-disagreement-{pair.replace(' ', '-')}")
           for pair in PAIRS}
TITLES = {CODE_VERSION: "Runs tied to a code version: the code against the committed runs",
          PARAMETERS: "Parameters: declared by the MLproject against logged by the code",
          READINESS: "Readiness score against the re-runs"}
DEFINITIONS = {
    CODE_VERSION: "Over the repositories that commit runs. From the code: `code_version_linked` of traceability.csv "
                  "(a valid MLproject, whose runs `mlflow run` tags with the commit, or a tag whose key names git, "
                  "commit, version or sha). From the committed runs: at least half of the repository's runs in "
                  "stored_runs.csv record a git commit (`mlflow.source.git.commit`; the note gives the count).",
    PARAMETERS: "One unit per parameter key of an MLproject entry point: declared by it (parameters.csv) against "
                "logged by the code it runs (a param call with that literal key in a module or function the entry "
                "point reaches in the repository's traceability graph). `mlflow run` logs every declared parameter "
                "itself: this is the code logging it. A declared key the code does not log literally is not "
                "comparable when that code also logs params under keys not written as literals, or when the entry "
                "point reaches no Python file of the repository.",
    READINESS: "Over the repositories with a re-run target. Ready: a readiness score (reproducibility.csv) of at "
               "least 0.5. Re-ran: one of its entry points succeeded (rerun.csv status `succeeded`).",
}


def agreement(report: Drawing) -> None:
    doc, inputs = report.doc, report.inputs
    doc.heading("Agreement: where two measures meet", anchor="sec-agreement")
    doc.para("The same thing measured twice, unit by unit: the link of runs to a code version as the code makes it "
             "and as the committed runs record it, the parameters an MLproject declares and those its code logs, "
             "the readiness score and the re-runs. Each unit is a row of agreement.csv (the re-runs' are computed "
             "here from rerun.csv and reproducibility.csv), over the report's repositories; the units where the two "
             "measures disagree are listed with what each says.")
    rows = inputs.in_population(inputs.table("agreement.csv"))
    for pair in (CODE_VERSION, PARAMETERS):
        pair_tables(report, rows, pair, "agreement.csv")
    rerun = inputs.rerun_table()
    if rerun.empty:
        doc.heading(TITLES[READINESS], 3, anchor="sec-agreement-readiness")
        doc.para(f"Readiness against the re-runs: not measured: run `{F.RERUN_COMMAND}`.", css="not-measured")
        return
    from analysis.rerun.statistics import one_per_target

    # a target run under both --driver-mlflow choices counts once, as in the re-run section's rates
    ready = readiness_agreement(one_per_target(rerun), inputs.table("reproducibility.csv"))
    pair_tables(report, inputs.in_population(ready), READINESS, "rerun.csv")


def counts_table(rows: pd.DataFrame, pair: str) -> pd.DataFrame:
    """A pair's 2x2 table as one line per cell (and one for the units not comparable, if any): what each
    measure says, the units and the repositories."""
    p, counts = PAIRS[pair], agreement_counts(rows, pair)
    mine = rows[rows["pair"] == pair] if "pair" in rows else rows
    cells = [(p.both_yes, "yes", "yes", counts.both_yes), (p.both_no, "no", "no", counts.both_no),
             (p.a_only, "yes", "no", counts.a_only), (p.b_only, "no", "yes", counts.b_only)]
    if not p.both_no_possible:
        del cells[1]
    if counts.not_comparable:
        said = sorted(set(mine.loc[mine["category"] == NOT_COMPARABLE, "measure_a"]))  # pair parameters: declared
        cells.append((NOT_COMPARABLE, ", ".join(said), "unknown", counts.not_comparable))
    return pd.DataFrame([{"category": category, p.a: a, p.b: b, "units": n,
                          "repositories": int(mine.loc[mine["category"] == category, "repo"].nunique()) if n else 0}
                         for category, a, b, n in cells], columns=["category", p.a, p.b, "units", "repositories"])


def pair_tables(report: Drawing, rows: pd.DataFrame, pair: str, source: str) -> None:
    """A pair's subsection: its definition, its 2x2 table, how often the two agree, its disagreements."""
    doc, p, counts = report.doc, PAIRS[pair], agreement_counts(rows, pair)
    counts_anchor, list_anchor = ANCHORS[pair]
    doc.heading(TITLES[pair], 3, anchor=f"sec-agreement-{pair.replace(' ', '-')}")
    doc.para(DEFINITIONS[pair])
    if not counts.n + counts.not_comparable:
        doc.para(f"No {p.units} to compare.", css="not-measured")
        return
    doc.table(counts_table(rows, pair), source, f"{TITLES[pair]}: {p.units} by what each measure says",
              anchor=counts_anchor, collapse=False)
    kappa = counts.kappa
    doc.para(f"The two agree on {counts.agreeing} of the {counts.n} {p.units} compared"
             + ("" if not p.both_no_possible else f" (Cohen's kappa {kappa:.2f})" if kappa is not None
                else " (Cohen's kappa undefined: both measures give one answer only)")
             + (f"; {counts.not_comparable} not comparable." if counts.not_comparable else "."))
    wrong = disagreements(rows, pair)
    if wrong.empty:
        return
    shown = wrong.rename(columns={"measure_a": p.a, "measure_b": p.b})
    columns = ["repo", *([] if p.units == "repositories" else ["unit"]), p.a, p.b, "category", "note"]
    doc.table(shown[columns].reset_index(drop=True), source,
              f"{TITLES[pair]}: the {len(wrong)} {p.units} where the two disagree", anchor=list_anchor)
