"""The authoring workbench's pages (authors and administrators; no JavaScript needed)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from app.accounts.deps import AuthorUser, csrf_protect, require_author
from app.core.db import SessionDep
from app.core.deps import Now, SettingsDep
from app.core.errors import AppError
from app.itembank import authoring, authoring_checks, qti
from app.itembank import authoring_queries as queries
from app.itembank import flags as item_flags
from app.itembank.authoring_checks import Draft, FieldFinding
from app.itembank.files import LETTERS
from app.web.templating import flash, redirect, render, validate_form

web = APIRouter(
    prefix="/workbench",
    include_in_schema=False,
    dependencies=[Depends(require_author), Depends(csrf_protect)],
)
Code = Annotated[str, Path(max_length=30)]
SLOTS = 5  # option slots on the form (the most any item type has)


def roots(settings: SettingsDep) -> authoring.Roots:
    """Where the bank's checks read the content and the banks (a dependency)."""
    return authoring.Roots(settings.content_dir, settings.banks_dir)


BankRoots = Annotated[authoring.Roots, Depends(roots)]


async def form_data(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(form_data)]


def _letters(text: str) -> list[str]:
    return [
        p.strip().upper() for p in text.replace(";", ",").replace(" ", ",").split(",") if p.strip()
    ]


def draft_fields(form: FormData) -> dict:
    """The form as Draft's fields: option slots left blank are dropped, lists split."""
    options = []
    for letter in LETTERS[:SLOTS]:
        text = str(form.get(f"option_{letter}", "")).strip()
        rationale = str(form.get(f"rationale_{letter}", "")).strip()
        if text or rationale:
            options.append({"text": text, "rationale": rationale})
    sources = str(form.get("sources", ""))
    return {
        **{
            n: str(form.get(n, "")).strip()
            for n in ("track", "pool", "domain", "module", "level", "type", "fact", "stem")
        },
        "difficulty": str(form.get("difficulty", "")).strip(),
        "options": options,
        "key": _letters(str(form.get("key", ""))),
        "sources": [s.strip() for s in sources.replace("\n", ",").split(",") if s.strip()],
    }


def _form_values(draft: Draft | dict) -> dict:
    """What the form's inputs show (a draft, or the raw fields of a refused one)."""
    d = draft.model_dump() if isinstance(draft, Draft) else draft
    values = {
        k: d.get(k, "")
        for k in (
            "track",
            "pool",
            "domain",
            "module",
            "level",
            "type",
            "fact",
            "stem",
            "difficulty",
        )
    }
    values["key"] = ", ".join(d.get("key") or [])
    values["sources"] = ", ".join(d.get("sources") or [])
    options = list(d.get("options") or [])
    for i, letter in enumerate(LETTERS[:SLOTS]):
        o = options[i] if i < len(options) else {}
        values[f"option_{letter}"] = o.get("text", "")
        values[f"rationale_{letter}"] = o.get("rationale", "")
    return values


def _editor(
    request, *, values, findings, item=None, version=None, status=200, message="", enemies=()
):  # fmt: skip
    return render(
        request,
        "itembank/workbench/edit.html",
        {
            "values": values,
            "findings": authoring_checks.by_field(findings),
            "item": item,
            "version": version,
            "letters": LETTERS[:SLOTS],
            "message": message,
            "all_findings": findings,
            "enemies": enemies,
        },
        status,
    )


def _validated_form(form: FormData) -> tuple[Draft | None, dict, list[FieldFinding]]:
    fields = draft_fields(form)
    draft, errors = validate_form(Draft, fields)
    found = [FieldFinding(k, "schema", v) for k, v in errors.items()]
    return draft, fields, found  # type: ignore[return-value]


def _filters(request: Request, session) -> tuple[queries.Filters, dict, dict, item_flags.ItemFlags]:
    """The list's filters from the query (invalid ones ignored), their errors, the flags."""
    filters, errors = validate_form(queries.Filters, dict(request.query_params))
    if filters is None:
        filters = queries.Filters()
    port = item_flags.from_request(request)
    flagged = port.of_items(session, filters.track.upper() or None)  # type: ignore[union-attr]
    return filters, errors, flagged, port  # type: ignore[return-value]


@web.get("")
def item_list(request: Request, session: SessionDep):
    filters, errors, flagged, port = _filters(request, session)
    page = queries.search(session, filters, flagged=flagged)
    query = {k: v for k, v in filters.model_dump().items() if v and k != "page"}
    return render(
        request,
        "itembank/workbench/list.html",
        {
            "page": page,
            "filters": filters,
            "facets": queries.facets(session),
            "flag_names": port.names,
            "flagged": flagged,
            "query": query,
            "errors": errors,
        },
    )


@web.get("/export")
def export_list(request: Request, session: SessionDep):
    """Every item the list's filters match (all pages) as a QTI 3.0 content package."""
    filters, _, flagged, _ = _filters(request, session)
    return qti_zip(qti.package_of(queries.matching(session, filters, flagged), "workbench"))


def qti_zip(data: bytes) -> Response:
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="wmi-workbench-qti.zip"'},
    )


@web.get("/new")
def new_item(request: Request, track: str = "CAWM"):
    values = _form_values(
        {
            "track": track if track in authoring_checks.TRACKS else "CAWM",
            "pool": "exam",
            "type": "single",
            "difficulty": 2,
        }
    )
    return _editor(request, values=values, findings=[])


