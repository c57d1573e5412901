"""Problems found in a flow document: each names the node or edge and says what to do."""

from __future__ import annotations

import msgspec


class Problem(msgspec.Struct, frozen=True, omit_defaults=True):
    message: str
    node: str | None = None
    edge: str | None = None

    def __str__(self) -> str:
        if self.node is not None:
            return f"node {self.node!r}: {self.message}"
        if self.edge is not None:
            return f"edge {self.edge}: {self.message}"
        return self.message


class FlowProblems(Exception):
    """The document cannot be compiled. `problems` lists everything wrong, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems
