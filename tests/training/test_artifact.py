"""Artifacts are checked on load: format, version, checksum, numpy, shapes."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from triage.adapters.artifact import ArtifactError, load_model
from triage.core.model import Model


@pytest.fixture
def copy(trained: tuple[Model, dict[str, object], Path], tmp_path: Path) -> Path:
    dst = tmp_path / "m"
    shutil.copytree(trained[2], dst)
    return dst


def edit_manifest(folder: Path, **changes: object) -> None:
    path = folder / "manifest.json"
    m = json.loads(path.read_text("utf-8"))
    m.update(changes)
    path.write_text(json.dumps(m), "utf-8")


def test_intact_artifact_loads(copy: Path) -> None:
    """An untouched folder loads and keeps its path and manifest."""
    model = load_model(copy)
    assert model.path == copy and model.manifest["format_version"] == 1


def test_tampered_weights_are_refused(copy: Path) -> None:
    """Changed weights no longer match the manifest's checksum."""
    with (copy / "weights.npz").open("ab") as f:
        f.write(b"\0")
    with pytest.raises(ArtifactError, match="checksum"):
        load_model(copy)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"format_version": 99}, "format version 99 is not supported"),
        ({"format": "something-else"}, "is not a hotline-triage-model manifest"),
        ({"numpy": "1.26.4"}, "written with numpy 1.26.4"),
    ],
)
def test_untrusted_manifest_is_refused(copy: Path, changes: dict[str, object], reason: str) -> None:
    """A different format, format version or numpy major version is a clear error."""
    edit_manifest(copy, **changes)
    with pytest.raises(ArtifactError, match=reason):
        load_model(copy)


def test_labels_that_do_not_fit_the_weights_are_refused(copy: Path) -> None:
    """A manifest whose label set does not match the weight shapes is refused."""
    m = json.loads((copy / "manifest.json").read_text("utf-8"))
    edit_manifest(copy, labels=[*m["labels"], "多出来的标签"])
    with pytest.raises(ArtifactError, match="do not fit"):
        load_model(copy)


def test_missing_pieces(copy: Path, tmp_path: Path) -> None:
    """No manifest, broken JSON, or no weights: each says which."""
    (copy / "weights.npz").unlink()
    with pytest.raises(ArtifactError, match=r"weights\.npz is missing"):
        load_model(copy)
    with pytest.raises(ArtifactError, match=r"manifest\.json is missing"):
        load_model(tmp_path)
    (copy / "manifest.json").write_text("{", "utf-8")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        load_model(copy)


def test_weights_cannot_carry_pickles(copy: Path) -> None:
    """An object array in the weights is refused rather than unpickled."""
    arrays = dict(np.load(copy / "weights.npz"))
    arrays["coef"] = np.array([object()], dtype=object)
    np.savez(copy / "weights.npz", **arrays)
    from triage.adapters.artifact import sha256_file

    edit_manifest(copy, weights_sha256=sha256_file(copy / "weights.npz"))
    with pytest.raises(ArtifactError, match="malformed artifact"):
        load_model(copy)
