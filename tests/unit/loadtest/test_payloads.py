"""Request bodies: generated from a signature, from a template, from a payload file."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from releasegate.errors import InputError
from releasegate.loadtest.payloads import from_file, from_template, generate_v2, parse_signature

SIG = [{"name": "input_ids", "datatype": "INT64", "shape": [-1, 8]}, {"name": "mask", "datatype": "BOOL", "shape": [-1, -1]}]


def test_v2_bodies_are_one_row_and_deterministic() -> None:
    specs = parse_signature(SIG, "meta")
    a, b = generate_v2(specs, "m"), generate_v2(specs, "m")
    assert a.bodies == b.bodies and len(a.bodies) == 64 and a.path == "/v2/models/m/infer"
    body = json.loads(a.bodies[0])
    ids, mask = body["inputs"]
    assert ids["shape"] == [1, 8] and len(ids["data"]) == 8 and all(0 <= v < 100 for v in ids["data"])
    assert mask["shape"] == [1, 16] and all(isinstance(v, bool) for v in mask["data"])


def test_template_fills_nested_tensors() -> None:
    specs = parse_signature([{"name": "x", "datatype": "FP32", "shape": [-1, 2, 3]}], "sig")
    p = from_template('{"instances": {{inputs.x}}}', specs, "/predict")
    data = json.loads(p.bodies[0])["instances"]
    assert len(data) == 1 and len(data[0]) == 2 and len(data[0][0]) == 3
    with pytest.raises(InputError, match="no input named y"):
        from_template("{{inputs.y}}", specs, "/predict")


def test_payload_file_object_or_list(tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_text('{"inputs": []}')
    assert from_file(one, "/p", "one").bodies == ('{"inputs":[]}',)
    many = tmp_path / "many.json"
    many.write_text('[{"a": 1}, {"a": 2}]')
    assert len(from_file(many, "/p", "many").bodies) == 2


@pytest.mark.parametrize(("content", "fragment"), [("not json", "not valid JSON"), ("[]", "no request bodies")])
def test_bad_payload_files(tmp_path: Path, content: str, fragment: str) -> None:
    f = tmp_path / "p.json"
    f.write_text(content)
    with pytest.raises(InputError, match=fragment):
        from_file(f, "/p", "spec.loadTest.payloadFile")
    with pytest.raises(InputError, match="cannot read"):
        from_file(tmp_path / "missing.json", "/p", "x")


def test_bad_signature() -> None:
    with pytest.raises(InputError, match="unsupported datatype"):
        parse_signature([{"name": "x", "datatype": "STRING", "shape": [-1]}], "sig")
    with pytest.raises(InputError, match="no usable name"):
        parse_signature([{"name": "x"}], "sig")


# --- Attack: spec.loadTest.payloadFile names a file outside the repository (it is copied into the output).

@pytest.mark.parametrize("given", ["../secret.json", "/etc/passwd", "link.json", ".git/config"])
def test_a_payload_file_outside_the_repository_is_refused(tmp_path: Path, given: str) -> None:
    import os

    from releasegate.loadtest.release_setup import contained

    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".git" / "config").write_text("[remote]\n")
    (tmp_path / "secret.json").write_text('{"token": "ghs_secret"}')
    os.symlink(tmp_path / "secret.json", repo / "link.json")
    with pytest.raises(InputError, match="spec.loadTest.payloadFile .*: must be a file inside the repository") as e:
        contained(repo, given, f"r.yaml: spec.loadTest.payloadFile {given}")
    assert "ghs_secret" not in str(e.value)
    (repo / "payloads").mkdir()
    (repo / "payloads" / "ok.json").write_text("{}")
    assert contained(repo, "payloads/ok.json", "r") == (repo / "payloads" / "ok.json").resolve()
