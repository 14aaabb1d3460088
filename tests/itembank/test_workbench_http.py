"""The workbench over HTTP: the API with tokens, the pages with a signed-in session."""

import re

import pytest
from markupsafe import escape
from sqlmodel import select

from app.accounts.models import Role
from app.itembank import authoring
from app.itembank.models import Item, ItemVersion
from tests.factories.accounts import csrf, make_token, make_user, sign_in
from tests.factories.exams import make_admin
from tests.itembank.test_authoring import STEM, draft_like, template


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def tokens(session):
    author = make_user(session, role=Role.author.value, name="Alice Author")
    reviewer = make_user(session, role=Role.author.value, name="Rob Reviewer")
    return {
        "author": make_token(session, author),
        "reviewer": make_token(session, reviewer),
        "admin": make_token(session, make_admin(session)),
        "learner": make_token(session, make_user(session)),
        "author_user": author,
    }


def test_the_api_runs_the_lifecycle_and_refuses_clearly(client, session, tokens):
    body = draft_like(session).model_dump()
    assert client.post("/api/v1/workbench/items", json=body,
                       headers=bearer(tokens["learner"])).status_code == 403  # fmt: skip
    created = client.post("/api/v1/workbench/items", json=body, headers=bearer(tokens["author"]))
    assert created.status_code == 201, created.text
    item = created.json()
    code = item["code"]
    assert item["status"] == "draft" and item["version"] == 1 and item["findings"] == []
    # its enemy set: the track's other live items of its fact (the template's among them)
    assert item["enemies"] and all(c.startswith("CAWM-") for c in item["enemies"])

    edited = {**body, "stem": STEM.replace("quarterly", "monthly"), "base_version": 1}
    saved = client.put(f"/api/v1/workbench/items/{code}", json=edited,
                       headers=bearer(tokens["author"]))  # fmt: skip
    assert saved.status_code == 200 and saved.json()["version"] == 2
    stale = client.put(f"/api/v1/workbench/items/{code}", json=edited,
                       headers=bearer(tokens["author"]))  # fmt: skip
    assert stale.status_code == 409 and "changed since" in stale.json()["error"]["message"]

    def move(who, action, **extra):
        return client.post(
            f"/api/v1/workbench/items/{code}/transitions",
            json={"action": action, **extra},
            headers=bearer(tokens[who]),
        )

    assert move("author", "submit").json()["status"] == "review"
    refused = move("author", "approve")
    assert refused.status_code == 403
    assert "another reviewer" in refused.json()["error"]["message"]
    assert move("reviewer", "approve").json()["status"] == "approved"
    assert move("reviewer", "pretest").status_code == 403
    assert move("author", "fly").status_code == 422  # not an action
    done = move("admin", "pretest")
    assert done.status_code == 200 and done.json()["pool"] == "pretest"

    comment = client.post(f"/api/v1/workbench/items/{code}/comments",
                          json={"body": "Ready for calibration."},
                          headers=bearer(tokens["reviewer"]))  # fmt: skip
    assert comment.status_code == 201 and comment.json()["who"] == "Rob Reviewer"
    history = client.get(f"/api/v1/workbench/items/{code}/history",
                         headers=bearer(tokens["author"])).json()  # fmt: skip
    latest = history["versions"][0]
    assert latest["version"] == 2 and latest["author"] == "Alice Author"
    assert latest["changes"] == [{"field": "stem", "before": STEM, "after": edited["stem"]}]
    assert [e["what"].split(":")[0] for e in history["events"]] == [
        "comment", "pretest", "approve", "submit"]  # fmt: skip

    wanted = {"status": "pretest", "q": "monthly", "track": "CAWM"}
    listed = client.get("/api/v1/workbench/items", params=wanted,
                        headers=bearer(tokens["author"])).json()  # fmt: skip
    assert [i["code"] for i in listed["items"]] == [code] and listed["total"] == 1


