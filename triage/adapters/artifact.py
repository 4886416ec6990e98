"""Model artifacts on disk: a folder with `manifest.json`, `weights.npz`, the model card and plots.

Loading checks everything it can before a model may route a ticket: the format and its
version, the checksum of the weights, the numpy major version the arrays were written with,
the shapes against the label set, and for word features the segmentation dictionary. Arrays
are read with `allow_pickle=False`: an artifact can never run code.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from triage.core.errors import TriageError
from triage.core.features import CharNgrams, FeatureSet, Featurizer, WordNgrams
from triage.core.model import Calibrator, Model
from triage.core.settings import MODELS_DIR
from triage.core.tokenize import user_dict_hash

FORMAT = "hotline-triage-model"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
WEIGHTS = "weights.npz"
ACTIVE = "ACTIVE"


class ArtifactError(TriageError):
    """A model folder that cannot be trusted; `path` names it and the message says why."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"model {path}: {reason}")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_model(model: Model, folder: Path, manifest: Mapping[str, Any]) -> Path:
    """Write weights and manifest; the manifest records the weights' checksum."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray[Any, Any]] = {
        "coef": model.coef,
        "intercept": model.intercept,
        "calib_weight": model.calibrator.weight,
        "calib_bias": model.calibrator.bias,
    }
    parts: list[dict[str, Any]] = []
    for i, (part, weight) in enumerate(
        zip(model.features.parts, model.features.weights, strict=True)
    ):
        arrays[f"idf_{i}"] = part.idf
        if isinstance(part, CharNgrams):
            arrays[f"keys_{i}"] = part.keys
            parts.append(
                {
                    "kind": "char",
                    "n_min": part.n_min,
                    "n_max": part.n_max,
                    "title_repeat": part.title_repeat,
                    "weight": weight,
                }
            )
        else:
            arrays[f"vocab_{i}"] = np.asarray(part.vocab, dtype=np.str_)
            parts.append(
                {
                    "kind": "word",
                    "n_max": part.n_max,
                    "title_repeat": part.title_repeat,
                    "weight": weight,
                    "user_dict": user_dict_hash(),
                }
            )
    weights = folder / WEIGHTS
    _write_npz(weights, arrays)
    full = {
        **manifest,
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "version": model.version,
        "labels": list(model.labels),
        "features": parts,
        "thresholds": dict(model.thresholds),
        "numpy": np.__version__,
        "weights_sha256": sha256_file(weights),
    }
    (folder / MANIFEST).write_text(json.dumps(full, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return folder


def _write_npz(path: Path, arrays: Mapping[str, np.ndarray[Any, Any]]) -> None:
    """What ``numpy.savez_compressed`` writes, with fixed entry times instead of the clock:
    the same arrays give the same bytes, so a model's checksum says what it learned."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with z.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(array), allow_pickle=False)


def active_model_path(models_dir: Path = MODELS_DIR) -> Path:
    """The folder named by `models/ACTIVE`."""
    pointer = models_dir / ACTIVE
    if not pointer.is_file():
        raise ArtifactError(models_dir, f"no {ACTIVE} file naming the active model version")
    return models_dir / pointer.read_text("utf-8").strip()


def resolve_model_path(path: Path | None = None) -> Path:
    """A model folder as given, or the active one of a models folder (default: models/)."""
    if path is None:
        return active_model_path()
    if not (path / MANIFEST).is_file() and (path / ACTIVE).is_file():
        return active_model_path(path)
    return path


def load_model(folder: Path | None = None) -> Model:
    """Load and verify a model folder; None or a models folder means its active model."""
    folder = resolve_model_path(folder)
    manifest = _read_manifest(folder)
    weights = folder / WEIGHTS
    if not weights.is_file():
        raise ArtifactError(folder, f"{WEIGHTS} is missing")
    if sha256_file(weights) != manifest.get("weights_sha256"):
        raise ArtifactError(folder, f"{WEIGHTS} does not match the checksum in {MANIFEST}")
    written = str(manifest.get("numpy", "0")).split(".")[0]
    if written != np.__version__.split(".")[0]:
        raise ArtifactError(
            folder, f"written with numpy {manifest.get('numpy')}, this is numpy {np.__version__}"
        )
    try:
        with np.load(weights, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        features = FeatureSet(
            tuple(
                _featurizer(folder, spec, i, arrays) for i, spec in enumerate(manifest["features"])
            ),
            tuple(float(spec["weight"]) for spec in manifest["features"]),
        )
        labels = tuple(str(x) for x in manifest["labels"])
        model = Model(
            version=str(manifest["version"]),
            labels=labels,
            features=features,
            coef=arrays["coef"].astype(np.float32),
            intercept=arrays["intercept"].astype(np.float32),
            calibrator=Calibrator(
                arrays["calib_weight"].astype(np.float32), arrays["calib_bias"].astype(np.float32)
            ),
            thresholds={str(k): float(v) for k, v in manifest["thresholds"].items()},
            manifest=manifest,
            path=folder,
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise ArtifactError(folder, f"malformed artifact: {exc!r}") from exc
    _check_shapes(folder, model)
    return model


def _read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.is_file():
        raise ArtifactError(folder, f"{MANIFEST} is missing (is this a model folder?)")
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArtifactError(folder, f"{MANIFEST} is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArtifactError(folder, f"{MANIFEST} is not a {FORMAT} manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            folder,
            f"format version {manifest.get('format_version')!r} is not "
            f"supported (this code reads version {FORMAT_VERSION})",
        )
    return manifest


def _featurizer(
    folder: Path, spec: Mapping[str, Any], i: int, arrays: Mapping[str, Any]
) -> Featurizer:
    idf = arrays[f"idf_{i}"].astype(np.float32)
    if spec["kind"] == "char":
        return CharNgrams(
            arrays[f"keys_{i}"].astype(np.uint64),
            idf,
            int(spec["n_min"]),
            int(spec["n_max"]),
            int(spec["title_repeat"]),
        )
    if spec["kind"] == "word":
        if spec.get("user_dict") != user_dict_hash():
            raise ArtifactError(folder, "trained with a different segmentation user dictionary")
        return WordNgrams(
            tuple(str(v) for v in arrays[f"vocab_{i}"]),
            idf,
            int(spec["n_max"]),
            int(spec["title_repeat"]),
        )
    raise ArtifactError(folder, f"unknown feature kind {spec['kind']!r}")


def _check_shapes(folder: Path, model: Model) -> None:
    n_labels, n_features = len(model.labels), model.features.size
    if model.coef.shape != (n_labels, n_features) or model.intercept.shape != (n_labels,):
        raise ArtifactError(
            folder,
            f"weights of shape {model.coef.shape} do not fit "
            f"{n_labels} labels x {n_features} features",
        )
    if model.calibrator.weight.shape != (n_labels, n_labels):
        raise ArtifactError(folder, "calibration weights do not fit the label set")
    if set(model.thresholds) - set(model.labels):
        raise ArtifactError(folder, "thresholds name labels the model does not have")
