"""Packaging files read as text: the distribution they declare, the MLflow plugins they register, publication."""

from __future__ import annotations

from analysis.reading.packaging import Evidence, installs, publishing, read_pyproject, read_setup_cfg, read_setup_py


def test_setup_py_keywords_spread_from_a_dict_and_entry_points_bound_to_a_name() -> None:
    text = ('import setuptools\n'
            'POINTS = {\n'
            '    "mlflow.artifact_repository": ["acme=acme.repo:Repo"],\n'
            '}\n'
            'CONFIG = dict(x=1)\n'
            'META = {"name": "Acme.Store", "py_modules": ["acme"]}\n'
            'setuptools.setup(**META, entry_points=POINTS)\n')
    got = read_setup_py(text, "setup.py")
    assert got.declared == Evidence("setup.py", 7, "setup(name=Acme.Store, py_modules=...)")
    assert got.name == "acme-store"
    assert got.plugins == [Evidence("setup.py", 3, "mlflow.artifact_repository")]


def test_setup_py_entry_points_as_ini_text() -> None:
    text = 'from setuptools import setup\nsetup(name=NAME, packages=["a"], entry_points="""\n[console_scripts]\na=a:m\n' \
           '[mlflow.run_context_provider]\nunused=a.ctx:Ctx\n""")\n'
    got = read_setup_py(text, "setup.py")
    assert got.declared == Evidence("setup.py", 2, "setup(name=<computed>, packages=...)") and got.name == ""
    assert got.plugins == [Evidence("setup.py", 5, "mlflow.run_context_provider")]


def test_setup_cfg_metadata_and_entry_points() -> None:
    text = ("[metadata]\nname = acme-store\nversion = 1\n\n[options.entry_points]\nconsole_scripts =\n"
            "    acme = acme:main\nmlflow.model_registry_store =\n    acme = acme.registry:Store\n")
    got = read_setup_cfg(text, "setup.cfg")
    assert got.declared == Evidence("setup.cfg", 2, "[metadata] name = acme-store")
    assert got.plugins == [Evidence("setup.cfg", 8, "mlflow.model_registry_store")]


def test_pyproject_entry_points_pep621_dotted_and_poetry_plugins() -> None:
    pep621 = ('[build-system]\nrequires = ["setuptools"]\n\n[project]\nname = "mlflow-acme"\n'
              'entry-points."mlflow.app".acme = "acme.server:app"\n')
    got = read_pyproject(pep621, "pyproject.toml")
    assert got.declared == Evidence("pyproject.toml", 5, "[project] name = mlflow-acme, with a [build-system]")
    assert got.plugins == [Evidence("pyproject.toml", 6, "mlflow.app")]
    poetry = ('[tool.poetry]\nname = "acme"\n\n[tool.poetry.plugins."mlflow.deployments"]\n'
              '"acme" = "acme.deploy"\n')
    got = read_pyproject(poetry, "pyproject.toml")
    assert got.declared is None  # no [build-system]: nothing says how to build it
    assert got.plugins == [Evidence("pyproject.toml", 4, "mlflow.deployments")]
    assert read_pyproject("[project\nname=", "pyproject.toml").declared is None  # not TOML


def test_installs_by_name_only() -> None:
    readme = ("pip install acme-store\n"  # 1
              "python -m pip install 'acme_store[s3]==1.2'\n"  # 2
              "pip install git+https://github.com/o/acme-store#egg=acme-store\n"  # 3
              "pip install -r requirements.txt .\n"  # 4
              "pip install -e acme-store\n"  # 5: a local checkout
              "pip install acme-store-extras\n"  # 6: another distribution
              "uv add Acme.Store\n")  # 7
    assert [e.line for e in installs(readme, "README.md", "acme-store")] == [1, 2, 3, 7]
    assert installs(readme, "README.md", "") == []


def test_publishing_steps() -> None:
    text = "build:\n\tpython -m build\nrelease:\n\ttwine upload dist/*\n\tpoetry publish --build\n# twine check dist/*\n"
    assert [(e.line, e.what) for e in publishing(text, "Makefile")] == [(4, "publishes: twine upload"),
                                                                        (5, "publishes: poetry publish")]