def test_bad_input_gets_a_clear_4xx(client, session, tokens):
    h = bearer(tokens["author"])
    bad = draft_like(session, stem="Too short", sources=["NO-SUCH-SOURCE"]).model_dump()
    r = client.post("/api/v1/workbench/items", json=bad, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_item"
    assert {f["field"] for f in r.json()["error"]["findings"]} == {"stem"}
    r = client.post("/api/v1/workbench/items", json={"track": "XX"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["details"]
    r = client.post("/api/v1/workbench/items", content=b"{not json", headers={
        **h, "Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 422
    assert client.get("/api/v1/workbench/items/CAWM-Z-999", headers=h).status_code == 404
    assert client.get("/api/v1/workbench/items", params={"page": 0}, headers=h).status_code == 422
    r = client.get("/api/v1/workbench/items/CAWM-A-001", headers=bearer(tokens["learner"]))
    assert r.status_code == 403


def _form(draft, **extra) -> dict:
    d = draft.model_dump()
    out = {k: str(d[k]) for k in ("track", "pool", "domain", "module", "level", "type", "fact",
                                   "stem", "difficulty")}  # fmt: skip
    out["key"] = ", ".join(d["key"])
    out["sources"] = ", ".join(d["sources"])
    for i, o in enumerate(d["options"]):
        out[f"option_{'ABCDE'[i]}"] = o["text"]
        out[f"rationale_{'ABCDE'[i]}"] = o["rationale"]
    return {**out, **extra}


def test_the_pages_write_check_preview_and_move_an_item(client, session):
    author = make_user(session, role=Role.author.value, name="Alice Author")
    sign_in(client, author)
    token = csrf(client)
    listing = client.get("/workbench", params={"track": "CAWM", "status": "operational"})
    assert listing.status_code == 200 and "Next page" in listing.text
    assert client.get("/workbench", params={"page": "2", "level": "recall"}).status_code == 200
    assert client.get("/workbench/new").status_code == 200

    draft = draft_like(session)
    refused = client.post("/workbench/new", data=_form(draft, stem="Short", key="Q",
                                                       csrf_token=token))  # fmt: skip
    assert refused.status_code == 422
    # each finding beside its field, tied to it for screen readers
    assert re.search(r'id="err-stem-1"[^>]*>Problem \(schema\)', refused.text)
    assert 'aria-describedby="err-stem-1 "' in refused.text and 'value="Q"' in refused.text

    made = client.post("/workbench/new", data=_form(draft, csrf_token=token))
    assert made.status_code == 303
    code = made.headers["location"].rsplit("/", 1)[1]
    page = client.get(f"/workbench/items/{code}")
    assert page.status_code == 200 and "No findings" in page.text
    assert re.search(r"Enemy set .*?</dt><dd><a href=\"/workbench/items/CAWM-", page.text)

    edit = client.get(f"/workbench/items/{code}/edit")
    assert edit.status_code == 200 and 'name="base_version" value="1"' in edit.text
    # the enemy set beside the fact it follows from
    assert re.search(r'id="enemy-set">Enemy set of version 1: <a href="/workbench/items/CAWM-',
                     edit.text)  # fmt: skip
    saved = client.post(
        f"/workbench/items/{code}/edit",
        data=_form(
            draft, stem=STEM.replace("quarterly", "weekly"), base_version="1", csrf_token=token
        ),
    )
    assert saved.status_code == 303
    history = client.get(f"/workbench/items/{code}/history").text
    assert "<del>quarterly</del>" in history and "<ins>weekly</ins>" in history
    assert "Alice Author" in history

    preview = client.get(f"/workbench/items/{code}/preview").text
    assert '<fieldset class="question"' in preview and "weekly register" in preview
    assert 'id="answer-A"' in preview  # the exam page's own option inputs

    submit = client.post(f"/workbench/items/{code}/transition",
                         data={"action": "submit", "csrf_token": token})  # fmt: skip
    assert submit.status_code == 303
    approve = client.post(f"/workbench/items/{code}/transition",
                          data={"action": "approve", "csrf_token": token})  # fmt: skip
    assert approve.status_code == 403 and "another reviewer" in approve.text
    reject = client.post(
        f"/workbench/items/{code}/transition",
        data={"action": "reject", "comment": "", "csrf_token": token},
    )
    assert reject.status_code == 422 and "comment is required" in reject.text
    assert authoring.get(session, code)[0].status == "review"


@pytest.mark.parametrize(
    ("item_type", "control"),
    [("multiple", 'type="checkbox" id="answer-E"'), ("ordering", 'id="rank_D"')],
)
def test_the_form_writes_and_previews_every_item_type(client, session, item_type, control):
    """Multiple response (five options, two or three keys) and ordering (every letter in order)
    through the same form as single items; the preview is the exam page's control for each."""
    sign_in(client, make_user(session, role=Role.author.value))
    item, version = template(session, item_type=item_type)
    draft = authoring.draft_of(item, version).model_copy(
        update={"stem": f"{version.stem} (rewritten for the workbench test)"}
    )
    made = client.post("/workbench/new", data=_form(draft, csrf_token=csrf(client)))
    assert made.status_code == 303, made.text
    code = made.headers["location"].split("/")[3]
    saved_item, saved = authoring.get(session, code)
    assert (saved.type, saved.key, saved.options) == (version.type, version.key, version.options)
    preview = client.get(f"/workbench/items/{code}/preview").text
    assert control in preview and str(escape(version.options[-1]["text"])) in preview
    edit = client.get(f"/workbench/items/{code}/edit").text
    assert f'value="{", ".join(version.key)}"' in edit  # the key as the form shows it
    assert saved_item.status == "draft"


def test_each_filter_of_the_list_keeps_exactly_its_items(client, session, tokens):
    """Every filter of the list against the database read directly (all pages counted)."""
    rows = session.exec(
        select(Item, ItemVersion).join(ItemVersion, ItemVersion.id == Item.current_version_id)
    ).all()
    i0, v0 = next((i, v) for i, v in rows if i.track == "WMP" and v.type == "ordering")
    cases = [
        ({"track": "cwa", "pool": "pretest"}, lambda i, v: (i.track, i.pool) == ("CWA", "pretest")),
        ({"track": "CAWM", "domain": "B"}, lambda i, v: (i.track, i.domain) == ("CAWM", "B")),
        ({"module": i0.module, "type": "ordering"},
         lambda i, v: (i.module, v.type) == (i0.module, "ordering")),
        ({"status": "retired"}, lambda i, v: i.status == "retired"),
        ({"level": "evaluate", "pool": "exam"},
         lambda i, v: (v.level, i.pool) == ("evaluate", "exam")),
        ({"fact": v0.fact}, lambda i, v: v.fact == v0.fact),
    ]  # fmt: skip
    for params, keep in cases:
        wanted = sorted(i.code for i, v in rows if keep(i, v))
        assert wanted, params  # each case selects something
        listed = client.get("/api/v1/workbench/items", params=params,
                            headers=bearer(tokens["author"])).json()  # fmt: skip
        assert listed["total"] == len(wanted), params
        codes = [i["code"] for i in listed["items"]]  # the first page (the database's order)
        assert set(codes) <= set(wanted) and len(codes) == min(25, len(wanted)), params
