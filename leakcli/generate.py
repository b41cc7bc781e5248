from pathlib import Path
def ensure_synthetic(root: Path) -> str:
    raise NotImplementedError
