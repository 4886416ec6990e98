"""Reading a department registry file (TOML or YAML), or the shipped Foshan one."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from triage.core.departments import Registry
from triage.core.errors import RegistryError
from triage.core.registry_schema import registry_from_mapping

__all__ = ["SHIPPED_REGISTRY", "load_registry"]

SHIPPED_REGISTRY = "foshan_departments.toml"


def load_registry(path: Path | str | None = None) -> Registry:
    """Read and validate a registry file; None means the shipped Foshan registry.

    ``.toml`` is read with tomllib, ``.yaml``/``.yml`` with PyYAML (same shape).
    """
    if path is None:
        resource = resources.files("triage").joinpath("data").joinpath(SHIPPED_REGISTRY)
        source, suffix = str(resource), Path(SHIPPED_REGISTRY).suffix
        try:
            text = resource.read_text(encoding="utf-8")
        except OSError as exc:
            raise RegistryError(f"cannot read the shipped registry: {exc}", source=source) from exc
    else:
        file = Path(path)
        source, suffix = str(file), file.suffix.lower()
        if suffix not in {".toml", ".yaml", ".yml"}:
            raise RegistryError(
                f"unknown registry format {suffix or '(no suffix)'!r}; use .toml, .yaml or .yml",
                source=source,
            )
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RegistryError(f"cannot read: {exc}", source=source) from exc
    data = _parse_yaml(text, source) if suffix in {".yaml", ".yml"} else _parse_toml(text, source)
    return registry_from_mapping(data, source=source)


def _parse_toml(text: str, source: str) -> object:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"not valid TOML: {exc}", source=source) from exc


def _parse_yaml(text: str, source: str) -> object:
    # Imported here so that TOML users and the pure core never pay for (or need) PyYAML.
    import yaml

    try:
        data: object = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RegistryError(f"not valid YAML: {exc}", source=source) from exc
    return data
