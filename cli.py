"""mlflow-census command line: ``mine`` a corpus, then ``analyze`` it; ``rerun`` its MLprojects in a sandbox."""

from __future__ import annotations

from miner import interrupts

if __name__ == "__main__":
    interrupts.guard()  # before the imports below: a Ctrl-C while they load exits 130 too

import contextlib
import dataclasses
import enum
import inspect
import logging
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Annotated, Literal, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from miner import __version__
from miner.ftypes import MineEvent, MineFailed, MinerError, MineSettings, MineSummary, RepoStatus, Selected
from miner.spec import DEFAULT_SPEC, load_spec

app = typer.Typer(
    help="Measure how projects track experiments with MLflow: mine a corpus of repositories, "
    "then analyze it into CSV tables.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)


class Exit(enum.IntEnum):
    """Exit codes of every command."""

    OK = 0
    SOME_FAILED = 1  # the run finished, but some repositories, releases or windows failed; or it could not go on
    BAD_INPUT = 2  # bad options, spec or lock file: nothing was done
    INTERRUPTED = interrupts.INTERRUPTED


class _Renderer:
    """Turns the library's progress events into progress bars and lines."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def _task(self, name: str, total: int | None) -> TaskID:
        if name not in self.tasks:
            self.tasks[name] = self.progress.add_task(name, total=total)
        return self.tasks[name]

    def __call__(self, event: MineEvent) -> None:
        if event.kind in ("phase", "wait", "message"):
            self.progress.console.print(f"[dim]{event.kind}:[/] {event.message}")
        elif event.kind == "search_page":
            self.progress.update(self._task("search: repositories found", None), completed=event.done)
        elif event.kind in ("clone_start", "clone_done"):
            task = self._task("repositories", event.total)
            self.progress.update(task, completed=event.done, total=event.total)
        elif event.kind == "release":
            self.progress.update(self._task("MLflow releases", event.total), completed=event.done, total=event.total)


@contextlib.contextmanager
def _running(bad_input: tuple[type[Exception], ...], kept: str, failed: tuple[type[Exception], ...] = (),
             hint: str = "") -> Iterator[Progress]:
    """Progress bars around a library call; its input errors exit 2, its ``failed`` errors (a cause
    outside the input, such as the network) exit 1 with ``hint``, Ctrl-C exits 130."""
    # redrawn 4 times a second, not rich's 10: its thread takes CPU from the work it shows
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console, refresh_per_second=4)
    try:
        with progress:
            yield progress
    except bad_input as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(Exit.BAD_INPUT) from err
    except failed as err:
        typer.echo(f"error: {err}" + (f"\nhint: {hint}" if hint else ""), err=True)
        raise typer.Exit(Exit.SOME_FAILED) from err
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted[/]: {kept}; run the same command again to finish.")
        raise typer.Exit(Exit.INTERRUPTED) from None


def _check_directory(option: str, path: Path) -> None:
    """Exit 2 with one line when ``path``, or the nearest of its parents that exists, is not a directory."""
    for existing in (path, *path.parents):
        if existing.exists():
            if not existing.is_dir():
                where = "" if existing == path else f" ({existing} is not a directory)"
                typer.echo(f"error: {option} {path}: not a directory{where}", err=True)
                raise typer.Exit(Exit.BAD_INPUT)
            return


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"mlflow-census {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version_callback, is_eager=True,
                                          help="Print the version and exit.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug details to stderr.")] = False,
) -> None:
    """mlflow-census: a repository-mining static analyzer for MLflow usage."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


@app.command()
def mine(
    spec: Annotated[Path, typer.Option(help="Corpus spec (TOML) saying what to mine.",
                                       envvar="MLFLOW_CENSUS_SPEC")] = DEFAULT_SPEC,
    corpus: Annotated[Optional[Path], typer.Option(
        help="Corpus directory for manifest.csv, lock.csv and checkouts (repos/). "
        "Default: corpora/<spec name>/.", envvar="MLFLOW_CENSUS_CORPUS")] = None,
    from_local: Annotated[Optional[Path], typer.Option(
        "--from-local", help="Mine every git repository under this directory (bare or not, any depth) "
        "instead of the spec's sources (its rules still apply). Reads HEAD; never writes into them.")] = None,
    mlflow_from: Annotated[Optional[Path], typer.Option(
        "--mlflow-from", help="Take MLflow releases from this folder (unpacked releases or "
        ".whl/.tar.gz archives) instead of the spec's source.", envvar="MLFLOW_CENSUS_MLFLOW_FROM")] = None,
    lock: Annotated[Optional[Path], typer.Option(
        help="Re-mine exactly the (repo, commit) pairs of this lock.csv.")] = None,
    api_url: Annotated[str, typer.Option(
        help="GitHub REST API base URL (GitHub Enterprise: https://HOST/api/v3).",
        envvar="GITHUB_API_URL")] = "https://api.github.com",
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Find and select as a real run would and write manifest.csv and selection.csv; "
        "fetch no repository.")] = False,
    no_mlflow: Annotated[bool, typer.Option("--no-mlflow", help="Do not fetch MLflow releases.")] = False,
    forks: Annotated[Optional[bool], typer.Option("--forks/--no-forks", help="Include forks (spec default: no).")] = None,
    archived: Annotated[Optional[bool], typer.Option("--archived/--no-archived", help="Include archived repositories.")] = None,
    min_stars: Annotated[Optional[int], typer.Option(help="Skip repositories with fewer stars.")] = None,
    pushed_after: Annotated[Optional[str], typer.Option(help="Skip repositories last pushed before this date (YYYY-MM-DD).")] = None,
    max_size_kb: Annotated[Optional[int], typer.Option(help="Skip repositories larger than this (GitHub's size, KB).")] = None,
    exclude_tutorials: Annotated[Optional[bool], typer.Option(
        "--exclude-tutorials/--keep-tutorials", help="Leave course work out (miner/tutorials.py's rule), or keep "
        "it flagged in selection.csv (spec default: keep).")] = None,
    jobs: Annotated[int, typer.Option(min=1, help="Repositories fetched at once.")] = 1,
    history: Annotated[bool, typer.Option(
        "--history", help="Keep each repository's history for `analyze --history`: from GitHub the default "
        "branch's whole history (blob-limited, one fetch, kept in history/); local clones are read in place. "
        "The manifest says how many commits each has and whether its history is complete.")] = False,
) -> None:
    """Build a corpus: read the spec's sources (GitHub topics and searches, repository lists, local
    clones; or --from-local, or a lock file), select by the spec's rules and sample (selection.csv),
    fetch each kept repository's tree at one commit, fetch MLflow's source releases, and write
    manifest.csv and lock.csv.

    A token is read from GITHUB_TOKEN if set (optional; it raises the rate limit). Interrupt at
    any time and run again: finished repositories are kept, the rest is done.
    """
    try:
        corpus_spec = load_spec(spec)
        overrides: dict[str, Any] = {k: v for k, v in {"include_forks": forks, "include_archived": archived,
                                       "min_stars": min_stars, "pushed_after": pushed_after,
                                       "max_size_kb": max_size_kb, "exclude_tutorials": exclude_tutorials,
                                       }.items() if v is not None}
        corpus_spec = dataclasses.replace(corpus_spec, filters=dataclasses.replace(corpus_spec.rules, **overrides))
        corpus = corpus or (spec.resolve().parent / corpus_spec.name)
        _check_directory("--corpus", corpus)
        settings = MineSettings(
            spec=corpus_spec,
            corpus_dir=corpus,
            api_url=api_url,
            token=os.environ.get("GITHUB_TOKEN") or None,
            from_local=from_local,
            mlflow_from=mlflow_from,
            lock=lock,
            dry_run=dry_run,
            skip_mlflow=no_mlflow,
            jobs=jobs,
            history=history,
        )
    except MinerError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(Exit.BAD_INPUT) from err

    from miner.mine import mine as run_mine

    with _running((MinerError,), "finished repositories are kept", (MineFailed,),
                  "without the network, mine local clones: python cli.py mine --from-local DIR") as progress:
        summary = run_mine(settings, _Renderer(progress))

    out = typer.echo
    out(f"corpus: {summary.corpus_dir}")
    if summary.total_count is not None:
        collected = sum(w.collected for w in summary.windows if not w.split)
        state = "complete" if summary.complete else "INCOMPLETE"
        out(f"search: {collected} of total_count {summary.total_count} collected ({state}, {len(summary.windows)} windows)")
        for w in summary.windows:
            if w.note or w.incomplete_results:
                out(f"  window {w.created_from}..{w.created_to} of {w.source}: {w.note or 'incomplete_results'}")
    _print_selection(summary)
    out(f"mined: {summary.count(RepoStatus.OK)}  planned: {summary.count(RepoStatus.PLANNED)}  "
        f"skipped: {summary.count(RepoStatus.SKIPPED)}  failed: {summary.count(RepoStatus.FAILED)}  "
        f"duplicates: {summary.n_duplicates}  file problems: {len(summary.problems)}")
    chosen = {r.repo for r in summary.selection if r.status == Selected.KEPT.value}
    for row in summary.rows:
        if row.status == RepoStatus.FAILED.value or row.status == RepoStatus.SKIPPED.value and row.repo in chosen:
            out(f"  {row.status}: {row.repo}: {row.reason}")
    if summary.releases:
        ok = sum(1 for r in summary.releases if r.status == RepoStatus.OK.value)
        out(f"MLflow releases: {ok} of {len(summary.releases)} ({', '.join(r.version for r in summary.releases if r.version)})")
        for rel in summary.releases:
            if rel.status != RepoStatus.OK.value:
                out(f"  failed: MLflow {rel.version or rel.origin}: {rel.reason}")
    raise typer.Exit(Exit.SOME_FAILED if summary.failed else Exit.OK)


