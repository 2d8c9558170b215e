"""Deny by default: every route the API registers names the permission it needs."""

from juki_fn.api import ROUTE_PERMISSIONS, app


def test_every_registered_route_has_a_permission() -> None:
    registered = {(route.method, route.openapi_path) for route in app._static_routes + app._dynamic_routes}
    assert registered == set(ROUTE_PERMISSIONS)
