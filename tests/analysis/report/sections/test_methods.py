"""The methods sections: the detector's measured validity against a reference."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.analysis.report.sample import read_rows, write_csv


def test_reference_gives_precision_recall_and_agreement(analyzed: tuple[Path, Path], tmp_path: Path) -> None:
    from analysis.report.document import build_report

    results = tmp_path / "out"
    shutil.copytree(analyzed[0], results)
    calls = [c for c in read_rows(results, "call_sites.csv") if c["path"].endswith(".py")]
    ref = tmp_path / "ref"
    # the reference: every fluent site but one, and one site the tool does not have
    sites = [(c["repo"], c["path"], c["line"], c["api"], "both") for c in calls if c["api"].count(".") == 1][1:]
    write_csv(ref / "dev-call-sites.csv", ("repo", "path", "line", "api", "evidence"),
           sites + [("alice/project", "train.py", "99", "mlflow.log_param", "both")])
    (ref / "dev-mlprojects.jsonl").write_text(json.dumps(
        {"repo": "alice/project", "path": "MLproject", "ok": True, "name": "other", "env_type": "conda_env",
         "env_config_path": "conda.yaml", "entry_points": [{"name": "main", "command": "python train.py {a}",
                                                            "parameters": [{"name": "a", "type": "float", "default": 1}]}]})
        + "\n")
    write_csv(ref / "dev-dependencies.csv", ("repo", "path", "kind", "dependency", "spec", "pin_class", "parse_error"),
           [("alice/project", "conda.yaml", "conda-pip", "MLflow", "==2.9.2", "exact", ""),
            ("alice/project", "conda.yaml", "conda-pip", "numpy", "", "range", ""),
            ("alice/project", "conda.yaml", "conda", "{{x}}", "", "", "InvalidRequirement")])
    build_report(results, reference=ref)
    md = (results / "report" / "report.md").read_text()
    n = len(sites)
    assert f"| fluent | {n + 1} | {n + 1} | {n} | {round(n / (n + 1), 4)} | {round(n / (n + 1), 4)} |" in md
    assert "MLproject files: 0 of 1 in the reference agree on every field" in md
    assert "| alice/project | MLproject | name 'p' vs 'other' |" in md
    assert "| all | 2 | 2 | 1 | 0.5 |" in md  # numpy is unpinned here, 'range' in the reference
