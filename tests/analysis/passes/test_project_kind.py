"""The population of a repository: teaching, library (or plugin) or application, with the rule and its evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.passes import project_kind
from analysis.passes.project_kind import classify, with_teaching
from analysis.repo_state import RepoResult
from analysis.rows import PopulationRow
from analysis.tables import flat
from tests.analysis.passes.checkouts import checkout_of

PLUGIN_SETUP = '''from setuptools import setup, find_packages

setup(
    name="mlflow-acme-store",
    packages=find_packages(),
    install_requires=["mlflow"],
    entry_points={
        "console_scripts": ["acme=acme.cli:main"],
        "mlflow.tracking_store": "acme=acme.store:AcmeStore",
    },
)
'''

PYPROJECT = '''[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "Acme_Tracking"
version = "1.0"
'''


def test_a_setup_py_registering_a_tracking_store_is_a_library(tmp_path: Path) -> None:
    checkout = checkout_of(tmp_path, {"setup.py": PLUGIN_SETUP, "acme/store.py": "class AcmeStore: ...\n"})
    result = RepoResult("o/r")
    project_kind.repo_pass(checkout, result)
    assert result.populations == [PopulationRow("o/r", "library", "mlflow-plugin", "setup.py:9 mlflow.tracking_store")]


def test_a_pyproject_package_its_readme_installs_is_a_library(tmp_path: Path) -> None:
    readme = "# Acme\n\nInstall it:\n\n```\npip install -U acme-tracking[extra]>=1.0\n```\n"
    row = classify(checkout_of(tmp_path, {"pyproject.toml": PYPROJECT, "README.md": readme}))
    assert (row.population, row.rule) == ("library", "published-package")
    assert row.evidence == ("pyproject.toml:6 [project] name = Acme_Tracking, with a [build-system]; "
                            "README.md:6 installs acme-tracking by its name")


def test_a_package_published_by_ci_is_a_library(tmp_path: Path) -> None:
    workflow = "jobs:\n  publish:\n    steps:\n      - uses: pypa/gh-action-pypi-publish@release/v1\n"
    row = classify(checkout_of(tmp_path, {"setup.cfg": "[metadata]\nname = acme\n\n[options]\npackages = find:\n",
                                          ".github/workflows/release.yml": workflow}))
    assert (row.population, row.rule) == ("library", "published-package")
    assert row.evidence == ("setup.cfg:2 [metadata] name = acme; .github/workflows/release.yml:4 publishes: "
                            "pypa/gh-action-pypi-publish")


def test_a_package_nobody_installs_by_name_is_an_application(tmp_path: Path) -> None:
    poetry = '[tool.poetry]\nname = "churn-model"\n\n[build-system]\nrequires = ["poetry-core"]\n'
    readme = "pip install -r requirements.txt\npip install .\npip install -e churn-model\npip install mlflow\n"
    row = classify(checkout_of(tmp_path, {"pyproject.toml": poetry, "README.md": readme}))
    assert (row.population, row.rule) == ("application", "otherwise")
    assert row.evidence.startswith("pyproject.toml:2 [tool.poetry] name = churn-model, with a [build-system]; "
                                   "not published")


@pytest.mark.parametrize(
    "files",
    [
        pytest.param({"train.py": "import mlflow\nmlflow.log_param('a', 1)\n", "requirements.txt": "mlflow\n"},
                     id="plain scripts"),
        pytest.param({"pyproject.toml": '[project]\nname = "app"\ndependencies = ["mlflow"]\n',
                      "README.md": "pip install app\n"}, id="a project without a build-system"),
        pytest.param({"examples/plugin/setup.py": PLUGIN_SETUP}, id="a plugin in a subfolder"),
        pytest.param({"setup.py": "from setuptools import setup\nsetup(name='x')\n", "README.md": "pip install x\n"},
                     id="setup without packages"),
        pytest.param({"setup.py": "setup(name='x', packages=[\n"}, id="a setup.py that does not parse"),
    ],
)
def test_applications(tmp_path: Path, files: dict[str, str]) -> None:
    row = classify(checkout_of(tmp_path, files))
    assert (row.population, row.rule, row.evidence) == ("application", "otherwise", "")


def test_teaching_comes_first_and_the_rows_stay_a_partition() -> None:
    rows = [flat(PopulationRow("acme/mlops-course", "library", "mlflow-plugin", "setup.py:9 mlflow.tracking_store")),
            flat(PopulationRow("acme/store", "library", "mlflow-plugin", "setup.py:9 mlflow.tracking_store")),
            flat(PopulationRow("bob/app", "application", "otherwise", ""))]
    manifest = [{"repo": "acme/mlops-course", "description": "", "topics": ""},
                {"repo": "acme/store", "description": "", "topics": ""},
                {"repo": "bob/app", "description": "Homework 3 of the MLOps class", "topics": "mlflow"}]
    got = with_teaching(rows, manifest)
    assert [(r["repo"], r["population"], r["rule"], r["evidence"]) for r in got] == [
        ("acme/mlops-course", "teaching", "course-word", "name: course"),
        ("acme/store", "library", "mlflow-plugin", "setup.py:9 mlflow.tracking_store"),
        ("bob/app", "teaching", "course-word", "description: homework"),
    ]