def _print_selection(summary: MineSummary) -> None:
    """Per source, the candidates it found; then what the selection made of them, by rule (selection.csv)."""
    rows = summary.selection
    for name in dict.fromkeys(n for r in rows for n in r.sources):
        typer.echo(f"source {name}: {sum(name in r.sources for r in rows)}")
    counts = {s.value: sum(r.status == s.value for r in rows) for s in Selected}
    from miner.selection import RULES

    found = Counter(r.rule for r in rows if r.status == Selected.EXCLUDED.value)
    rules = {rule.name: found[rule.name] for rule in RULES if found[rule.name]}
    typer.echo(f"selection (selection.csv): {len(rows)} candidates, kept: {counts['kept']}  excluded: "
               f"{counts['excluded']}" + (f" ({', '.join(f'{k}: {n}' for k, n in rules.items())})" if rules else "")
               + f"  not-sampled: {counts['not-sampled']}  not-found: {counts['not-found']}")


@app.command()
def analyze(
    corpus: Annotated[Optional[Path], typer.Option(
        help="Mined corpus directory (holding manifest.csv). Default: corpora/mlflow-projects/.",
        envvar="MLFLOW_CENSUS_CORPUS")] = None,
    out: Annotated[Optional[Path], typer.Option(
        help="Where the CSVs go. Default: results/<corpus name>/.", envvar="MLFLOW_CENSUS_RESULTS")] = None,
    jobs: Annotated[int, typer.Option(min=1, help="Worker processes (one repository each at a time).")] = os.cpu_count() or 1,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ignore and do not fill the result cache (per file and per repository).")] = False,
    no_report: Annotated[bool, typer.Option("--no-report", help="Write the tables only; `python cli.py report` draws the report later.")] = False,
    history: Annotated[bool, typer.Option("--history", help="Also analyze the first-parent commits of each mined commit "
                                          "(a corpus mined with --history, or from local clones): history.csv, "
                                          "history_api_usage.csv, evolution.csv, history_problems.csv.")] = False,
    since: Annotated[Optional[str], typer.Option(help="With --history: commits from this date on (YYYY-MM-DD, UTC).")] = None,
    every: Annotated[str, typer.Option(help="With --history: every commit, or the last commit of each week or month "
                                       "(commit|week|month).")] = "commit",
    max_commits: Annotated[int, typer.Option(min=0, help="With --history: at most the newest N commits of each "
                                             "repository (0: all).")] = 0,
) -> None:
    """Analyze a mined corpus: MLflow call sites, integrations and tracking URIs in every .py file and
    notebook (against an API catalog read from the corpus's MLflow releases, or the shipped
    snapshot), MLproject files, environments and dependencies, reproducibility signals,
    traceability graphs, community statistics and a report.

    Writes into --out: call_sites.csv, integrations.csv, tracking_uris.csv, files.csv (every file and
    what became of it), problems.csv (every file that could not be read or parsed, with its line),
    mlprojects.csv, entry_points.csv, parameters.csv, environments.csv, dependencies.csv,
    reproducibility.csv, traceability.csv, populations.csv (teaching, library or application),
    practices.csv (per population), api_usage.csv, api_co_usage.csv,
    mlflow_storage.csv, api_catalog.csv, the experiment stores repositories commit (stores.csv,
    stored_experiments.csv, stored_runs.csv, stored_params.csv, stored_metrics.csv, stored_tags.csv,
    stored_inputs.csv) and their statistics (store_statistics.csv), agreement.csv (where two
    measures meet, unit by unit), each with a .provenance.json sidecar, graphs/*.graphml,
    usage_graph.graphml and report/ (report.md, index.html, findings.csv, figures). docs/outputs.md explains every column. Results are cached per file (content
    hash) and per repository (commit) in --out/.cache.sqlite: an interrupted run keeps the
    repositories it finished, and a re-run over an unchanged corpus parses nothing. With --history,
    each repository's history and each blob's outcome are cached too: a re-run with other --since,
    --every or --max-commits reads no blob an earlier run of the same code analyzed.

    Exit codes: 0 done; 1 done, but a repository could not be analyzed (a pass raised: its problem
    row says why, the others are complete); 2 bad input (no manifest); 130 interrupted.
    """
    from analysis.engine.driver import AnalysisError, OutputError
    from analysis.engine.driver import analyze as run_analyze
    from analysis.ftypes import EVERY, AnalyzeSettings, HistoryOptions

    corpus_dir = corpus or (DEFAULT_SPEC.parent / DEFAULT_SPEC.stem)
    out_dir = out or (Path("results") / corpus_dir.resolve().name)
    _check_directory("--corpus", corpus_dir)
    _check_directory("--out", out_dir)
    wrong = (f"--every {every}: not one of {', '.join(EVERY)}" if every not in EVERY else
             f"--since {since}: not a date (YYYY-MM-DD)" if since and not _is_date(since) else
             "--since, --every and --max-commits need --history" if not history and (since or every != "commit"
                                                                                      or max_commits) else "")
    if wrong:
        typer.echo(f"error: {wrong}", err=True)
        raise typer.Exit(Exit.BAD_INPUT)
    settings = AnalyzeSettings(corpus_dir=corpus_dir, out_dir=out_dir, jobs=jobs, use_cache=not no_cache,
                               draw_report=not no_report,
                               history=HistoryOptions(since or "", every, max_commits) if history else None)
    with _running((AnalysisError,), "finished repositories are cached", failed=(OutputError,)) as progress:
        task = progress.add_task("files", total=None)

        def tick(repo: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, description=f"files ({repo})"
                            if repo else "files")

        summary = run_analyze(settings, tick)
    drawn = summary.out_dir / "report" / "index.html" if not no_report else "not drawn (--no-report)"
    typer.echo(f"results: {summary.out_dir}  report: {drawn}")
    typer.echo(f"repos: {summary.n_repos}  files: {summary.n_files}  call sites: {summary.n_call_sites}  "
               f"problems: {summary.n_problems}")
    typer.echo(f"parsed by LibCST: {summary.n_parsed}  from cache: {summary.n_cached}  "
               f"without 'mlflow': {summary.n_prefiltered}  mentioning it without importing it: {summary.n_gated}  "
               f"catalog: {summary.catalog_origin}")
    if summary.seconds:
        typer.echo("seconds: " + "  ".join(f"{phase} {t:.1f}" for phase, t in summary.seconds.items()))
    else:
        typer.echo("nothing changed since the run that wrote these tables: kept as they are")
    for repo in summary.failed:
        typer.echo(f"  failed: {repo} (see problems.csv; not cached, so a re-run tries it again)")
    told = summary.history
    if told is not None:
        typer.echo(f"history: {told.n_repos} repos  commits: {told.n_commits}  distinct files analyzed: {told.n_blobs}  "
                   f"parsed by LibCST: {told.n_parsed}  repos from cache: {told.n_cached_repos}  "
                   f"problems: {told.n_problems}  seconds: {told.seconds:.1f}")
        for repo in told.failed:
            typer.echo(f"  history failed: {repo} (see history_problems.csv; a re-run tries it again)")
    raise typer.Exit(Exit.SOME_FAILED if summary.failed or told is not None and told.failed else Exit.OK)


