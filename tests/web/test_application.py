"""The application object (:class:`poli_kg.web.Application`): Flask, with its check for
``async`` functions answered from a plain function's code."""

from __future__ import annotations

import pytest

from poli_kg.web import Application


def test_a_plain_function_is_called_as_it_is():
    app = Application(__name__)

    def view() -> str:
        return "ok"

    assert app.ensure_sync(view) is view


def test_an_async_function_is_left_to_flask():
    app = Application(__name__)

    async def view() -> str:
        return "ok"

    try:
        wrapped = app.ensure_sync(view)
    except RuntimeError as exc:  # Flask without its async extra says so
        assert "async" in str(exc)
    else:
        assert wrapped is not view


class Views:
    def sync(self) -> str:
        return "ok"


@pytest.mark.parametrize("func", [Views().sync, print], ids=["method", "builtin"])
def test_other_callables_are_left_to_flask(func):
    assert Application(__name__).ensure_sync(func) == func

