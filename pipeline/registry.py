"""Named, versioned components: ``headings.v1``. A bare name resolves to its newest version."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Generic, TypeVar

from pipeline.errors import ConfigError

T = TypeVar("T")
_VERSIONED = re.compile(r"^(?P<name>[a-z][a-z0-9_]*)\.v(?P<version>\d+)$")


class Registry(Generic[T]):
    """A table of factories keyed by ``name.vN``; never change what an old name does."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, versioned_name: str) -> Callable[[T], T]:
        if not _VERSIONED.match(versioned_name):
            raise ValueError(f"registry names look like 'name.v1', got {versioned_name!r}")

        def add(item: T) -> T:
            if versioned_name in self._items:
                raise ValueError(f"{self.kind} {versioned_name!r} is already registered")
            self._items[versioned_name] = item
            return item

        return add

    def names(self) -> list[str]:
        return sorted(self._items)

    def resolve(self, name: str) -> str:
        """Return the full versioned name for ``name`` (bare names get the newest version)."""
        if name in self._items:
            return name
        versions = [
            (int(m["version"]), full)
            for full in self._items
            if (m := _VERSIONED.match(full)) and m["name"] == name
        ]
        if not versions:
            known = ", ".join(self.names()) or "none"
            raise ConfigError(f"unknown {self.kind} {name!r}: expected one of {known}")
        return max(versions)[1]

    def get(self, name: str) -> T:
        return self._items[self.resolve(name)]
