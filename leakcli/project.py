"""Where things are: the project root, `target/`, and which data directory a run reads (LEAK-SPEC §4)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from leakcli.errors import UsageError

DEFAULT_RAW = Path("datasets/maven-fuzzy-factory/raw")
PROFILE_DIR = Path("datasets/maven-fuzzy-factory/profile")
TARGET = Path("target")
SYNTHETIC_DIR = TARGET / "synthetic" / "maven-fuzzy-factory"
DB_NAME = "leakcli.duckdb"
DATA_ENV = "LEAKCLI_DATA_DIR"


@dataclass(frozen=True)
class DataSource:
    """The directory of CSVs a run reads and how it was chosen."""

    path: Path
    origin: Literal["option", "environment", "project", "synthetic"]

    @property
    def synthetic(self) -> bool:
        return self.origin == "synthetic"

    @property
    def label(self) -> Literal["files", "synthetic"]:
        return "synthetic" if self.synthetic else "files"

    def describe(self) -> dict[str, object]:
        return {"kind": self.label, "origin": self.origin, "path": str(self.path)}


@dataclass(frozen=True)
class Paths:
    """Where things are under a project root: target/, its stable names, the profiles, the synthetic data."""

    root: Path

    @property
    def target(self) -> Path:
        return self.root / TARGET

    @property
    def database(self) -> Path:
        return self.target / DB_NAME

    @property
    def compiled(self) -> Path:
        return self.target / "compiled"

    @property
    def exports(self) -> Path:
        return self.target / "exports"

    @property
    def run_results(self) -> Path:
        return self.target / "run_results.json"

    @property
    def lock(self) -> Path:
        return self.target / ".leakcli.lock"

    @property
    def profiles(self) -> Path:
        return self.root / PROFILE_DIR

    @property
    def synthetic(self) -> Path:
        return self.root / SYNTHETIC_DIR

    def rel(self, path: Path) -> str:
        """`path` relative to the project root when inside it (links in it are not followed)."""
        for base, full in ((os.path.abspath(self.root), os.path.abspath(path)),
                           (self.root.resolve(), path.resolve())):
            try:
                return str(Path(full).relative_to(base))
            except ValueError:
                continue
        return str(path)


def resolve_data(root: Path, option: str | None, required_files: list[str]) -> DataSource:
    """Pick the data directory: --data-dir, then LEAKCLI_DATA_DIR, then the project's raw
    directory when it holds any required file, else the embedded synthetic default."""
    if option is not None:
        if not option.strip():
            raise UsageError("--data-dir is empty", hint="name the folder of the Maven CSVs, or leave the option out")
        return DataSource(_existing_dir(Path(option), "--data-dir"), "option")
    env = os.environ.get(DATA_ENV)
    if env:
        return DataSource(_existing_dir(Path(env), DATA_ENV), "environment")
    raw = root / DEFAULT_RAW
    if any((raw / name).exists() for name in required_files):
        return DataSource(raw, "project")
    return DataSource(root / SYNTHETIC_DIR, "synthetic")


def _existing_dir(path: Path, named_by: str) -> Path:
    if not path.is_dir():
        raise UsageError(f"data directory named by {named_by} does not exist", file=str(path))
    return path.resolve()
