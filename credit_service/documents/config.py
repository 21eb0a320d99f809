"""config/documents.toml: the issuing bureau and the number prefixes of each pooling region."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .model import KINDS


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    bureau: str
    prefixes: dict[str, str]


@dataclass(frozen=True)
class DocumentSettings:
    regions: dict[str, Region] = field(default_factory=dict)


class DocumentConfigError(ValueError):
    pass


def load_document_settings(config_dir: Path) -> DocumentSettings:
    """An absent file configures no region (no letter can be numbered); a malformed one stops start-up."""
    path = Path(config_dir) / "documents.toml"
    if not path.exists():
        return DocumentSettings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DocumentConfigError(f"{path}: {exc}") from None
    regions = {}
    for code, entry in data.get("regions", {}).items():
        prefixes = entry.get("prefixes", {})
        missing = [k for k in KINDS if not prefixes.get(k)]
        if len(code) != 6 or not code.isdigit() or not entry.get("bureau") or missing:
            raise DocumentConfigError(f"{path}: region {code} needs a 6-digit code, bureau and prefixes for "
                                      f"{', '.join(KINDS)}")
        regions[code] = Region(code, entry.get("name", code), entry["bureau"], {k: prefixes[k] for k in KINDS})
    return DocumentSettings(regions)
