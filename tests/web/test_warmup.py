"""Start-up builds every router's route table, so that no first request pays for it."""

from fastapi.testclient import TestClient

from app.main import create_app
from app.web import warmup


def _routers(routes) -> list:
    """Every included router under routes, the way a request's matching walks them."""
    found = []
    for route in routes:
        if callable(getattr(route, "effective_candidates", None)):
            found.append(route)
            found.extend(_routers(route._effective_candidates))
    return found


def _built(app) -> list[bool]:
    return [r._effective_candidates_version is not None for r in _routers(app.router.routes)]


def test_start_up_builds_every_route_table_and_requests_still_work(settings, clock):
    app = create_app(settings.model_copy(update={"warm_routes": True}), clock=clock)
    assert set(_built(app)) == {False}  # nothing built before start-up
    with TestClient(app) as client:
        built = _built(app)
        assert len(built) >= 20 and all(built)  # the whole application, nested routers too
        assert client.get("/api/v1/ping").status_code == 200
        assert client.get("/signin").status_code == 200
        assert client.get("/no/such/page").status_code == 404


def test_without_warm_routes_the_tables_wait_for_requests(settings, clock):
    app = create_app(settings, clock=clock)  # the tests' settings: warm_routes off
    with TestClient(app) as client:
        assert not any(_built(app))
        client.get("/signin")
        assert any(_built(app))  # matching builds the routers it walks, on the first request
    assert warmup.warm(app.router.routes) == len(_built(app)) and all(_built(app))
