"""Reading a FileStore tree (``mlruns/``) committed to a checkout into raw records, as MLflow's own
store reads it, with the rules of ``mlflow/store/tracking/file_store.py``.

Experiments are the root's subdirectories and those of ``.trash/``; runs are an experiment's
subdirectories but ``tags``/``datasets``/``traces``/``models``; metric files hold lines
``timestamp value step`` split on single spaces, 2 fields meaning step 0, 5 adding a dataset.
Where MLflow skips (no ``meta.yaml``, a wrong experiment id) the reader skips too and says so;
where MLflow would fail the whole search (a malformed line, an empty metric file, broken YAML)
the reader skips the one item and records a problem. Every file is read with a size bound; a
symlink whose target leaves the repository is never followed; a Git LFS pointer is recognised and
reported instead of parsed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from analysis.reading import safe_yaml
from analysis.stores.raw import (
    RESERVED_EXPERIMENT_FOLDERS,
    RUN_STATUS,
    TRASH,
    Checkout,
    Point,
    RawExperiment,
    RawInput,
    RawRun,
    RawStore,
    StoreLimits,
    StoreProblem,
    int_field,
    is_lfs_pointer,
    read_bounded,
    str_field,
)


class _Tree:
    """One walk of a store directory: files with sizes, directories, and symlinks refused or kept."""

    def __init__(self, checkout: Checkout, base: Path | None, limits: StoreLimits, store: RawStore) -> None:
        self.files: dict[str, int] = {}
        self.children: dict[str, list[str]] = {"": []}  # dir -> immediate subdirectory names
        if base is not None:
            self._walk(checkout, base, limits, store)

    def _walk(self, checkout: Checkout, base: Path, limits: StoreLimits, store: RawStore) -> None:
        truncated = False
        for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
            here = Path(dirpath)
            rel_dir = "" if here == base else here.relative_to(base).as_posix()
            kept = []
            for name in sorted(dirnames):
                sub = here / name
                if sub.is_symlink():
                    target = os.readlink(sub)
                    why = ("symlink leaving the repository" if not checkout.inside(sub)
                           else "symlinked directory inside a store: not followed")
                    store.problems.append(StoreProblem(checkout.rel(sub), None, f"{why} (-> {target})"))
                    continue
                kept.append(name)
                self.children[f"{rel_dir}/{name}".lstrip("/")] = []
            dirnames[:] = kept
            self.children.setdefault(rel_dir, []).extend(kept)
            for name in sorted(filenames):
                path = here / name
                rel = f"{rel_dir}/{name}".lstrip("/")
                if path.is_symlink() and not checkout.inside(path):
                    store.problems.append(StoreProblem(checkout.rel(path), None,
                                                       f"symlink leaving the repository (-> {os.readlink(path)})"))
                    continue
                try:
                    self.files[rel] = path.lstat().st_size if path.is_symlink() else path.stat().st_size
                except OSError as err:
                    store.problems.append(StoreProblem(checkout.rel(path), None, f"cannot stat: {err.strerror}"))
                if len(self.files) >= limits.files:
                    truncated = True
                    break
            if truncated:
                store.problems.append(StoreProblem(checkout.rel(base), None,
                                                   f"store holds over {limits.files} files: the rest not read"))
                break

    def under(self, prefix: str) -> Iterator[str]:
        """Store-relative files below a directory, sorted (``os.walk`` order need not be)."""
        start = prefix.rstrip("/") + "/"
        return (f for f in sorted(self.files) if f.startswith(start))


class _FileStoreReader:
    def __init__(self, checkout: Checkout, rel: str, limits: StoreLimits) -> None:
        self.checkout = checkout
        self.rel = rel
        self.base = checkout.root / rel
        self.limits = limits
        self.store = RawStore("file")
        self.refused = self.base.is_symlink() and not checkout.inside(self.base)
        self.tree = _Tree(checkout, None if self.refused else self.base, limits, self.store)
        self.sorted_files = sorted(self.tree.files)
        self.store.files = self.tree.files
        self.store.n_files = len(self.tree.files)
        self.store.n_bytes = sum(self.tree.files.values())

    def repo_path(self, store_rel: str) -> str:
        return f"{self.rel}/{store_rel}" if self.rel else store_rel

    def problem(self, store_rel: str, reason: str, line: int | None = None) -> None:
        self.store.problems.append(StoreProblem(self.repo_path(store_rel), line, reason))

    def _bytes(self, store_rel: str, cap: int) -> bytes | None:
        """A file's bytes (bounded), or None with a problem recorded."""
        try:
            data, more = read_bounded(self.base / store_rel, cap)
        except OSError as err:
            self.problem(store_rel, f"cannot read: {err.strerror}")
            return None
        if is_lfs_pointer(data):
            self.problem(store_rel, "Git LFS pointer in place of the file")
            return None
        if more:
            self.problem(store_rel, f"file is {self.tree.files.get(store_rel, 0)} bytes: only the first {cap} read")
        return data

    def _text(self, store_rel: str, cap: int) -> str | None:
        data = self._bytes(store_rel, cap)
        if data is None:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            self.problem(store_rel, "not UTF-8 (MLflow fails on it): read with replacement characters")
            return data.decode("utf-8", "replace")

    def yaml(self, store_rel: str) -> tuple[Any, str]:
        """(mapping or None, why not) of a meta.yaml; why is '' when it parsed to a mapping."""
        if store_rel not in self.tree.files:
            return None, "missing"
        text = self._text(store_rel, self.limits.yaml_bytes)
        if text is None:
            return None, "unreadable"
        try:
            obj = safe_yaml.load(text, store_rel)
        except safe_yaml.BadYAML as err:
            return None, f"malformed YAML: {err}"
        if obj is None:
            return None, "empty"
        if not isinstance(obj, dict):
            return None, f"not a YAML mapping but a {type(obj).__name__}"
        return obj, ""

    def read(self) -> RawStore:
        if self.refused:
            self.store.problems.append(StoreProblem(self.rel, None,
                                                    f"symlink leaving the repository (-> {os.readlink(self.base)})"))
            return self.store
        if not self.base.is_dir():
            self.store.problems.append(StoreProblem(self.rel, None, "not a directory"))
            return self.store
        top = self.tree.children.get("", [])
        active = sorted(d for d in top if not d.endswith(TRASH) and d != "models")
        deleted = sorted(f"{TRASH}/{d}" for d in self.tree.children.get(TRASH, []))
        seen: set[str] = set()
        for exp_dir in active + deleted:
            self._experiment(exp_dir, seen)
        self._registry()
        return self.store

    def _experiment(self, exp_dir: str, seen: set[str]) -> None:
        exp_id = exp_dir.rsplit("/", 1)[-1]
        run_dirs = [d for d in sorted(self.tree.children.get(exp_dir, [])) if d not in RESERVED_EXPERIMENT_FOLDERS]
        meta, why = self.yaml(f"{exp_dir}/meta.yaml")
        if meta is None:
            effect = "MLflow skips it" if why in ("missing", "empty") else "MLflow fails on the store"
            self.problem(f"{exp_dir}/meta.yaml", f"experiment meta.yaml {why}: {effect}; its {len(run_dirs)} "
                                                 "run directories not read")
            self.store.skipped["experiments"] += 1
            self.store.skipped["runs_in_skipped_experiments"] += len(run_dirs)
            return
        recorded = str(meta.get("experiment_id", ""))
        if recorded != exp_id or exp_id in seen:
            reason = (f"experiment id {recorded!r} recorded in a directory named {exp_id!r}: MLflow ignores it"
                      if recorded != exp_id else f"experiment {exp_id} also active: MLflow reads the active one")
            self.problem(f"{exp_dir}/meta.yaml", reason)
            self.store.skipped["experiments"] += 1
            self.store.skipped["runs_in_skipped_experiments"] += len(run_dirs)
            return
        seen.add(exp_id)
        # in .trash is deleted: MLflow 1.x decided by place and left 'active' in the meta; 3.x writes 'deleted'
        stage = "deleted" if exp_dir.startswith(TRASH) else str_field(meta.get("lifecycle_stage")) or "active"
        self.store.experiments.append(RawExperiment(
            exp_id, str_field(meta.get("name")), stage,
            str_field(meta.get("artifact_location")), int_field(meta.get("creation_time")),
            int_field(meta.get("last_update_time")), self._values(f"{exp_dir}/tags")))
        for run in run_dirs:
            self._run(exp_id, f"{exp_dir}/{run}")

    def _values(self, folder: str) -> dict[str, str]:
        """Key -> content of every file below a folder (params, tags): keys with '/' are subpaths."""
        out = {}
        for rel in self.tree.under(folder):
            text = self._text(rel, self.limits.value_file_bytes)
            if text is not None:
                out[rel[len(folder) + 1:]] = text
        return out

    def _run(self, exp_id: str, run_dir: str) -> None:
        meta, why = self.yaml(f"{run_dir}/meta.yaml")
        if meta is None:
            n_files = sum(1 for _ in self.tree.under(run_dir))
            effect = "MLflow skips it" if why == "missing" else "MLflow fails on the store"
            self.problem(f"{run_dir}/meta.yaml" if why != "missing" else run_dir,
                         f"run directory with meta.yaml {why} ({n_files} files): {effect}")
            self.store.skipped["runs_without_meta" if why == "missing" else "runs_unreadable"] += 1
            return
        recorded = str_field(meta.get("experiment_id"))
        if recorded != exp_id:
            self.problem(f"{run_dir}/meta.yaml", f"run records experiment {recorded!r} but lies in {exp_id!r}: "
                                                 "MLflow ignores it")
            self.store.skipped["runs_wrong_experiment"] += 1
            return
        run_id = str_field(meta.get("run_id") or meta.get("run_uuid"))
        if run_id != run_dir.rsplit("/", 1)[-1]:
            self.problem(f"{run_dir}/meta.yaml", f"run id {run_id!r} differs from its directory name")
        raw_status = meta.get("status", 1)
        status = RUN_STATUS.get(raw_status) if isinstance(raw_status, int) else None
        if status is None:
            self.problem(f"{run_dir}/meta.yaml", f"run status {raw_status!r} is not one of MLflow's: kept as written")
            status = str_field(raw_status)
        run = RawRun(run_id, exp_id, str_field(meta.get("run_name")), status,
                     str_field(meta.get("lifecycle_stage")) or "active", int_field(meta.get("start_time")),
                     int_field(meta.get("end_time")), str_field(meta.get("artifact_uri")), str_field(meta.get("user_id")),
                     run_dir=self.repo_path(run_dir))
        run.params = self._values(f"{run_dir}/params")
        run.tags = self._values(f"{run_dir}/tags")
        for rel in self.tree.under(f"{run_dir}/metrics"):
            key = rel[len(run_dir) + len("/metrics/"):]
            points = self._metric(rel)
            if points:
                run.metrics[key] = points
        exp_dir = run_dir.rsplit("/", 1)[0]
        run.inputs = self._inputs(run_dir, exp_dir)
        run.output_models = [self.repo_path(f"{exp_dir}/models/{m}") for m in
                             sorted(self.tree.children.get(f"{run_dir}/outputs", []))
                             if f"{exp_dir}/models/{m}" in self.tree.children]
        self.store.runs.append(run)

    def _metric(self, rel: str) -> list[Point]:
        data = self._bytes(rel, self.limits.metric_file_bytes)
        if data is None:
            return []
        points, bad = parse_metric_lines(data.decode("utf-8", "replace"))
        for line, reason in bad[:20]:
            self.problem(rel, f"malformed metric line ({reason}): MLflow fails on the run; line skipped", line)
        if len(bad) > 20:
            self.problem(rel, f"{len(bad) - 20} more malformed metric lines skipped")
        self.store.skipped["metric_lines"] += len(bad)
        if not points:
            self.problem(rel, "metric file without a value: MLflow fails on the run ('No data found'); metric skipped")
            self.store.skipped["metrics_empty"] += 1
        return points

    def _inputs(self, run_dir: str, exp_dir: str) -> list[RawInput]:
        out = []
        for input_id in sorted(self.tree.children.get(f"{run_dir}/inputs", [])):
            meta, why = self.yaml(f"{run_dir}/inputs/{input_id}/meta.yaml")
            if meta is None:
                self.problem(f"{run_dir}/inputs/{input_id}/meta.yaml", f"input meta.yaml {why}")
                continue
            if meta.get("source_type") != "DATASET":
                continue
            dataset, why = self.yaml(f"{exp_dir}/datasets/{str_field(meta.get('source_id'))}/meta.yaml")
            if dataset is None:
                self.problem(f"{run_dir}/inputs/{input_id}/meta.yaml", f"dataset of the input: meta.yaml {why}")
                continue
            tags = meta.get("tags") if isinstance(meta.get("tags"), dict) else {}
            out.append(RawInput(str_field(dataset.get("name")), str_field(dataset.get("digest")),
                                str_field(dataset.get("source_type")), str_field(tags.get("mlflow.data.context"))))
        return out

    def _registry(self) -> None:
        for name in sorted(self.tree.children.get("models", [])):
            if f"models/{name}/meta.yaml" in self.tree.files:
                self.store.n_registered_models += 1
                self.store.n_model_versions += sum(1 for v in self.tree.children.get(f"models/{name}", [])
                                                   if v.startswith("version-"))