@web.post("/new")
def create_item(
    request: Request, session: SessionDep, user: AuthorUser, form: Form, bank: BankRoots, now: Now
):
    draft, fields, found = _validated_form(form)
    if draft is None:
        return _editor(
            request,
            values=_form_values(fields),
            findings=found,
            status=422,
            message="The item was not saved: see the problems beside the fields.",
        )
    try:
        item = authoring.create(session, user=user, draft=draft, roots=bank, now=now)
    except authoring.InvalidItem as exc:
        return _editor(
            request,
            values=_form_values(fields),
            findings=exc.findings,
            status=exc.status_code,
            message=exc.message,
        )
    return _saved(request, session, bank, item.code, f"{item.code} saved as a draft (version 1).")


@web.get("/items/{code}")
def item_page(request: Request, session: SessionDep, user: AuthorUser, code: Code, bank: BankRoots):
    return _item(request, session, user, code, bank)


def _item(request, session, user, code, bank, *, message="", status=200):
    item, version = authoring.get(session, code)
    found = authoring.findings(session, item, version, bank)
    history = queries.history(session, item.code)
    return render(
        request,
        "itembank/workbench/item.html",
        {
            "item": item,
            "v": version,
            "findings": found,
            "letters": LETTERS,
            "moves": authoring.allowed_moves(item, user),
            "events": history.events[:10],
            "delivered": authoring.delivered(session, version),
            "enemies": queries.enemies(session, item, version),
            "message": message,
            "editable": item.status in authoring.EDITABLE,
        },
        status,
    )


@web.get("/items/{code}/edit")
def edit_item(request: Request, session: SessionDep, code: Code, bank: BankRoots):
    item, version = authoring.get(session, code)
    return _editor(
        request,
        values=_form_values(authoring.draft_of(item, version)),
        findings=authoring.findings(session, item, version, bank),
        item=item,
        version=version,
        enemies=queries.enemies(session, item, version),
    )


@web.post("/items/{code}/edit")
def save_item(
    request: Request, session: SessionDep, user: AuthorUser, code: Code, form: Form,
    bank: BankRoots, now: Now,
):  # fmt: skip
    item, version = authoring.get(session, code)
    draft, fields, found = _validated_form(form)
    values = _form_values(fields)
    if draft is None:
        return _editor(
            request,
            values=values,
            findings=found,
            item=item,
            version=version,
            status=422,
            message="Not saved: see the problems beside the fields.",
        )
    base = str(form.get("base_version", ""))
    try:
        item, saved, made = authoring.update_item(
            session,
            user=user,
            code=code,
            draft=draft,
            roots=bank,
            now=now,
            base_version=int(base) if base.isdigit() else None,
        )
    except authoring.InvalidItem as exc:
        return _editor(
            request,
            values=values,
            findings=exc.findings,
            item=item,
            version=version,
            status=exc.status_code,
            message=exc.message,
        )
    except AppError as exc:
        return _editor(
            request,
            values=values,
            findings=[],
            item=item,
            version=version,
            status=exc.status_code,
            message=exc.message,
        )
    return _saved(
        request, session, bank, item.code,
        f"Saved as version {saved.version}." if made else "Nothing changed.",
    )  # fmt: skip


def _saved(request: Request, session, bank, code: str, said: str):
    """After a save: the item's page, or the form again when the checks found something, so
    that each finding shows beside its field."""
    item, version = authoring.get(session, code)
    found = authoring.findings(session, item, version, bank)
    if not found:
        flash(request, said, "success")
        return redirect(f"/workbench/items/{code}")
    blocking = sum(f.blocking for f in found)
    flash(
        request,
        f"{said} The checks found {len(found)} thing(s) to look at ({blocking} blocking review): "
        "each is shown beside its field.",
    )
    return redirect(f"/workbench/items/{code}/edit")


@web.post("/items/{code}/transition")
def move_item(
    request: Request, session: SessionDep, user: AuthorUser, code: Code, form: Form,
    bank: BankRoots, now: Now,
):  # fmt: skip
    action = str(form.get("action", ""))[:20]
    try:
        item = authoring.transition(
            session,
            user=user,
            code=code,
            action=action,
            now=now,
            roots=bank,
            comment=str(form.get("comment", "")),
            pool=str(form.get("pool", "")) or None,
        )
    except AppError as exc:
        return _item(
            request, session, user, code, bank, message=exc.message, status=exc.status_code
        )
    flash(request, f"{item.code} is now {item.status}.", "success")
    return redirect(f"/workbench/items/{item.code}")


@web.post("/items/{code}/comments")
def comment_item(
    request: Request, session: SessionDep, user: AuthorUser, code: Code, form: Form,
    bank: BankRoots, now: Now,
):  # fmt: skip
    try:
        authoring.add_comment(
            session,
            user=user,
            code=code,
            body=str(form.get("body", "")),
            now=now,
        )
    except AppError as exc:
        return _item(
            request, session, user, code, bank, message=exc.message, status=exc.status_code
        )
    flash(request, "Comment added.", "success")
    return redirect(f"/workbench/items/{code.upper()}")


@web.get("/items/{code}/history")
def item_history(request: Request, session: SessionDep, code: Code):
    return render(request, "itembank/workbench/history.html", {"h": queries.history(session, code)})


@web.get("/items/{code}/preview")
def preview(request: Request, session: SessionDep, code: Code):
    """The question exactly as the exam page shows it (the same partial), nothing submitted."""
    item, version = authoring.get(session, code)
    q = {
        "position": 1,
        "type": version.type,
        "stem": version.stem,
        "options": [o["text"] for o in version.options],
    }
    return render(
        request,
        "itembank/workbench/preview.html",
        {"item": item, "v": version, "q": q, "letters": LETTERS, "chosen": {}},
    )
