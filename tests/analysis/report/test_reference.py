"""Scoring against adjudicated references: call sites per API family, MLproject fields, pin classes."""

from __future__ import annotations

import pandas as pd

from analysis.report.reference import call_site_agreement, family, mlproject_differences, pin_class_agreement


def _frame(columns: str, rows: list[tuple[str, ...]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns.split(","))


def test_family() -> None:
    assert [family(a) for a in ("mlflow.log_metric", "mlflow.sklearn.log_model", "mlflow.MlflowClient.log_param")] == [
        "fluent", "flavor", "client"]


def test_call_site_agreement_counts_only_covered_apis_in_py_files() -> None:
    calls = _frame("repo,path,line,api,style", [
        ("r", "a.py", "1", "mlflow.log_metric", "fluent"), ("r", "a.py", "2", "mlflow.log_param", "fluent"),
        ("r", "a.py", "3", "mlflow.MlflowClient.log_param", "client"),
        ("r", "n.ipynb", "1", "mlflow.log_metric", "fluent"),  # notebooks: not in the reference's scope
        ("r", "a.py", "4", "mlflow.get_run", "fluent"),  # an API the reference does not cover
        ("r", "a.py", "5", "mlflow.log_metric", "unresolved")])
    reference = _frame("repo,path,line,api,evidence", [
        ("r", "a.py", "1", "mlflow.log_metric", "both"), ("r", "a.py", "9", "mlflow.log_param", "both"),
        ("r", "a.py", "3", "MlflowClient.log_param", "both")])
    rows = {r["family"]: r for r in call_site_agreement(calls, reference).to_dict("records")}
    assert (rows["fluent"]["reference"], rows["fluent"]["tool"], rows["fluent"]["both"]) == (2, 2, 1)
    assert rows["client"]["precision"] == rows["client"]["recall"] == 1.0
    assert (rows["all"]["precision"], rows["all"]["recall"]) == (round(2 / 3, 4), round(2 / 3, 4))


def test_mlproject_differences() -> None:
    mlprojects = [{"repo": "r", "path": "MLproject", "valid": "true", "error": "", "name": "p",
                   "env_type": "conda_env", "env_file": "conda.yaml"}]
    entry_points = [{"repo": "r", "mlproject_path": "MLproject", "entry_point": "main", "command": "python t.py"}]
    parameters = [{"repo": "r", "mlproject_path": "MLproject", "entry_point": "main", "name": "a", "type": "float",
                   "default": "1", "required": "false"}]
    same = {"repo": "r", "path": "MLproject", "ok": True, "name": "p", "env_type": "conda_env",
            "env_config_path": "conda.yaml", "entry_points": [
                {"name": "main", "command": "python t.py", "parameters": [{"name": "a", "type": "float", "default": 1}]}]}
    other = {**same, "path": "sub/MLproject"}
    assert mlproject_differences(mlprojects, entry_points, parameters, [same, other]) == [
        ("r", "MLproject", []), ("r", "sub/MLproject", ["missing from mlprojects.csv"])]
    renamed = {**same, "name": "q"}
    assert mlproject_differences(mlprojects, entry_points, parameters, [renamed])[0][2] == ["name 'p' vs 'q'"]


def test_pin_class_agreement_normalises_names_and_skips_unparsed_rows() -> None:
    ours = _frame("repo,path,name,pin_class", [("r", "req.txt", "scikit-learn", "exact"), ("r", "req.txt", "numpy", "range")])
    reference = _frame("repo,path,kind,dependency,spec,pin_class,parse_error", [
        ("r", "req.txt", "requirements", "Scikit_Learn", "==1", "exact", ""),
        ("r", "req.txt", "requirements", "numpy", "", "unpinned", ""),
        ("r", "req.txt", "requirements", "{{ jinja }}", "", "", "InvalidRequirement")])
    rows = {r["pin_class"]: r for r in pin_class_agreement(ours, reference).to_dict("records")}
    assert (rows["all"]["reference"], rows["all"]["found"], rows["all"]["same_pin_class"]) == (2, 2, 1)
    assert rows["exact"]["agreement"] == 1.0 and rows["unpinned"]["agreement"] == 0.0
