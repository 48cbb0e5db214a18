"""A wrong path or a broken manifest: one line that names the file and the fix, nothing applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutorial_lib.errors import ManifestError
from tutorial_lib.tools import manifests

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"


def refused(target: Path) -> ManifestError:
    with pytest.raises(ManifestError) as error:
        manifests.render(target)
    return error.value


def test_a_missing_path_names_it_and_where_relative_paths_start(tmp_path):
    error = refused(tmp_path / "nope.yaml")
    assert error.message == f"No file or folder {tmp_path / 'nope.yaml'}."
    assert "starts from the notebook's folder" in error.hint


def test_malformed_yaml_names_the_file_and_the_line(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(CONFIGMAP + "data:\n  a: [1, 2\n")
    error = refused(broken)
    assert error.message.startswith(f"{broken}, line ") and "not valid YAML" in error.message
    assert "indentation" in error.hint


@pytest.mark.parametrize("document", ["- a\n- b\n", "just text\n", "kind: ConfigMap\n"])
def test_a_document_that_is_no_object_is_refused(tmp_path, document):
    odd = tmp_path / "odd.yaml"
    odd.write_text(CONFIGMAP + "---\n" + document)
    error = refused(odd)
    assert f"{odd}: document 2 is not a Kubernetes object" in error.message


def test_a_folder_reads_yml_and_json_as_kubectl_does(tmp_path):
    (tmp_path / "a.yml").write_text(CONFIGMAP)
    (tmp_path / "b.json").write_text(
        '{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "b"}}'
    )
    (tmp_path / "notes.txt").write_text("not a manifest")
    assert [o["kind"] for o in manifests.render(tmp_path)] == ["ConfigMap", "Secret"]


def test_an_empty_folder_or_file_is_refused_not_applied_as_nothing(tmp_path):
    assert "holds no manifests" in refused(tmp_path).message
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing yet\n")
    assert refused(empty).message == f"{empty} holds no objects."
