"""Where a section mentions a stance target: its name or one of its aliases, as whole words."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class Target:
    """A stance target: a name plus aliases, matched as whole words."""

    name: str
    aliases: tuple[str, ...] = ()
    case_sensitive: bool = True

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        terms = sorted({self.name, *self.aliases}, key=len, reverse=True)  # longest first
        body = "|".join(re.escape(" ".join(t.split())).replace(r"\ ", r"\s+") for t in terms)
        flags = 0 if self.case_sensitive else re.IGNORECASE
        return re.compile(rf"(?<!\w)(?:{body})(?!\w)", flags)

    def mentions(self, text: str) -> int:
        """How many times the name or an alias occurs in ``text``."""
        return len(self.pattern.findall(text))


def targets_from_config(targets: dict[str, list[str]], case_sensitive: bool = True) -> list[Target]:
    return [Target(name, tuple(aliases), case_sensitive) for name, aliases in targets.items()]
