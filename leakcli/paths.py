"""Where things are: the project root (found upward from the current folder, as git and dbt find
theirs), `target/` (or --target-dir), and which data directory a run reads (LEAK-SPEC §4)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from leakcli.errors import UsageError

DEFAULT_RAW = Path("datasets/maven-fuzzy-factory/raw")
PROFILE_DIR = Path("datasets/maven-fuzzy-factory/profile")
TARGET = Path("target")
SYNTHETIC_SUBDIR = Path("synthetic") / "maven-fuzzy-factory"
DB_NAME = "leakcli.duckdb"
DATA_ENV = "LEAKCLI_DATA_DIR"
PROJECT_FILE = "phase-plan.json"  # what makes a folder a leakcli project
SYNTHETIC_MARK = "synthetic dataset"  # what the .leakcli marker of a generated dataset says
Origin = Literal["option", "environment", "published", "project", "synthetic", "synthetic_option"]


@dataclass(frozen=True)
class DataSource:
    """The directory of CSVs a run reads and how it was chosen."""

    path: Path
    origin: Origin

    @property
    def synthetic(self) -> bool:
        """The embedded default, or any folder `leakcli generate` wrote (its marker says so)."""
        return self.origin in ("synthetic", "synthetic_option") or is_synthetic(self.path)

    @property
    def label(self) -> Literal["files", "synthetic"]:
        return "synthetic" if self.synthetic else "files"

    def describe(self) -> dict[str, object]:
        return {"kind": self.label, "origin": self.origin, "path": str(self.path)}


def is_synthetic(folder: Path) -> bool:
    """`folder` is a dataset `leakcli generate` wrote."""
    try:
        return SYNTHETIC_MARK in (folder / ".leakcli").read_text("utf-8")[:1000]
    except (OSError, UnicodeDecodeError):
        return False


@dataclass(frozen=True)
class Paths:
    """Where things are under a project root: target/ (or the --target-dir given), its stable names,
    the profiles, the synthetic data."""

    root: Path
    target_dir: Path | None = None  # --target-dir / LEAKCLI_TARGET_DIR; default root/target

    @property
    def target(self) -> Path:
        return self.target_dir if self.target_dir is not None else self.root / TARGET

    @property
    def database(self) -> Path:
        """The stable name of the published database (what messages show)."""
        return self.target / DB_NAME

    @property
    def current(self) -> Path:
        """The link to the published build (store/layout.py): what every reader reads through."""
        return self.target / "current"

    @property
    def published(self) -> Path:
        """The published database itself, reached through `current`, never through the stable name
        (which someone may have replaced: store.layout.check_published says so); absent when
        nothing is published."""
        return self.current / DB_NAME

    @property
    def compiled(self) -> Path:
        """The published build's compiled SQL, read through `current` (as `published`)."""
        return self.current / "compiled"

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
        return self.target / SYNTHETIC_SUBDIR

    def rel(self, path: Path) -> str:
        """`path` relative to the project root when inside it (links in it are not followed)."""
        for base, full in ((os.path.abspath(self.root), os.path.abspath(path)),
                           (self.root.resolve(), path.resolve())):
            try:
                return str(Path(full).relative_to(base))
            except ValueError:
                continue
        return str(path)


def find_root(project_dir: Path | None, start: Path | None = None) -> Path:
    """The project root: `project_dir` when given (it must hold phase-plan.json), else the nearest
    folder from `start` (the current one) upward that holds phase-plan.json."""
    if project_dir is not None:
        if not str(project_dir).strip():
            raise UsageError("is empty", file="--project-dir", hint="name the folder holding phase-plan.json")
        if not project_dir.exists():
            raise UsageError("project directory does not exist", file=str(project_dir),
                             hint="name the folder holding phase-plan.json")
        if not project_dir.is_dir():
            raise UsageError("is a file, not a project directory", file=str(project_dir),
                             hint="name the folder holding phase-plan.json")
        if not (project_dir / PROJECT_FILE).exists():
            raise UsageError(f"not a leakcli project: no {PROJECT_FILE} here", file=str(project_dir),
                             hint="name the folder holding phase-plan.json")
        return project_dir.resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_FILE).exists():
            return folder
    raise UsageError(f"not a leakcli project: no {PROJECT_FILE} in {here} or any folder above it",
                     hint="run leakcli in the project folder, or pass --project-dir")


def resolve_data(paths: Paths, option: str | None, required_files: list[str], *,
                 published: Path | None = None, synthetic: bool = False) -> DataSource:
    """Pick the data directory: the embedded synthetic dataset when asked for, then --data-dir, then
    LEAKCLI_DATA_DIR, then the data the published build was made from (a folder `leakcli generate`
    wrote included), then the project's raw directory when it holds any required file, else the
    embedded synthetic default."""
    if synthetic:
        if option is not None:
            raise UsageError("names a second dataset beside --synthetic", file="--data-dir", hint="pass one of them")
        return DataSource(paths.synthetic, "synthetic_option")
    if option is not None:
        if not option.strip():
            raise UsageError("is empty", file="--data-dir", hint="name the folder of the Maven CSVs, or leave it out")
        return DataSource(named_data_dir(Path(option), "--data-dir", required_files), "option")
    env = os.environ.get(DATA_ENV)
    if env is not None:
        if not env.strip():
            raise UsageError("is empty", file=DATA_ENV, hint="name the folder of the Maven CSVs, or unset it")
        return DataSource(named_data_dir(Path(env), DATA_ENV, required_files), "environment")
    raw = paths.root / DEFAULT_RAW
    if published is not None and os.path.abspath(published) not in (os.path.abspath(raw),
                                                                    os.path.abspath(paths.synthetic)):
        if not published.is_dir():
            raise UsageError("the published build was made from this data directory, which is gone",
                             file=str(published), hint="name the data with --data-dir, or --synthetic for the "
                             "embedded synthetic dataset")
        return DataSource(published.resolve(), "published")
    if any((raw / name).exists() for name in required_files):
        return DataSource(raw, "project")
    return DataSource(paths.synthetic, "synthetic")


def named_data_dir(path: Path, named_by: str, required_files: list[str]) -> Path:
    """A data directory named by the user: it exists, is a folder, and (when it holds none of the
    required files but its raw/ folder does) is probably meant as that raw/ folder."""
    if not path.exists():
        raise UsageError(f"data directory named by {named_by} does not exist", file=str(path),
                         hint="name the folder of the Maven CSVs")
    if not path.is_dir():
        raise UsageError(f"is a file, not a directory: {named_by} names the folder of the Maven CSVs",
                         file=str(path), hint=f"did you mean {path.parent}?")
    if required_files and not any((path / f).exists() for f in required_files):
        for sub in (path / "raw", path / DEFAULT_RAW):
            if any((sub / f).exists() for f in required_files):
                raise UsageError(f"holds none of the Maven CSVs named by {named_by}", file=str(path),
                                 hint=f"did you mean {sub}?")
    return path.resolve()