def parse_metric_lines(text: str) -> tuple[list[Point], list[tuple[int, str]]]:
    """The points of a FileStore metric file and its malformed lines (line number, why), as MLflow
    parses them: ``str.splitlines``, then each line stripped and split on single spaces into 2
    (timestamp value), 3 (+ step) or 5 (+ dataset name and digest) fields."""
    rows = [line.strip().split(" ") for line in text.splitlines()]
    if rows and set(map(len, rows)) == {3}:  # the common file: converted column by column
        ts, values, steps = zip(*rows)
        try:
            return list(zip(map(int, ts), map(float, values), map(int, steps))), []
        except ValueError:
            pass  # a bad line: find it below
    points: list[Point] = []
    bad: list[tuple[int, str]] = []
    for number, parts in enumerate(rows, start=1):
        n = len(parts)
        try:
            if n == 3:
                points.append((int(parts[0]), float(parts[1]), int(parts[2])))
            elif n == 2 or n == 5:
                # MLflow writes the step into 5-field lines (a dataset) but reads it back as 0: so do we
                points.append((int(parts[0]), float(parts[1]), 0))
            else:
                bad.append((number, f"{n} fields, 2, 3 or 5 expected"))
        except ValueError:
            bad.append((number, f"not numbers: {' '.join(parts)[:40]!r}"))
    return points, bad



def read_file_store(root: Path, rel: str, limits: StoreLimits = StoreLimits()) -> RawStore:
    """A FileStore tree at ``rel`` (repository-relative) of the checkout ``root``."""
    return _FileStoreReader(Checkout(root), rel, limits).read()
