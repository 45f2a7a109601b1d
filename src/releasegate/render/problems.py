"""Why a release file cannot be rendered: one value per problem, all reported at once."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

PathPart: TypeAlias = str | int


def json_path(path: tuple[PathPart, ...]) -> str:
    """``("spec", "runtime", 0)`` -> ``$.spec.runtime[0]``."""
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


@dataclass(frozen=True)
class Problem:
    """A release file (or the render config) that cannot be rendered as it is."""

    file: str
    path: tuple[PathPart, ...]
    rule: str
    message: str
    hint: str
    line: int | None = None
    column: int | None = None

    @property
    def json_path(self) -> str:
        return json_path(self.path)

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}:{self.column or 1}"
        return f"{where}: {self.json_path}: {self.message} [{self.rule}]\n  hint: {self.hint}"

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.json_path,
            "rule": self.rule,
            "message": self.message,
            "hint": self.hint,
        }
