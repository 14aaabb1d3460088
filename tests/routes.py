"""The application's routes as (method, path, dependant), with routers' prefixes and guards.

FastAPI includes routers lazily; `iter_route_contexts` gives each route's effective form (full
path, router-level dependencies merged into the dependant).
"""

from fastapi.routing import APIRoute, iter_route_contexts


def api_routes(app):
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute):
            continue
        dependant = getattr(context, "dependant", None) or context.original_route.dependant
        for method in sorted(set(context.methods or ()) - {"HEAD"}):
            yield method, context.path, dependant
