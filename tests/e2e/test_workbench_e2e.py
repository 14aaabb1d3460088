"""Issue 20 in a real browser: an author drafts an item and submits it, cannot approve it
herself, a reviewer approves it, an administrator puts it into pretest; a candidate is never
given it while it is a draft or in review; the history shows who changed what and when, and
the audit log holds every move."""

import json
import uuid

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, select

from app.accounts import service as accounts
from app.accounts.models import Role
from app.core.clock import utcnow
from app.core.db import make_engine
from app.core.models import AuditEntry
from app.core.security import hash_password
from app.itembank.models import Item, ItemVersion, PoolRevision
from tests.e2e.a11y import axe_check
from tests.e2e.exam_driver import csrf_of

pytestmark = pytest.mark.e2e
PASSWORD = "a long enough password"
STEM = (
    "A planner logs every recurring hand-off in a shared register each quarter; what does it show?"
)


def _people_and_template(server) -> tuple[dict, Item, ItemVersion]:
    """An administrator, two authors and a candidate; a shipped item to copy the tags of."""
    engine = make_engine(server["env"]["WMI_DATABASE_URL"])
    tag = uuid.uuid4().hex[:6]
    emails = {k: f"{k}-{tag}@example.org" for k in ("admin", "author", "reviewer", "candidate")}
    with Session(engine, expire_on_commit=False) as session:
        now = utcnow()
        admin = accounts.ensure_admin(session=session, email=emails["admin"], name="Ada Admin",
                                      password=PASSWORD, now=now)  # fmt: skip
        for key, name in (("author", "Alice Author"), ("reviewer", "Rob Reviewer"),
                          ("candidate", "Carl Candidate")):  # fmt: skip
            user = accounts.create_user(
                session, email=emails[key], name=name, now=now,
                password_hash=hash_password(PASSWORD), role=Role.learner,
            )  # fmt: skip
            if key != "candidate":
                accounts.set_role(session=session, actor=admin, user_id=user.id,
                                  role=Role.author, now=now)  # fmt: skip
        session.commit()
        item, version = session.exec(
            select(Item, ItemVersion)
            .join(ItemVersion, ItemVersion.id == Item.current_version_id)
            .where(Item.track == "CAWM", Item.pool == "exam", Item.status == "operational",
                   ItemVersion.type == "single")
            .order_by(Item.code)
        ).first()  # fmt: skip
    engine.dispose()
    return emails, item, version


def _signed_in(browser, base, email):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(base + "/signin")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/dashboard")
    return context, page


def _never_given(candidate, base, version_id: int) -> None:
    """The practice API does not know the version: no key, no rationale, no question."""
    r = candidate.request.post(
        f"{base}/api/v1/practice/answers", headers={"X-CSRF-Token": csrf_of(candidate)},
        data={"answers": [{"id": version_id, "answer": ["A"]}]},
    )  # fmt: skip
    assert r.status == 404, r.text()


def test_author_reviewer_administrator_and_candidate(browser, server):
    base = server["base"]
    emails, item, version = _people_and_template(server)
    contexts = []
    try:
        ctx, author = _signed_in(browser, base, emails["author"])
        contexts.append(ctx)
        author.get_by_role("link", name="Workbench").click()
        axe_check(author, "the workbench's item list")
        author.get_by_role("link", name="Write a new item").click()
        author.get_by_label("Track").select_option("CAWM")
        author.get_by_label("Pool it is written for").select_option("practice")
        for label, value in (
            ("Domain", item.domain),
            ("Module", item.module),
            ("Fact", version.fact),
            ("Stem", STEM),
            ("Difficulty rating (1 to 5)", str(version.difficulty)),
            ("Key", version.key[0]),
            ("Source tags", ", ".join(version.sources)),
        ):
            author.get_by_label(label, exact=True).fill(value)  # fmt: skip
        author.get_by_label("Level").select_option(version.level)
        for i, option in enumerate(version.options):
            letter = "ABCD"[i]
            author.get_by_label(f"Option {letter}", exact=True).fill(option["text"])
            author.get_by_label(f"Rationale for option {letter}").fill(option["rationale"])
        author.get_by_label("Stem").fill("Too short")  # refused: the finding beside the stem
        author.get_by_role("button", name="Save as a draft").click()
        expect(
            author.get_by_text("Problem (schema): Enter at least 10 characters.")
        ).to_be_visible()
        axe_check(author, "the item form with findings")
        author.get_by_label("Stem").fill(STEM)
        author.get_by_role("button", name="Save as a draft").click()
        author.wait_for_url(base + "/workbench/items/*")
        axe_check(author, "an item's page")
        code = author.url.rsplit("/", 1)[1]
        expect(
            author.get_by_text("No findings: the item passes the bank's checks.")
        ).to_be_visible()
        new_version = _version_id(server, code)

        ctx, candidate = _signed_in(browser, base, emails["candidate"])
        contexts.append(ctx)
        _never_given(candidate, base, new_version)  # a draft

        author.get_by_role("button", name="Submit for review").click()
        expect(author.get_by_text(f"{code} is now review.")).to_be_visible()
        author.get_by_role("button", name="Approve").click()
        expect(author.get_by_role("alert").filter(has_text="another reviewer")).to_be_visible()
        _never_given(candidate, base, new_version)  # in review

        ctx, reviewer = _signed_in(browser, base, emails["reviewer"])
        contexts.append(ctx)
        reviewer.goto(f"{base}/workbench?q={code}")
        reviewer.get_by_role("link", name=code).click()
        assert reviewer.get_by_role("button", name="Put into the pretest pool").count() == 0
        reviewer.get_by_label("Comment (optional)").first.fill("Clear and keyed right.")
        reviewer.get_by_role("button", name="Approve").click()
        expect(reviewer.get_by_text(f"{code} is now approved.")).to_be_visible()

        ctx, admin = _signed_in(browser, base, emails["admin"])
        contexts.append(ctx)
        admin.goto(f"{base}/workbench/items/{code}")
        admin.get_by_role("button", name="Put into the pretest pool").click()
        expect(admin.get_by_text(f"{code} is now pretest.")).to_be_visible()

        admin.get_by_role("link", name="Preview as a candidate sees it").click()
        expect(admin.get_by_role("group", name="Question 1")).to_be_visible()
        expect(admin.get_by_text(STEM)).to_be_visible()
        axe_check(admin, "the preview")
        admin.go_back()
        admin.get_by_role("link", name="Version history and changes").click()
        axe_check(admin, "the history")
        expect(admin.get_by_text("By Alice Author")).to_be_visible()
        moves = admin.locator("ul li").all_inner_texts()
        assert any("Rob Reviewer · approve: review → approved" in m for m in moves)
        assert any("Ada Admin · pretest: approved → pretest" in m for m in moves)
    finally:
        for ctx in contexts:
            ctx.close()
    _check_records(server, code)


