"""The catalogue and the learner's dashboard."""

from fastapi import APIRouter, Depends, Request

from app.accounts.deps import CurrentUser, OptionalUser, api_csrf_protect, csrf_protect
from app.web.templating import render

web = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["courses"], dependencies=[Depends(api_csrf_protect)])


@web.get("/")
def home(request: Request, user: OptionalUser):
    return render(request, "courses/home.html", {})


@web.get("/dashboard")
def dashboard(request: Request, user: CurrentUser):
    return render(request, "courses/dashboard.html", {})
