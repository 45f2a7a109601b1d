"""Promoting spec.model into a target file keeps the target's formatting."""
from __future__ import annotations

import pytest

from releasegate.errors import InputError
from releasegate.promote.edit import promoted_text

SOURCE = """\
apiVersion: releasegate/v1
kind: ModelRelease
metadata: {name: m, owner: team-a}
spec:
  model:
    version: 2.0.0
    artifact: {uri: "s3://m/2.0.0/model.pt2", sha256: "%s", format: torch-export}
    metrics: {accuracy: 0.95, f1: 0.9}
    signature:
      inputs:
        - {name: x, datatype: FP32, shape: [-1, 8]}
  runtime: {kind: external}
""" % ("b" * 64)

TARGET = """\
---
# prod release of m
apiVersion: releasegate/v1
kind: ModelRelease
metadata:
    name: m
    owner: team-a   # on call: team-a
spec:
    model:
        version: "1.0.0"
        artifact:
            uri: 's3://m/1.0.0/model.pt2'
            sha256: "%s"
            format: torch-export
        lineage:
            dataset: old
        metrics:
            accuracy: 0.93
    runtime:
        kind: builtin
        replicas: 4
    rollout:
        strategy: rolling
""" % ("a" * 64)


def test_only_the_model_block_travels_in_the_targets_style() -> None:
    out = promoted_text(SOURCE, TARGET, "src", "dst")
    assert out.startswith("---\n# prod release of m\n")
    assert '        version: "2.0.0"\n' in out  # the target's double quotes
    assert "            uri: 's3://m/2.0.0/model.pt2'\n" in out  # the target's single quotes
    assert f'            sha256: "{"b" * 64}"\n' in out
    assert "lineage" not in out  # gone from the source, gone from the target
    assert "            f1: 0.9\n" in out and "            accuracy: 0.95\n" in out
    assert "    owner: team-a   # on call: team-a\n" in out
    assert "        kind: builtin\n        replicas: 4\n" in out  # the target's runtime stays
    assert "shape: [-1, 8]" in out  # a new block keeps the source's flow style


def test_unchanged_model_round_trips_byte_for_byte() -> None:
    same_model = TARGET.replace("replicas: 4", "replicas: 9")
    assert promoted_text(TARGET, same_model, "src", "dst") == same_model


def test_no_target_file_copies_the_source_verbatim() -> None:
    assert promoted_text(SOURCE, None, "src", "dst") == SOURCE


def test_broken_yaml_is_an_input_error() -> None:
    with pytest.raises(InputError, match="dst: cannot be read as YAML"):
        promoted_text(SOURCE, "spec: [unclosed\n", "src", "dst")
    with pytest.raises(InputError, match="src: has no spec.model mapping"):
        promoted_text("spec: {}\n", TARGET, "src", "dst")


def test_builtin_canary_gets_the_outgoing_version_as_stable() -> None:
    target = TARGET.replace("strategy: rolling", "strategy: canary\n        canaryPercent: 5")
    out = promoted_text(SOURCE, target, "src", "dst")
    assert "        stable:\n            version: \"1.0.0\"\n            artifact:\n" in out
    assert f'                sha256: "{"a" * 64}"\n' in out
    kserve = target.replace("kind: builtin", "kind: kserve")
    assert "stable" not in promoted_text(SOURCE, kserve, "src", "dst")


def test_plain_strings_that_would_change_type_keep_their_quotes() -> None:
    source = SOURCE.replace("version: 2.0.0", 'version: "2.10"')
    target = TARGET.replace('version: "1.0.0"', "version: 1.0.0")
    out = promoted_text(source, target, "src", "dst")
    assert '        version: "2.10"\n' in out  # a bare 2.10 would read back as a float
