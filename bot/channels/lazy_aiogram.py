"""aiogram, imported so that its pydantic validators are built when a type is first used, not all at once.

Why. aiogram declares its ~450 Telegram types with ``defer_build=True`` and then, at the end of
``aiogram/types/__init__.py``, calls ``model_rebuild()`` on every one of them. Each validator that
pydantic-core compiles embeds the whole closure of the types it refers to (``Message`` alone reaches
most of the Bot API), so building all of them costs ~110 MB of resident memory per process
(measured: ``import aiogram`` 165 MB, this way 59 MB), while the bot only ever validates a handful:
``Update``, ``Response[Message]``, ``Response[bool]`` and the methods it calls. See bench/memory.py.

How. While aiogram is imported, its rebuild loop only records the types namespace it passes; every
type stays deferred (a pydantic ``MockValSer``). On first use pydantic calls ``model_rebuild()``
again; on aiogram's three base classes that call now brings the recorded namespace, so the
forward references (``"Chat"``, ``"Message"``) resolve exactly as aiogram's own loop would have.
Only documented pydantic machinery runs (deferred build, ``model_rebuild``); ``_types_namespace``
is the argument aiogram itself uses.

This module must be imported before anything imports aiogram; if aiogram is already imported (a test
that loaded it first), it does nothing and aiogram keeps its eagerly built types.
"""

from __future__ import annotations

import sys
import typing
from collections.abc import Mapping
from typing import Any

import pydantic

_original_rebuild = pydantic.BaseModel.__dict__["model_rebuild"].__func__
_original_class_getitem = pydantic.BaseModel.__dict__["__class_getitem__"].__func__
_aiogram_namespace: dict[str, Any] = {}
_parametrized: set[type[pydantic.BaseModel]] = set()


def _record_aiogram_namespace(cls: type[pydantic.BaseModel], *, force: bool = False, raise_errors: bool = True,
                              _parent_namespace_depth: int = 2,
                              _types_namespace: Mapping[str, Any] | None = None) -> bool | None:
    if _types_namespace is not None and not force and cls.__module__.startswith("aiogram."):
        _aiogram_namespace.update(_types_namespace)
        return None
    return _original_rebuild(cls, force=force, raise_errors=raise_errors,
                             _parent_namespace_depth=_parent_namespace_depth + 1, _types_namespace=_types_namespace)


def _rebuild_in_aiogram_namespace(cls: type[pydantic.BaseModel], *, force: bool = False, raise_errors: bool = True,
                                  _parent_namespace_depth: int = 2,
                                  _types_namespace: Mapping[str, Any] | None = None) -> bool | None:
    namespace = _aiogram_namespace if _types_namespace is None else _types_namespace
    arguments = cls.__pydantic_generic_metadata__["args"]
    if arguments:
        # ``Response[Message]``: with ``Message`` built first its schema is reused, not generated inline.
        for model in _models_in(arguments):
            if not model.__pydantic_complete__:
                model.model_rebuild()
    return _original_rebuild(cls, force=force, raise_errors=raise_errors,
                             _parent_namespace_depth=_parent_namespace_depth, _types_namespace=namespace)


def _kept_parametrization(cls: type[pydantic.BaseModel], parameters: Any) -> type[pydantic.BaseModel]:
    """``Response[bool]`` and the like, which aiogram asks for anew at every call it parses
    (``BaseSession.check_response``): pydantic caches parametrized classes only weakly, so without a
    strong reference each garbage collection threw them away, and the next call built the class and its
    validator again -- ~14 ms on the event loop each time, ~140 times in 500 updates (profiled)."""
    model = _original_class_getitem(cls, parameters)
    _parametrized.add(model)
    return model


def _models_in(arguments: tuple[Any, ...]) -> list[type[pydantic.BaseModel]]:
    """The pydantic models inside type arguments such as ``(list[Message],)`` or ``(Message | bool,)``."""
    found: list[type[pydantic.BaseModel]] = []
    for argument in arguments:
        if isinstance(argument, type) and issubclass(argument, pydantic.BaseModel):
            found.append(argument)
        else:
            found.extend(_models_in(typing.get_args(argument)))
    return found


def _keep_responses() -> None:
    from aiogram.methods.base import Response

    Response.__class_getitem__ = classmethod(_kept_parametrization)  # type: ignore[assignment,method-assign]


def _import_aiogram_deferred() -> None:
    if "aiogram" in sys.modules:
        return
    pydantic.BaseModel.model_rebuild = classmethod(_record_aiogram_namespace)  # type: ignore[assignment]
    try:
        import aiogram  # noqa: F401
    finally:
        pydantic.BaseModel.model_rebuild = classmethod(_original_rebuild)  # type: ignore[assignment]
    from aiogram.methods.base import Response, TelegramMethod
    from aiogram.types.base import TelegramObject

    for base in (TelegramObject, TelegramMethod, Response):
        base.model_rebuild = classmethod(_rebuild_in_aiogram_namespace)  # type: ignore[assignment,method-assign]


def deferred() -> bool:
    """True when aiogram's types were imported deferred (by this module)."""
    return bool(_aiogram_namespace)


_import_aiogram_deferred()
_keep_responses()  # whichever way aiogram was imported