@app.command()
def report(
    results: Annotated[Optional[Path], typer.Option(
        help="Results directory written by analyze. Default: results/mlflow-projects/.",
        envvar="MLFLOW_CENSUS_RESULTS")] = None,
    all_repos: Annotated[bool, typer.Option("--all-repos", help="Report shares over every repository, duplicates "
                                            "included (default: one per duplicate family).")] = False,
    corpus: Annotated[Optional[Path], typer.Option(
        help="The mined corpus, for the selection funnel and what was read. Default: the corpus the results' "
        "provenance names.")] = None,
    probe: Annotated[Optional[Path], typer.Option(
        help="Directory holding probe.csv (python cli.py probe). Default: RESULTS/probe/, else RESULTS/../probe/, "
        "when there.")] = None,
    rerun: Annotated[Optional[Path], typer.Option(
        help="Directory holding rerun.csv (python cli.py rerun). Default: RESULTS/, else RESULTS/rerun/, when "
        "there.")] = None,
    reference: Annotated[Optional[Path], typer.Option(
        help="Adjudicated reference files (dev-call-sites.csv, dev-mlprojects.jsonl, dev-dependencies.csv, as in "
        "shared/corpus/): adds precision and recall per API family, MLproject and pin-class agreement.")] = None,
    latex: Annotated[bool, typer.Option("--latex", help="Also write report/latex/: a booktabs .tex per table, "
                                        "figures as PDF, findings.tex macros for every number quoted.")] = False,
) -> None:
    """Write report/report.md, a self-contained report/index.html (figures embedded) and report/findings.csv
    from the result CSVs: key findings per question with their numbers, denominators and 95% Wilson
    intervals, the proposal's KPIs, one section per question, methodology, threats to validity and
    published baselines. A measure whose input is missing (probe, re-run, reference) says "not
    measured" with the command to run. (analyze writes it too, unless --no-report.)"""
    from analysis.report.document import FigureRenderer, build_report
    from analysis.report.inputs import REFERENCE_FILES, ReportInputs

    results_dir = results or (Path("results") / DEFAULT_SPEC.stem)
    if not (results_dir / "practices.csv").is_file():
        typer.echo(f"error: {results_dir}/practices.csv: no results; run `python cli.py analyze` first", err=True)
        raise typer.Exit(Exit.BAD_INPUT)
    for option, given, needed in (("--corpus", corpus, ("manifest.csv",)), ("--probe", probe, ("probe.csv",)),
                                  ("--rerun", rerun, ("rerun.csv",)), ("--reference", reference, REFERENCE_FILES)):
        if given is not None and not any((given / name).is_file() for name in needed):
            typer.echo(f"error: {option} {given}: holds no {' or '.join(needed)}", err=True)
            raise typer.Exit(Exit.BAD_INPUT)
    inputs = ReportInputs.locate(results_dir, corpus=corpus, probe=probe, rerun=rerun, reference=reference)
    md, page = build_report(results_dir, all_repos, corpus=inputs.corpus, probe=inputs.probe, rerun=inputs.rerun,
                            reference=reference, latex=latex, renderer=FigureRenderer.if_safe(2))
    typer.echo(f"report: {page}\nmarkdown: {md}")
    for name, where in (("corpus", inputs.corpus), ("probe", inputs.probe), ("rerun", inputs.rerun),
                        ("reference", inputs.reference)):
        typer.echo(f"{name}: {where if where is not None else 'not found (not measured)'}")
    if latex:
        typer.echo(f"latex: {page.parent / 'latex'}")
    raise typer.Exit(Exit.OK)


