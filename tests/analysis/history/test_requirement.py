"""The requirement a commit declares, each file's part kept per (path, blob) and taken again only where
what it read and asked of the tree is as it was."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable

from analysis.history.gitlog import SUBMODULE, SYMLINK
from analysis.history.requirement import Requirements, Tree
from analysis.passes.mlflow_calls import Resolver
from analysis.passes.registry import file_kind
from analysis.releases.catalog import load_snapshot

RESOLVER = Resolver.from_catalog(load_snapshot())
SETUP = "from setuptools import setup\nsetup(name='p', install_requires=['mlflow~=2.8'])\n"
NAMING = "name: p\nconda_env: envs/mine.yml\nentry_points:\n  main:\n    command: python t.py\n"
CONDA = "dependencies:\n  - pip:\n    - mlflow==2.9.2\n"


class Blobs:
    """Blobs by sha, counting the reads of each."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.reads: Counter[str] = Counter()

    def tree(self, files: dict[str, str], modes: dict[str, str] | None = None) -> Tree:
        out = {}
        for path, text in files.items():
            sha = hashlib.sha1(text.encode()).hexdigest()
            self.data[sha] = text.encode()
            out[path] = ((modes or {}).get(path, "100644"), sha)
        return out

    def read(self, sha: str) -> bytes | None:
        self.reads[sha] += 1
        return self.data.get(sha)

    def requirements(self) -> Requirements:
        def ahead(shas: Iterable[str]) -> None:
            list(shas)

        return Requirements("r", RESOLVER, 1_000_000, self.read, ahead, file_kind)


def env_files(tree: Tree) -> list[str]:
    """What the walk hands over: MLprojects, environment files and setup.py files."""
    return [p for p in tree if file_kind(p) in ("mlproject", "environment") or p.endswith("setup.py")]


def test_the_requirement_kept_per_file_is_the_one_read_whole() -> None:
    """Over a walk, each commit's requirement and files read are those of every file read afresh at that
    commit; a file is read again only where it, a file it read, or a path it looked up changed."""
    blobs = Blobs()
    base = {"requirements.txt": "-r base/deps.in\n", "base/deps.in": "mlflow>=2\n", "setup.py": SETUP,
            "MLproject": NAMING, "model/conda.yaml": CONDA, "train.py": "print(1)\n"}
    commits = [
        base,  # the MLproject names a file that is not there
        {**base, "envs/mine.yml": "dependencies:\n  - mlflow=1.30.0\n"},  # now it is: read as the file named
        {**base, "envs/mine.yml": "dependencies:\n  - mlflow=1.30.0\n", "base/deps.in": "mlflow==2.3.1\n"},
        {**base, "envs/mine.yml": "dependencies:\n  - mlflow=1.30.0\n", "base/deps.in": "mlflow==2.3.1\n",
         "model/MLmodel": "flavors: {}\n"},  # beside conda.yaml: a model's environment, not the project's
        {**base, "envs/mine.yml": "dependencies:\n  - mlflow=1.30.0\n", "base/deps.in": "mlflow==2.3.1\n"},
        {**base, "envs/mine.yml": "dependencies:\n  - mlflow=1.30.0\n", "base/deps.in": "mlflow==2.3.1\n",
         "train.py": "print(2)\n"},
    ]
    walk = blobs.requirements()
    got, new_reads = [], []
    for files in commits:
        tree = blobs.tree(files)
        before = sum(blobs.reads.values())
        declared = walk.declared(tree, env_files(tree))
        new_reads.append(sum(blobs.reads.values()) - before)
        assert declared == blobs.requirements().declared(tree, env_files(tree)), files  # every file afresh
        got.append(declared)
    assert [g[0] for g in got] == [
        "mlflow==2.9.2;mlflow>=2;mlflow~=2.8",
        "mlflow=1.30.0;mlflow==2.9.2;mlflow>=2;mlflow~=2.8",
        "mlflow=1.30.0;mlflow==2.3.1;mlflow==2.9.2;mlflow~=2.8",
        "mlflow=1.30.0;mlflow==2.3.1;mlflow~=2.8",  # model/conda.yaml is the model's now
        "mlflow=1.30.0;mlflow==2.3.1;mlflow==2.9.2;mlflow~=2.8",
        "mlflow=1.30.0;mlflow==2.3.1;mlflow==2.9.2;mlflow~=2.8",
    ]
    assert [g[1] for g in got] == [{"base/deps.in"}] + [{"base/deps.in", "envs/mine.yml"}] * 5
    # the first commit reads its three environment files, the MLproject and the include; then only what
    # changed or depends on it: the MLproject (the path it names appeared) and the file it names; the
    # include and the file including it; conda.yaml (an MLmodel beside it); nothing where a state recurs
    assert new_reads == [5, 2, 2, 1, 0, 0]


def test_a_symlink_or_submodule_is_no_file_to_read() -> None:
    blobs = Blobs()
    tree = blobs.tree({"requirements.txt": "mlflow==2.0\n", "sub": "", "MLproject": NAMING.replace(
        "envs/mine.yml", "sub")}, {"sub": SUBMODULE})
    assert blobs.requirements().declared(tree, ["MLproject", "requirements.txt"]) == ("mlflow==2.0", set())
    linked = blobs.tree({"requirements.txt": "mlflow==2.0\n"}, {"requirements.txt": SYMLINK})
    assert blobs.requirements().declared(linked, ["requirements.txt"]) == ("", set())
