"""The staff member acting on the current request, set by ``lambda_handler`` once their token is
verified and read by every route (of the app and of its routers)."""

from __future__ import annotations

from contextvars import ContextVar

from juki.domain.staff import Actor

_actor: ContextVar[Actor | None] = ContextVar("actor", default=None)


def current_actor() -> Actor:
    actor = _actor.get()
    assert actor is not None, "set by lambda_handler before any route runs"
    return actor


def acting_as(actor: Actor) -> object:
    """Sets the actor for this request; returns the token to pass to ``done``."""
    return _actor.set(actor)


def done(token: object) -> None:
    _actor.reset(token)  # type: ignore[arg-type]