@app.command()
def probe(
    mlflow: Annotated[Optional[list[str]], typer.Option(
        "--mlflow", help="An MLflow release to probe (x.y.z, from PyPI), or 'current' for the MLflow installed "
        "with this Python; repeat for several. Default: 1.27.0 1.30.1 2.10.2 2.11.0 2.22.5 3.12.0 3.17.2 "
        "(the edges of the limits' history, and the newest).")] = None,
    backend: Annotated[Optional[list[str]], typer.Option(
        "--backend", help="file (a FileStore in a temporary directory), sqlite (a temporary database), or a server "
        "URI (postgresql://user@host:port/db, mysql://user@host:port/db, tested on MariaDB; drivers psycopg2 "
        "and pymysql): there each release gets a new database, created and dropped by the probe (the user needs "
        "the right to create one; else the given database is used as it is). "
        "Repeat for several. Default: file and sqlite.")] = None,
    scale: Annotated[str, typer.Option(
        help="small (seconds: search at 10/30/100 runs, history of 1,000 points), medium (100/1,000/3,000 "
        "runs, 30,000 points) or large (the issue's sizes: 100/1,000/10,000 runs, 100,000 points).")] = "small",
    probes: Annotated[Optional[list[str]], typer.Option(
        "--probe", help="capacity, precision or integrity; repeat for several. Default: all three.")] = None,
    out: Annotated[Path, typer.Option(help="Where probe.csv, its provenance, raw/ and growth.png go.")]
        = Path("results") / "probe",
    envs: Annotated[Optional[Path], typer.Option(
        help="Cache of the per-release environments (built with uv). Default: $MLFLOW_CENSUS_ENVS or "
        "~/.cache/mlflow-census/envs.")] = None,
    timeout: Annotated[Optional[float], typer.Option(
        help="Seconds allowed to one release on one backend (default by scale: 900, 4 h, 12 h).")] = None,
) -> None:
    """Measure MLflow itself: storage capacity, access time, precision and integrity, per release and backend.

    Each release gets an isolated environment (uv, cached); each backend a fresh store; a workload
    shipped with this tool runs in the release's own interpreter and answers with JSON.
    Capacity and efficiency: runs created per second, log_metric and log_batch throughput, search_runs
    latency at growing numbers of runs (filter and order-by), get_metric_history at growing points,
    bytes and files on disk, client start-up; medians of repetitions with their spread, and the
    exponent of latency against size. Precision: values read back by a fresh process (float64
    extremes, -0.0, NaN, +-inf, numpy scalars, big integers, timestamp and step limits, params at
    and past MAX_PARAM_VAL_LENGTH, odd keys): exact, changed or rejected. Integrity: param re-logged,
    a metric point twice, concurrent writers, a client killed mid-log_batch, half-written files.

    Writes into --out: probe.csv (release, backend, probe, parameter, value, unit, n, spread, outcome,
    detail) with probe.csv.provenance.json (machine, versions, times), raw/<release>-<backend>.json
    and growth.png. docs/probe.md says how to read them.

    Exit codes: 0 done; 1 done, but a release's environment or workload failed (its error row says
    why); 2 bad options; 130 interrupted.
    """
    from analysis.probe import ProbeError, ProbeSettings
    from analysis.probe import probe as run_probe
    from analysis.probe.ftypes import DEFAULT_BACKENDS, DEFAULT_RELEASES, PROBES, ProbeEvent
    from analysis.isolated.uv_env import default_cache

    settings = ProbeSettings(out_dir=out, env_cache=envs or default_cache(),
                             releases=tuple(mlflow or DEFAULT_RELEASES), backends=tuple(backend or DEFAULT_BACKENDS),
                             scale=scale, probes=tuple(probes or PROBES), timeout=timeout)
    with _running((ProbeError,), "probe.csv is written at the end; nothing was kept") as progress:
        task = progress.add_task("release x backend", total=len(settings.releases) * len(settings.backends))

        def tell(event: ProbeEvent) -> None:
            progress.update(task, completed=event.done, description=f"{event.kind}: MLflow {event.release} "
                            f"{event.backend}".rstrip())
            if event.kind in ("done", "failed"):
                colour = "green" if event.kind == "done" else "red"
                progress.console.print(f"[{colour}]{event.kind}[/]: MLflow {event.release} on {event.backend}: "
                                       f"{event.message}")

        summary = run_probe(settings, tell)
    typer.echo(f"probe.csv: {summary.out_dir / 'probe.csv'}  rows: {len(summary.rows)}  "
               f"figure: {summary.figure or 'none'}  seconds: {summary.seconds:.0f}")
    for failure in summary.failures:
        typer.echo(f"  failed: MLflow {failure.release} on {failure.backend} ({failure.stage}): {failure.reason}")
    raise typer.Exit(Exit.SOME_FAILED if summary.failures else Exit.OK)


