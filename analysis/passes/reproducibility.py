"""The reproducibility pass: per-repository signals (Q4) and the readiness score, from the other passes' rows.

Weights of the readiness score (they sum to 1; each says what a re-run needs):

| signal | weight | why |
|---|---|---|
| a valid MLproject | 0.25 | says how to run the project (entry points, parameters) as ``mlflow run`` will |
| an environment spec | 0.20 | says what to install (MLproject env, else any environment file) |
| share of exactly pinned dependencies | 0.20 x share | unpinned dependencies drift: the same spec installs other code later |
| Python version given | 0.10 | the interpreter is the first dependency; many packages need a narrow range |
| seeds set | 0.10 | without seeds, a re-run trains another model even with the same code and data |
| MLflow pinned exactly | 0.05 | the tracking client's version changes what is logged and where |
| data logged (``log_input``) | 0.05 | the run names the data it trained on |
| docker image pinned by digest | 0.05 | a tag can move; a digest cannot (counted only when the project uses docker) |

Without docker the last 0.05 is given to nobody: the score is divided by 0.95 so that projects
with and without docker share one scale.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from analysis.repo_state import Checkout, RepoResult
from analysis.rows import ReproducibilityRow

SEED_PATTERN = re.compile(
    rb"\b(?:random\.seed|np\.random\.seed|numpy\.random\.seed|torch\.manual_seed|torch\.cuda\.manual_seed(?:_all)?"
    rb"|tf\.random\.set_seed|tf\.set_random_seed|set_seed|seed_everything)\s*\(|\brandom_state\s*=\s*\d"
)


ENV_PRIORITY = ("conda", "python_env", "requirements", "pyproject.toml", "setup.cfg", "setup.py", "dockerfile")


def sets_seed(data: bytes) -> bool:
    """True when source text calls a seeding function or passes a literal ``random_state=``."""
    # every match holds one of these words, which most files lack: the pattern is not run on those
    return (b"seed" in data or b"random_state" in data) and SEED_PATTERN.search(data) is not None


def signals(repo: str, mlprojects: Iterable[Mapping[str, Any]], environments: Iterable[Mapping[str, Any]],
            dependencies: Iterable[Mapping[str, Any]], call_sites: Iterable[Mapping[str, Any]],
            seeds: bool) -> ReproducibilityRow:
    """The reproducibility row of one repository."""
    projects = [m for m in mlprojects if m["valid"]]
    envs = [e for e in environments if e["origin"] == "project"]
    deps = [d for d in dependencies if d["origin"] == "project" and d["name"] != "python"
            and d["kind"] not in ("python_env-build", "python_env-python", "dockerfile-from")]
    if projects:
        first = projects[0]
        env_spec = {"docker_env": "docker", "conda_env": "conda", "python_env": "python_env"}.get(first["env_type"], "none")
        if env_spec != "docker" and not first["env_file"]:
            env_spec = "none"  # MLflow's plain-environment fallback: nothing says what to install
    else:
        kinds = {e["kind"] for e in envs}
        env_spec = next((k for k in ENV_PRIORITY if k in kinds), "none")
    exact = sum(1 for d in deps if d["pin_class"] == "exact")
    share = exact / len(deps) if deps else 0.0
    python = any(e["python_version"] for e in envs)
    mlflow = any(d["name"] in ("mlflow", "mlflow-skinny") and d["pin_class"] == "exact" for d in deps)
    images = [m["docker_pinned"] for m in projects if m["docker_image"]]
    images += ["digest" if d["pin_class"] == "exact" else "other" for d in dependencies
               if d["kind"] == "dockerfile-from" and d["origin"] == "project"]
    digest: bool | str = all(p == "digest" for p in images) if images else ""
    sites = list(call_sites)
    data = any(s["category"] == "dataset" for s in sites)
    params = any(s["category"] in ("param", "autolog") for s in sites)
    score = (0.25 * bool(projects) + 0.20 * (env_spec != "none") + 0.20 * share + 0.10 * python
             + 0.10 * seeds + 0.05 * mlflow + 0.05 * data)
    score = score + 0.05 * bool(digest) if images else score / 0.95
    return ReproducibilityRow(repo, bool(projects), env_spec, round(share, 4), len(deps), python, mlflow, digest,
                              seeds, data, params, round(score, 4))


def repo_pass(checkout: Checkout, result: RepoResult) -> None:
    """The repository's reproducibility signals and readiness score, from the rows the passes before it found."""
    result.reproducibility.append(signals(
        checkout.task.repo, result.flat_rows("mlprojects"), result.flat_rows("environments"),
        result.flat_rows("dependencies"), result.flat_rows("call_sites"), result.seeds))
