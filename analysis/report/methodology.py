"""How the numbers were obtained and how far to trust them: the selection funnel, what was read, threats to validity.

The funnel and the corpus's identity come from the corpus (``selection.csv``, ``manifest.csv`` and their
provenance, ``search.csv``, ``lock.csv``, ``mlflow/releases.csv``); the threats are facts (``analysis.report.findings``)
computed where they can be measured: teaching material by a stated rule (``miner.tutorials``), duplicate families, files
that could not be parsed and whether they mention MLflow, the static call graph's approximations,
and the conditions of the re-runs.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pandas as pd

from analysis.report.facts import RERUN_COMMAND, T_FUNNEL, Facts, Label, Number, Sentence, Share, not_measured
from analysis.report.funnel import selection_steps
from analysis.report.inputs import ReportInputs, read_json
from analysis.statistics.clusters import by_cluster, clustered
from analysis.tables import TRUE
from analysis.versions import version_key
from miner import __version__
from miner.fileio import sha256_file
from miner.tutorials import Candidate, Find, tutorials

T_THREATS = "t-teaching"
T_FILES = "t-files"
T_GRAPH = "t-call-graph"
T_PROBLEMS = "t-problems"
# Teaching material: course work and tutorials, by the rule the miner and populations.csv use
# (``miner.tutorials``: GitHub Classroom's description, course words, farms).


def teaching_finds(manifest: pd.DataFrame) -> dict[str, Find]:
    """The repositories of a corpus's ``manifest.csv`` (every row: each is a candidate for farms) that the
    course-work rule finds, with why."""
    columns = [c for c in ("repo", "description", "topics") if c in manifest]
    rows = manifest[columns].fillna("").astype(str).to_dict("records") if "repo" in manifest else []
    return tutorials(Candidate(r["repo"], r.get("description", ""), r.get("topics", "")) for r in rows)


def tool_commit(root: Path | None = None) -> str:
    """The commit of this tool's checkout, read from its git metadata ('' when installed without one)."""
    root = root or Path(__file__).resolve().parents[2]
    dotgit = root / ".git"
    try:
        if dotgit.is_file():  # a worktree: "gitdir: <path>"
            gitdir = (root / dotgit.read_text().strip().removeprefix("gitdir:").strip()).resolve()
        elif dotgit.is_dir():
            gitdir = dotgit
        else:
            return ""
        head = (gitdir / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head
        ref = head.removeprefix("ref:").strip()
        common = gitdir / "commondir"
        common_dir = (gitdir / common.read_text().strip()).resolve() if common.is_file() else gitdir
        for base in (gitdir, common_dir):
            if (base / ref).is_file():
                return (base / ref).read_text().strip()
        packed = common_dir / "packed-refs"
        for line in packed.read_text().splitlines() if packed.is_file() else []:
            sha, _, name = line.partition(" ")
            if name == ref:
                return sha
    except OSError:
        return ""
    return ""


def _reason_group(reason: str) -> str:
    """A skip reason without its numbers: ``stars 3 < 5`` -> ``stars``."""
    return reason.split(" ", 1)[0] if reason.split(" ", 1)[0] in ("stars", "pushed", "size") else reason


def selection_funnel(inputs: ReportInputs) -> pd.DataFrame:
    """The repositories at each step from the sources to the analysis, with how many each step removed and why:
    the sources, the rules and the sample from ``selection.csv`` (``analysis.report.funnel``), or for a corpus
    mined before it, GitHub's search and the filters from ``manifest.csv``; then the mining, the duplicate
    families and the analysis."""
    manifest = inputs.corpus_table("manifest.csv")
    columns = ["step", "repositories", "removed", "reason"]
    if manifest.empty:
        analyzed = len(inputs.analyzed)
        return pd.DataFrame([{"step": "analyzed", "repositories": analyzed, "removed": "",
                              "reason": "no corpus manifest found (report --corpus DIR): earlier steps unknown"}],
                            columns=columns)
    if "status" in inputs.corpus_table("selection.csv"):
        rows, kept = selection_steps(inputs)
        fetched = manifest[manifest["repo"].isin(kept)]
    else:
        rows = _manifest_steps(inputs, manifest)
        fetched = manifest[manifest["status"] != "skipped"]
    not_ok = fetched[fetched["status"] != "ok"]
    ok = fetched[fetched["status"] == "ok"]
    failed = not_ok[not_ok["status"] != "planned"]
    planned = len(not_ok) - len(failed)
    rows.append({"step": "mined", "repositories": len(ok), "removed": len(not_ok),
                 "reason": "; ".join([f"{s}: {r}" for s, r in failed[["status", "reason"]].itertuples(index=False)]
                                     + ([f"planned, not fetched (a dry run): {planned}"] if planned else []))
                           or "none failed"})
    copies = ok[ok["duplicate_of"] != ""]
    families = ok.loc[ok["duplicate_of"] != "", "duplicate_of"].nunique()
    if inputs.all_repos:
        rows.append({"step": "duplicates kept (--all-repos)", "repositories": len(ok), "removed": 0,
                     "reason": f"{len(copies)} copies in {families} duplicate families"})
        kept = set(ok["repo"])
    else:
        kept = set(ok["repo"]) - set(copies["repo"])
        rows.append({"step": "one per duplicate family", "repositories": len(kept), "removed": len(copies),
                     "reason": f"copies in {families} families (same root commit or same code files)"})
    reached = kept & set(inputs.population)  # the step's repositories are those of the step above it
    rows.append({"step": "analyzed", "repositories": len(reached), "removed": len(kept) - len(reached),
                 "reason": "a pass failed on the repository (problems.csv stage analyze): no reproducibility.csv row"})
    return pd.DataFrame(rows, columns=columns)


def _manifest_steps(inputs: ReportInputs, manifest: pd.DataFrame) -> list[dict[str, object]]:
    """The funnel's first steps for a corpus without ``selection.csv``: GitHub's search, forks, the filters."""
    prov = inputs.corpus_provenance("manifest.csv")
    rows: list[dict[str, object]] = []
    total = prov.get("github_total_count")
    collected = len(manifest)
    search = inputs.corpus_table("search.csv")
    if isinstance(total, int):
        windows = int((search.get("split", pd.Series(dtype=str)).str.lower() != TRUE).sum()) if len(search) else 0
        rows.append({"step": "GitHub search (total_count)", "repositories": total, "removed": "",
                     "reason": f"topic query, forks included; {windows} created: windows in search.csv; search "
                               + ("complete" if prov.get("search_complete") else "INCOMPLETE")})
        rows.append({"step": "collected", "repositories": collected, "removed": total - collected,
                     "reason": "rows of manifest.csv; not collected: GitHub's answers fell short of total_count"})
    else:
        rows.append({"step": "collected", "repositories": collected, "removed": "",
                     "reason": f"rows of manifest.csv (source {prov.get('source', 'unknown')}"
                               + (f": git repositories under {prov['from_local']}" if prov.get("from_local") else "")
                               + (f": {prov['lock']}" if prov.get("lock") else "") + ")"})
    skipped = manifest[manifest["status"] == "skipped"]
    forks = skipped[skipped["reason"] == "fork"]
    left = collected - len(forks)
    rows.append({"step": "not forks", "repositories": left, "removed": len(forks),
                 "reason": "forks (searched with fork:true, listed as skipped)"})
    filtered = skipped[skipped["reason"] != "fork"]
    left -= len(filtered)
    groups = Counter(_reason_group(r) for r in filtered["reason"])
    rows.append({"step": "selected by the spec's filters", "repositories": left, "removed": len(filtered),
                 "reason": "; ".join(f"{g}: {n}" for g, n in groups.most_common()) or "none removed"})
    return rows


def corpus_identity(inputs: ReportInputs) -> pd.DataFrame:
    """What exactly was read and by what: corpus, spec and its hash, lock hash, MLflow releases, tool and commit."""
    prov = inputs.provenance("practices.csv")
    mprov = inputs.corpus_provenance("manifest.csv")
    rows = [("results", str(inputs.results)), ("corpus", str(inputs.corpus or prov.get("corpus", "not found")))]
    if mprov:
        rows.append(("corpus spec", f"{mprov.get('spec', '')} (sha256 {mprov.get('spec_sha256', '')})"))
        rows.append(("corpus source", str(mprov.get("source", ""))))
    if inputs.corpus is not None and (inputs.corpus / "lock.csv").is_file():
        lock = inputs.corpus_table("lock.csv")
        rows.append(("lock.csv", f"{len(lock)} (repo, commit) pairs, sha256 {sha256_file(inputs.corpus / 'lock.csv')}"))
    if prov.get("manifest_sha256"):
        current = sha256_file(inputs.corpus / "manifest.csv") if inputs.corpus is not None else ""
        note = "" if not current or current == prov["manifest_sha256"] else " (the corpus's manifest changed since)"
        rows.append(("manifest.csv analyzed", f"sha256 {prov['manifest_sha256']}{note}"))
    releases = inputs.corpus_table("mlflow/releases.csv")
    if len(releases):
        ok = releases[releases["status"] == "ok"]
        versions = sorted(ok["version"], key=version_key)
        origins = ", ".join(f"{k}: {v}" for k, v in Counter(ok["source"]).most_common())
        rows.append(("MLflow releases read", f"{len(ok)} of {len(releases)} ({versions[0]} to {versions[-1]}; "
                                             f"{origins})" if versions else f"0 of {len(releases)}"))
    if prov.get("catalog_origin"):
        rows.append(("API catalog", f"from the {prov['catalog_origin']} ({len(prov.get('catalog_releases') or [])} "
                                    "releases)"))
    rows.append(("analyzed by", f"mlflow-census {prov.get('tool_version', '?')}"))
    commit = tool_commit()
    rows.append(("report by", f"mlflow-census {__version__}" + (f", commit {commit}" if commit else
                                                               " (no git checkout: commit unknown)")))
    return pd.DataFrame(rows, columns=["item", "value"])


# ---- threats to validity --------------------------------------------------------------------------

def teaching_repositories(inputs: ReportInputs) -> pd.DataFrame:
    """The population's repositories that the course-work rule finds, with the rule and its evidence."""
    columns = ["repo", "rule", "evidence"]
    manifest = inputs.corpus_table("manifest.csv")
    if manifest.empty:
        return pd.DataFrame(columns=columns)
    found = teaching_finds(manifest)
    return pd.DataFrame([(r, found[r].rule, found[r].evidence) for r in inputs.population if r in found],
                        columns=columns)


def unparsed_files(inputs: ReportInputs) -> pd.DataFrame:
    """Python files and notebooks that were not (wholly) parsed: ``files.csv`` problem or skipped rows and
    files read in part (lines or cells skipped), and notebooks with a cell that did not parse
    (``problems.csv`` stage parse, as outputs before reading in part record it); with whether their
    text mentions 'mlflow' (read from the corpus checkout: '' when it is not here)."""
    # the report's population's (problems.csv's corpus rows have no file)
    files = inputs.in_population(inputs.table("files.csv"))
    problems = inputs.in_population(inputs.table("problems.csv"))
    keys: dict[tuple[str, str], str] = {}
    if "status" in files:
        code = files["kind"].isin(["python", "notebook"])
        bad = files[code & (files["status"].isin(["problem", "skipped"]) | files["reason"].str.startswith("read in part"))]
        keys.update({(r, p): reason for r, p, reason in bad[["repo", "path", "reason"]].itertuples(index=False)})
    if "stage" in problems:
        cells = problems[(problems["stage"] == "parse") & problems["reason"].str.startswith("cell ")]
        for r, p, reason in cells[["repo", "path", "reason"]].itertuples(index=False):
            keys.setdefault((r, p), "a cell: " + reason)
    manifest = inputs.corpus_table("manifest.csv")
    clone = dict(zip(manifest["repo"], manifest["clone_path"])) if "clone_path" in manifest else {}
    rows = []
    for (repo, path), reason in sorted(keys.items()):
        mentions = ""
        if inputs.corpus is not None and repo in clone:
            target = inputs.corpus / clone[repo] / path
            if target.is_file():
                mentions = "yes" if b"mlflow" in target.read_bytes().lower() else "no"
        rows.append({"repo": repo, "path": path, "mentions_mlflow": mentions, "reason": reason[:120]})
    return pd.DataFrame(rows, columns=["repo", "path", "mentions_mlflow", "reason"])


def graph_edge_counts(path: Path) -> dict[str, Counter[str]]:
    """Per repository, the edges of its traceability graph by what they say of the call graph, as
    ``traceability.csv`` at ``path`` carries them: ``calls``, ``by-name`` (a method reached by its name
    only: over-approximation), ``unresolved`` (a call through a variable, a dynamic import:
    under-approximation), ``inferred`` (a function passed as an argument)."""
    from analysis.rows import TraceabilityRow
    from analysis.tables import read_table

    return {row.repo: Counter({"calls": row.n_call_edges, "by-name": row.n_by_name_edges,
                               "inferred": row.n_inferred_edges, "unresolved": row.n_unresolved_edges})
            for row in (read_table(path, TraceabilityRow) if path.is_file() else [])}


def call_graph_table(inputs: ReportInputs) -> pd.DataFrame:
    """Per repository of the population with a graph: its call edges, by-name, inferred and unresolved edges."""

    def compute() -> pd.DataFrame:
        by_repo = graph_edge_counts(inputs.results / "traceability.csv")
        rows = [{"repo": repo, "calls": by_repo[repo]["calls"], "by_name": by_repo[repo]["by-name"],
                 "inferred": by_repo[repo]["inferred"], "unresolved": by_repo[repo]["unresolved"]}
                for repo in inputs.population if repo in by_repo]
        return pd.DataFrame(rows, columns=["repo", "calls", "by_name", "inferred", "unresolved"])
    return inputs.cached("call_graph", compute)  # read by the threats and the validity section: read once


def add_threat_facts(facts: Facts, inputs: ReportInputs) -> None:
    """The facts the threats to validity quote (added to ``facts``)."""
    population = len(inputs.population)
    manifest = inputs.corpus_table("manifest.csv")
    if population and len(manifest):
        teaching = teaching_repositories(inputs)
        facts.add(Share("TeachingRepos", len(teaching), population, "repositories", "manifest.csv", T_THREATS,
                        "repositories of the population the course-work rule finds (miner/tutorials.py: GitHub "
                        "Classroom's description, a course word of the owner/name, description or topics, a farm)"))
        ok = manifest[manifest["status"] == "ok"]
        copies = ok[ok["duplicate_of"] != ""]
        facts.add(Number("DuplicateCopies", len(copies), "", "manifest.csv", T_FUNNEL,
                         "mined repositories with duplicate_of set (copies of another repository)"))
        facts.add(Number("DuplicateFamilies", copies["duplicate_of"].nunique(), "", "manifest.csv", T_FUNNEL,
                         "distinct duplicate_of values among mined repositories"))
    files = inputs.in_population(inputs.table("files.csv"))
    if "status" in files:
        unparsed = unparsed_files(inputs)  # the report's population's, as the files counted
        code = files[files["kind"].isin(["python", "notebook"])]
        # files cluster in repositories: a bootstrap over them, and the largest repository's part
        hit = set(zip(unparsed["repo"], unparsed["path"])) if len(unparsed) else set()
        view = clustered(by_cluster(code["repo"], [(r, p) in hit for r, p in zip(code["repo"], code["path"])]))
        facts.add(Share("FilesNotParsed", int(view.k), view.n, "Python files and notebooks", "files.csv", T_FILES,
                        "files.csv python/notebook rows with status problem or skipped or read in part, and "
                        "notebooks with a cell that did not parse (problems.csv stage parse), over every "
                        "python/notebook row of the report's population; files cluster in repositories: a "
                        "bootstrap over them",
                        interval=view.low is not None, cluster=view))
        known = unparsed[unparsed["mentions_mlflow"] != ""]
        if len(known):
            mentions = clustered(by_cluster(known["repo"], known["mentions_mlflow"] == "yes"))
            facts.add(Share("FilesNotParsedMlflow", int(mentions.k), mentions.n, "files",
                            "files.csv", T_FILES, "of the files not (wholly) parsed and found in the corpus, those "
                            "whose text mentions mlflow", interval=mentions.low is not None, cluster=mentions))
    problems = inputs.table("problems.csv")
    if "stage" in problems:
        facts.add(Number("FilesNotFetched", int((problems["stage"] == "mine").sum()), "", "problems.csv", T_PROBLEMS,
                         "problems.csv rows of stage mine: files the miner did not write (over the size limit, "
                         "missing from the snapshot, a link leaving the repository)"))
        facts.add(Number("EnvProblems", int((problems["stage"] == "environment").sum()), "", "problems.csv", T_PROBLEMS,
                         "problems.csv rows of stage environment: environment files or lines that could not be read"))
    graph = call_graph_table(inputs)
    if len(graph):
        facts.add(Number("ByNameEdges", int(graph["by_name"].sum()), "", "graphs/", T_GRAPH,
                         "calls edges with by_name = true in the population's graphs"))
        facts.add(Number("CallEdges", int(graph["calls"].sum()), "", "graphs/", T_GRAPH,
                         "calls edges in the population's graphs"))
        facts.add(Share("ReposByName", int((graph["by_name"] > 0).sum()), len(graph), "repositories with a graph",
                        "graphs/", T_GRAPH, "repositories whose graph has a by-name calls edge"))
        facts.add(Number("UnresolvedEdges", int(graph["unresolved"].sum()), "", "graphs/", T_GRAPH,
                         "unresolved edges (calls through variables, dynamic imports) in the population's graphs"))
        facts.add(Share("ReposUnresolved", int((graph["unresolved"] > 0).sum()), len(graph),
                        "repositories with a graph", "graphs/", T_GRAPH,
                        "repositories whose graph has an unresolved edge"))
    calls = inputs.table("call_sites.csv")
    if "note" in calls:
        calls = calls[calls["repo"].isin(set(inputs.population))]
        facts.add(Number("ClientInferred", int((calls["note"] == "client inferred from a parameter name").sum()), "",
                         "call_sites.csv", T_GRAPH, "call_sites.csv rows noted 'client inferred from a parameter "
                         "name' (the population)"))
        facts.add(Number("UnresolvedCalls", int((calls["style"] == "unresolved").sum()), "", "call_sites.csv",
                         T_GRAPH, "call_sites.csv rows of style unresolved (the population)"))
    from analysis.rerun.statistics import one_per_target, rerun_statistics

    rerun = one_per_target(inputs.rerun_table())  # a target run under both driver choices counts once
    if "python_requested" in rerun and len(rerun):
        asked = rerun[(rerun["python_requested"] != "") & (rerun["python_used"] != "")]
        differs = [not _same_python(a, u) for a, u in asked[["python_requested", "python_used"]].itertuples(index=False)]
        facts.add(Share("RerunPythonSubstituted", sum(differs), len(asked), "targets asking for a Python version",
                        "rerun.csv", "t-rerun", "rerun.csv rows whose python_used is another minor release than "
                        "python_requested (3.10.0 is met by 3.10.13)"))
        sandbox = _read_rerun_sandbox(inputs)
        if sandbox:
            facts.add(Label("RerunSandbox", str(sandbox), "rerun.csv", "t-rerun", "the sandbox of rerun.csv's provenance"))
        facts.add(Label("RerunNetwork", rerun_statistics(rerun).network_words(), "rerun.csv", "t-rerun",
                        "the network policy of rerun.csv's rows (column network; none where the column is absent)"))


def _read_rerun_sandbox(inputs: ReportInputs) -> str:
    """The sandbox kind rerun.csv's provenance records ('' when absent)."""
    if inputs.rerun is None:
        return ""
    value = read_json(inputs.rerun / "rerun.csv.provenance.json").get("sandbox", "")
    return value if isinstance(value, str) else str(value.get("kind", "")) if isinstance(value, dict) else ""


def _same_python(asked: str, used: str) -> bool:
    """Whether ``used`` is the minor release ``asked`` names (``3.10.0`` by ``3.10.13``: patch releases do not
    change the language); a range is met by any."""
    if not re.fullmatch(r"\d+(\.\d+)*", asked):
        return True
    parts = asked.split(".")[:2]
    return used.split(".")[: len(parts)] == parts


def threat_sentences(facts: Facts, inputs: ReportInputs) -> list[tuple[str, Sentence]]:
    """(threat, sentence) pairs; a threat that cannot be measured from the inputs says so."""
    out: list[tuple[str, Sentence | None]] = [
        ("teaching material", facts.sentence(
            "{TeachingRepos} are course work or tutorials by their name, description or topics, GitHub Classroom's "
            "description or a farm of one owner's repositories (miner/tutorials.py); they are kept, the shares "
            "describe public MLflow code as it is, teaching material included, and every practice is also given "
            "for teaching, library and application repositories apart.")),
        ("duplicates", facts.sentence(
            "{DuplicateCopies} mined repositories are copies of another ({DuplicateFamilies} families, same root "
            "commit or same code files); " + ("they are counted (--all-repos)." if inputs.all_repos
                                              else "one per family is counted."))),
        ("files not parsed", facts.sentence(
            "{FilesNotParsed} were not (wholly) parsed; {FilesNotParsedMlflow} of those mention mlflow, so calls in "
            "them may be missing.") or facts.sentence(
            "{FilesNotParsed} were not (wholly) parsed; their calls may be missing.")),
        ("files not fetched", facts.sentence(
            "{FilesNotFetched} files were not written by the miner and {EnvProblems} environment files or lines could "
            "not be read: dependencies and calls in them are not counted.")),
        ("call graph", facts.sentence(
            "The static call graph over-approximates where a method is reached by its name only ({ByNameEdges} of "
            "{CallEdges} call edges, in {ReposByName}) and under-approximates at calls through variables and dynamic "
            "imports ({UnresolvedEdges} unresolved edges, in {ReposUnresolved}); {ClientInferred} client calls rest "
            "on a parameter named like a client, and {UnresolvedCalls} calls could not be resolved.")),
    ]
    if "RerunPythonSubstituted" in facts:
        out.append(("re-run conditions", facts.sentence(
            "Re-runs were sandboxed" + (" ({RerunSandbox})" if "RerunSandbox" in facts else "") + " with {RerunNetwork} "
            "while running and today's package index while building; {RerunPythonSubstituted} got another Python minor release "
            "than the one asked for (the nearest this machine had).")))
    else:
        out.append(("re-run conditions", not_measured("Re-run conditions (sandbox, network, Python substituted)",
                                                      RERUN_COMMAND)))
    return [(name, s) for name, s in out if s is not None]
