"""The authoring workbench's API (an author's or administrator's token or session)."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from app.accounts.deps import AuthorUser, api_csrf_protect, require_author
from app.core.db import SessionDep
from app.core.deps import Now
from app.itembank import authoring, flags, qti
from app.itembank import authoring_queries as queries
from app.itembank.authoring_checks import Draft
from app.itembank.qti_router import ZIP
from app.itembank.workbench import BankRoots, qti_zip

api = APIRouter(
    prefix="/api/v1/workbench",
    tags=["workbench"],
    dependencies=[Depends(require_author), Depends(api_csrf_protect)],
)
Code = Annotated[str, Path(max_length=30)]


class FindingOut(BaseModel):
    field: str
    rule: str
    message: str
    blocking: bool


class OptionOut(BaseModel):
    text: str
    rationale: str


class ItemSummary(BaseModel):
    code: str
    track: str
    pool: str
    domain: str
    module: str
    status: str
    owner: str
    version: int
    type: str
    level: str
    fact: str | None
    stem: str
    flags: list[str] = Field(
        default_factory=list, description="The newest item analysis's flags of the item."
    )


class ItemOut(ItemSummary):
    options: list[OptionOut]
    key: list[str]
    sources: list[str]
    difficulty: int
    a: float
    b: float
    c: float
    provisional: bool
    created_at: datetime
    created_by: int | None
    delivered: bool
    enemies: list[str] = Field(description="The enemy set: the track's other items of this fact.")
    findings: list[FindingOut]


class ItemPage(BaseModel):
    items: list[ItemSummary]
    total: int
    page: int
    pages: int


class DraftIn(Draft):
    base_version: int | None = Field(
        default=None, ge=1, description="The version you edited: a later save is a 409, not lost."
    )


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["submit", "approve", "reject", "pretest", "operational", "retire", "revise"]
    comment: str | None = Field(default=None, max_length=4000)
    pool: Literal["exam", "practice"] | None = None


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(min_length=1, max_length=4000)


class ChangeOut(BaseModel):
    field: str
    before: str
    after: str


class VersionOut(BaseModel):
    version: int
    author: str
    created_at: datetime
    first_delivered_at: datetime | None
    changes: list[ChangeOut]


class EventOut(BaseModel):
    at: datetime
    who: str
    what: str
    version: int
    comment: str | None


class HistoryOut(BaseModel):
    code: str
    versions: list[VersionOut]
    events: list[EventOut]


def _summary(item, v, flagged: tuple[str, ...] = ()) -> ItemSummary:
    return ItemSummary(
        flags=list(flagged),
        code=item.code,
        track=item.track,
        pool=item.pool,
        domain=item.domain,
        module=item.module,
        status=item.status,
        owner=item.owner,
        version=v.version,
        type=v.type,
        level=v.level,
        fact=v.fact,
        stem=v.stem,
    )


def _out(session, code: str, bank: authoring.Roots) -> ItemOut:
    item, v = authoring.get(session, code)
    found = authoring.findings(session, item, v, bank)
    return ItemOut(
        **_summary(item, v).model_dump(),
        options=[OptionOut(**o) for o in v.options],
        key=list(v.key),
        sources=list(v.sources),
        difficulty=v.difficulty,
        a=v.a,
        b=v.b,
        c=v.c,
        provisional=v.provisional,
        created_at=v.created_at,
        created_by=v.created_by,
        delivered=authoring.delivered(session, v),
        enemies=queries.enemies(session, item, v),
        findings=[FindingOut(**f.as_dict()) for f in found],
    )


@api.get("/items", response_model=ItemPage)
def list_items(request: Request, session: SessionDep, filters: Annotated[queries.Filters, Query()]):
    """Items by code, filtered (q searches codes and stems; `flag` is a flag of the newest item
    analysis, such as `weak discrimination`, or `any`), 25 a page."""
    flagged = flags.from_request(request).of_items(session, filters.track.upper() or None)
    page = queries.search(session, filters, flagged=flagged)
    return ItemPage(
        items=[_summary(i, v, flagged.get(i.code, ())) for i, v in page.rows],
        total=page.total,
        page=page.page,
        pages=page.pages,
    )


@api.get("/export", response_class=Response, responses=ZIP)
def export_items(
    request: Request, session: SessionDep, filters: Annotated[queries.Filters, Query()]
) -> Response:
    """Every item the list's filters match (all pages, `page` ignored) as a QTI 3.0 content
    package: any filtered set, not only a track's pool (docs/QTI.md)."""
    flagged = flags.from_request(request).of_items(session, filters.track.upper() or None)
    return qti_zip(qti.package_of(queries.matching(session, filters, flagged), "workbench"))


@api.get("/items/{code}", response_model=ItemOut)
def get_item(session: SessionDep, code: Code, bank: BankRoots):
    """An item's current version with the bank checks' findings per field."""
    return _out(session, code, bank)


@api.post("/items", response_model=ItemOut, status_code=201)
def create_item(session: SessionDep, user: AuthorUser, data: Draft, bank: BankRoots, now: Now):
    """A new draft item (422 with `findings` per field when it breaks the bank's schema)."""
    item = authoring.create(session, user=user, draft=data, roots=bank, now=now)
    return _out(session, item.code, bank)


@api.put("/items/{code}", response_model=ItemOut)
def update_item(
    session: SessionDep, user: AuthorUser, code: Code, data: DraftIn, bank: BankRoots, now: Now
):
    """Save an edit as a new version (409 for an item in a pool, or edited since base_version)."""
    draft = Draft(**data.model_dump(exclude={"base_version"}))
    item, _, _ = authoring.update_item(
        session,
        user=user,
        code=code,
        draft=draft,
        roots=bank,
        now=now,
        base_version=data.base_version,
    )
    return _out(session, item.code, bank)


@api.post("/items/{code}/transitions", response_model=ItemOut)
def move_item(
    session: SessionDep, user: AuthorUser, code: Code, data: TransitionIn, bank: BankRoots, now: Now
):
    """Submit, approve, reject (with a comment), pretest, operational, retire, revise."""
    item = authoring.transition(
        session,
        user=user,
        code=code,
        action=data.action,
        now=now,
        roots=bank,
        comment=data.comment,
        pool=data.pool,
    )
    return _out(session, item.code, bank)


@api.post("/items/{code}/comments", response_model=EventOut, status_code=201)
def comment_item(session: SessionDep, user: AuthorUser, code: Code, data: CommentIn, now: Now):
    row = authoring.add_comment(session, user=user, code=code, body=data.body, now=now)
    return EventOut(
        at=row.created_at, who=user.name, what="comment", version=row.version, comment=row.body
    )


@api.get("/items/{code}/history", response_model=HistoryOut)
def item_history(session: SessionDep, code: Code):
    """Every version with who wrote it, when and what changed; moves and comments."""
    h = queries.history(session, code)
    return HistoryOut(
        code=h.item.code,
        versions=[
            VersionOut(
                version=e.version.version,
                author=e.author,
                created_at=e.version.created_at,
                first_delivered_at=e.version.first_delivered_at,
                changes=[
                    ChangeOut(field=c.field, before=c.before, after=c.after) for c in e.changes
                ],
            )
            for e in h.versions
        ],
        events=[
            EventOut(at=e.at, who=e.who, what=e.what, version=e.version, comment=e.comment)
            for e in h.events
        ],
    )
