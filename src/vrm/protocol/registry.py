"""Message types: the versioned type name → the pydantic model of its body."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from pydantic import BaseModel

from vrm.protocol.envelope import TYPE_PATTERN

ModelT = TypeVar("ModelT", bound=type[BaseModel])
_TYPE_NAME = re.compile(TYPE_PATTERN)


class MessageTypes:
    """A registry of the message types a party understands.

    Each service builds its own (starting from :func:`vrm.protocol.v1.v1_types`)
    and registers the types it handles; a type not registered is refused as
    ``unknown_type``.
    """

    def __init__(self) -> None:
        self._models: dict[str, type[BaseModel]] = {}

    def register(self, type_name: str) -> Callable[[ModelT], ModelT]:
        """Register a body model for ``type_name`` (use as a class decorator)."""
        _check_name(type_name)  # at decoration time, not when the class is complete

        def decorate(model: ModelT) -> ModelT:
            self.add(type_name, model)
            return model

        return decorate

    def add(self, type_name: str, model: type[BaseModel]) -> None:
        """Register ``model`` as the body of ``type_name``."""
        _check_name(type_name)
        if self._models.get(type_name, model) is not model:
            raise ValueError(f"{type_name} is already registered to another model")
        self._models[type_name] = model

    def update(self, other: MessageTypes) -> None:
        """Register every type of ``other`` here too."""
        for name, model in other._models.items():
            self.add(name, model)

    def model_for(self, type_name: str) -> type[BaseModel] | None:
        """Return the body model of ``type_name``, or None when it is unknown."""
        return self._models.get(type_name)

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._models

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._models))

    def json_schemas(self) -> dict[str, dict[str, Any]]:
        """Return the JSON Schema of every registered body, by type name."""
        return {name: self._models[name].model_json_schema() for name in self}


def _check_name(type_name: str) -> None:
    if not _TYPE_NAME.fullmatch(type_name):
        raise ValueError(f"{type_name!r} is not a versioned type name like vrm/1/ping")
