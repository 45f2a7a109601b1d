"""Model factories come from installed distributions' entry points only."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import tomllib
from serve_testkit import write_factory_dist

from releasegate.errors import InputError
from releasegate.serve import factories

ROOT = Path(__file__).resolve().parents[3]


def test_builtin_table_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"][factories.GROUP] == factories.BUILTIN_FACTORIES


def test_builtin_factories_resolve() -> None:
    pytest.importorskip("torch")  # loading the built-in factory imports the model code
    factory, ref = factories.resolve_factory("tiny-encoder")
    assert ref.value == "releasegate.serve.models:tiny_encoder"
    assert factory.input_spec == [{"name": "input_ids", "datatype": "INT64", "shape": [16]}]


def test_installed_third_party_factory_resolves(factory_dist: Path) -> None:
    pytest.importorskip("torch")  # the fake factory builds a torch module
    factory, ref = factories.resolve_factory("slow-linear")
    assert ref.distribution == "rg-test-factories"
    assert factory().lin.in_features == 4


def test_unknown_factory_lists_known_ones() -> None:
    with pytest.raises(InputError) as err:
        factories.resolve_factory("no-such-model")
    assert "no installed package registers" in str(err.value)
    assert "bert-base" in str(err.value)


def test_factory_text_is_a_name_not_an_import_path() -> None:
    with pytest.raises(InputError, match="no installed package registers"):
        factories.resolve_factory("os:system")


def test_distribution_in_the_working_directory_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checkout = write_factory_dist(tmp_path / "checkout")
    (checkout / "rg_test_factories-0.1.dist-info" / "entry_points.txt").write_text(
        "[releasegate.model_factories]\nfrom-the-pr = rg_test_factories:slow\n"
    )
    monkeypatch.chdir(checkout)
    monkeypatch.setattr(sys, "path", ["", os.fspath(checkout), *sys.path])
    assert "from-the-pr" not in factories.available_factories()