@app.command()
def rerun(
    corpus: Annotated[Optional[Path], typer.Option(
        help="Mined corpus directory (holding manifest.csv). Default: corpora/mlflow-projects/.",
        envvar="MLFLOW_CENSUS_CORPUS")] = None,
    out: Annotated[Optional[Path], typer.Option(
        help="analyze's results directory: its CSVs are read, rerun.csv, rerun_summary.csv and rerun/ are written "
        "there. Default: results/<corpus name>/.", envvar="MLFLOW_CENSUS_RESULTS")] = None,
    repo: Annotated[Optional[list[str]], typer.Option(help="Only this repository (OWNER/NAME); repeatable.")] = None,
    entry_point: Annotated[Optional[list[str]], typer.Option(
        "--entry-point", help="Only entry points of this name; repeatable.")] = None,
    timeout: Annotated[float, typer.Option(min=1, help="Wall-clock seconds of one run; then it is killed.")] = 600,
    build_timeout: Annotated[float, typer.Option(min=1, help="Seconds of one environment build.")] = 900,
    memory: Annotated[str, typer.Option(help="Memory of each process of a run (data segment), e.g. 4G, 512M.")] = "4G",
    max_processes: Annotated[int, typer.Option(min=8, help="Processes and threads of one run.")] = 512,
    jobs: Annotated[int, typer.Option(min=1, help="Targets run at once (local worker processes).")] = 1,
    scheduler: Annotated[Optional[str], typer.Option(
        help="Run the targets on this Dask scheduler (tcp://HOST:PORT; needs the dask extra). Every worker needs "
        "bubblewrap and the corpus and environment cache at the same paths.")] = None,
    budget: Annotated[Optional[float], typer.Option(
        min=0, help="Start no new target after this many seconds (a later run goes on from there).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Re-run targets already finished.")] = False,
    no_sandbox: Annotated[bool, typer.Option(
        "--no-sandbox", help="Run mined code WITHOUT a sandbox (limits and timeout still apply). Only on a machine "
        "that is itself a throw-away container.")] = False,
    env_cache: Annotated[Optional[Path], typer.Option(
        help="Where built environments are kept (default: ~/.cache/mlflow-census/envs).",
        envvar="MLFLOW_CENSUS_ENVS")] = None,
    env_cache_max: Annotated[str, typer.Option(help="Disk the environment cache may take, e.g. 20G: the least "
                                               "recently used environments not in use are removed.")] = "20G",
    work_dir: Annotated[Optional[Path], typer.Option(
        help="Where each target's copy and scratch directory go (default: the system's temp directory).")] = None,
    keep_work: Annotated[bool, typer.Option("--keep-work", help="Keep each target's copy and scratch directory.")] = False,
    network: Annotated[Literal["none", "all"], typer.Option(
        help="What a run may reach: none (a loopback of its own) or all (the host's network; nothing else of the "
        "host). Builds always reach the package index.")] = "none",
    driver_mlflow: Annotated[Literal["declared", "current"], typer.Option(
        help="The MLflow that creates each run: declared (the release the project's environment file pins "
        "exactly, mlflow==X or mlflow-skinny==X, in an environment of its own; the tool's MLflow where it pins "
        "none) or current (the tool's mlflow-skinny 3.17.2 for every project). rerun.csv's driver_mlflow says "
        "which; a target finished under the other choice is run again.")] = "declared",
    env_manager: Annotated[Optional[Literal["conda", "virtualenv", "uv", "local"]], typer.Option(
        help="How environments are made, as mlflow run --env-manager: conda (the conda file's channels and packages, "
        "solved and linked with py-rattler), virtualenv (a conda file converted, its conda packages dropped), uv "
        "(the same, unseeded), local (none: the MLflow's own). Default: as mlflow run chooses, conda for conda_env "
        "projects, virtualenv for the others.")] = None,
    at: Annotated[Literal["recorded", "head"], typer.Option(
        help="Which tree is re-run: recorded (the commit the compared committed run recorded, read from the mined "
        "history, with its MLproject; HEAD where the history does not hold it, and rerun.csv's at says why) or "
        "head (the checkout).")] = "recorded",
) -> None:
    """Re-execute every entry point of the valid MLprojects analyze found, each in a sandbox, and measure how
    many build, run and give the results of the repository's committed runs.

    For each target: a fresh copy of the checkout, or (--at recorded, where the mined history holds it) of the
    tree of the commit the compared committed run recorded; the environment `mlflow run` would build (python_env.yaml
    with uv from PyPI; conda.yaml with its conda packages from its channels, or converted as MLflow's virtualenv
    manager converts it: see --env-manager), into a cache keyed by its content; the command with its parameters
    substituted as MLflow does (a required parameter takes the value of a committed run of the entry point); the
    run, made by MLflow as `mlflow run` makes it (the release the project pins, or the tool's: --driver-mlflow),
    inside bubblewrap: no network (--network all: the host's), nothing of the host but the system's read-only
    files, the environments (read-only), the copy and a scratch directory, with memory, CPU, file size and
    process limits and a wall-clock timeout that kills everything it started. docker_env projects are not
    attempted. Without bubblewrap the command refuses to run (see --no-sandbox).

    Writes into --out: rerun.csv (one row per target and driver choice: environment, the MLflow that made the
    run, status, failure class, times, runs and metrics logged, comparison with the committed run of the same
    entry point and parameters), rerun_summary.csv (rates with 95% Wilson intervals, failure taxonomy, time to
    re-run, readiness score against outcome, the rates of each driver choice where both were run), each
    with a .provenance.json sidecar, and rerun/logs/ (each build's and run's output). Resumable: finished targets
    are journaled (rerun/journal.jsonl) and not re-run unless --force.

    Exit codes: 0 done (failed re-runs are results); 1 the tool failed on a target (retried next time);
    2 bad input or no sandbox; 130 interrupted (finished targets are kept).
    """
    from analysis.rerun.ftypes import RerunError, RerunSettings
    from analysis.rerun.job import rerun as run_rerun
    from analysis.isolated.env_cache import parse_size
    from analysis.isolated.uv_env import default_cache

    corpus_dir = corpus or (DEFAULT_SPEC.parent / DEFAULT_SPEC.stem)
    out_dir = out or (Path("results") / corpus_dir.resolve().name)
    try:
        memory_bytes, cache_bytes = parse_size(memory), parse_size(env_cache_max)
    except ValueError as err:
        typer.echo(f"error: --memory/--env-cache-max: {err}", err=True)
        raise typer.Exit(Exit.BAD_INPUT) from err
    settings = RerunSettings(corpus_dir=corpus_dir, out_dir=out_dir, env_cache=env_cache or default_cache(),
                             repos=tuple(repo or ()), entry_points=tuple(entry_point or ()), timeout=timeout,
                             build_timeout=build_timeout, memory=memory_bytes, max_processes=max_processes, jobs=jobs,
                             scheduler=scheduler, budget=budget, force=force, sandbox=not no_sandbox,
                             work_dir=work_dir, keep_work=keep_work, network=network, env_cache_max=cache_bytes,
                             at=at, driver_mlflow=driver_mlflow, env_manager=env_manager or "")
    if no_sandbox:
        console.print("[bold red]WARNING: --no-sandbox: mined code will run with this user's rights, network and "
                      "files. Only the limits and the timeout apply.[/]")
    with _running((RerunError,), "finished targets are kept") as progress:
        task = progress.add_task("targets", total=None)

        def tick(label: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, description=f"targets ({label})" if label else "targets")

        summary = run_rerun(settings, tick)
    typer.echo("\n".join(summary.lines()))
    if no_sandbox:
        console.print("[bold red]WARNING: these runs were made WITHOUT a sandbox (--no-sandbox).[/]")
    raise typer.Exit(Exit.SOME_FAILED if summary.errors else Exit.OK)


def _is_date(text: str) -> bool:
    import datetime
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _unwrapped(text: str) -> str:
    """A help text as paragraphs of one line each, for the terminal to wrap: Typer keeps a docstring's
    line breaks, which a terminal narrower than the source breaks again into ragged lines."""
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in inspect.cleandoc(text).split("\n\n"))


for _command in app.registered_commands:
    _command.help = _unwrapped(_command.help or inspect.getdoc(_command.callback) or "")


if __name__ == "__main__":
    interrupts.run(app)