def _version_id(server, code) -> int:
    engine = make_engine(server["env"]["WMI_DATABASE_URL"])
    with Session(engine) as session:
        (vid,) = session.exec(select(Item.current_version_id).where(Item.code == code)).all()
    engine.dispose()
    return vid


def _check_records(server, code) -> None:
    engine = make_engine(server["env"]["WMI_DATABASE_URL"])
    with Session(engine) as session:
        item = session.exec(select(Item).where(Item.code == code)).one()
        assert (item.status, item.pool, item.owner) == ("pretest", "pretest", "workbench")
        audited = [
            json.loads(d) for d in session.exec(
                select(AuditEntry.data)
                .where(AuditEntry.subject == f"item:{code}",
                       AuditEntry.action == "itembank.item_transition")
                .order_by(AuditEntry.seq)
            ).all()
        ]  # fmt: skip
        assert [(d["from"], d["to"]) for d in audited] == [
            ("draft", "review"), ("review", "approved"), ("approved", "pretest")]  # fmt: skip
        revision = session.exec(
            select(PoolRevision).where(PoolRevision.source == f"workbench: {code} pretest")
        ).one()
        assert any(p["id"] == item.current_version_id and p["pretest"] for p in revision.items)
    engine.dispose()


def test_the_qti_pages_pass_axe_and_round_trip_a_package(browser, server, tmp_path):
    """The QTI exchange page, its export download, an import's report and a refused import:
    each page as a person sees it, checked by axe-core."""
    base = server["base"]
    emails, _, _ = _people_and_template(server)
    ctx, author = _signed_in(browser, base, emails["author"])
    try:
        author.goto(base + "/workbench")
        author.get_by_role("link", name="QTI exchange").click()
        expect(author.get_by_role("heading", name="QTI exchange", level=1)).to_be_visible()
        axe_check(author, "the QTI exchange page")
        author.get_by_label("Track", exact=True).first.select_option("CAWM")
        author.get_by_label("Pool", exact=True).first.select_option("pretest")
        with author.expect_download() as download:
            author.get_by_role("button", name="Download the package").click()
        package = tmp_path / download.value.suggested_filename
        download.value.save_as(package)
        assert package.name == "wmi-CAWM-pretest-qti.zip" and package.stat().st_size > 1000

        author.get_by_label("Package (.zip)").set_input_files(str(package))
        author.get_by_role("button", name="Import").click()
        expect(author.get_by_role("heading", name=f"Import of {package.name}")).to_be_visible()
        status = author.get_by_role("status").filter(has_text="already in the bank")
        assert status.inner_text().startswith("0 imported as drafts")  # the bank's own items
        axe_check(author, "an import's report")

        broken = tmp_path / "broken.zip"
        broken.write_bytes(b"this is not a zip archive")
        author.get_by_label("Package (.zip)").set_input_files(str(broken))
        author.get_by_role("button", name="Import").click()
        refused = author.get_by_role("alert").filter(has_text="nothing was imported")
        expect(refused).to_be_visible()
        axe_check(author, "a refused import")
    finally:
        ctx.close()
