"""The public pages and documents, the certificant's page and the administrator's acts."""

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from app.credentials import statuslist
from tests.factories.accounts import csrf, make_user, sign_in
from tests.factories.credentials import pass_exam


def test_the_verification_page_needs_no_account(client, session, settings, clock):
    cert = pass_exam(session, settings, make_user(session, name="Ada Lovelace"), now=clock())
    page = client.get(f"/verify/{cert.number}")
    assert page.status_code == 200
    assert "Valid" in page.text and "Ada Lovelace" in page.text
    assert "Certified Associate in Work Management" in page.text
    assert "25 November 2029" in page.text
    for path in (f"/verify/{cert.number}.json", f"/api/v1/verify/{cert.number}"):
        data = client.get(path).json()
        assert data["standing"] == "valid" and data["certificate_number"] == cert.number
        assert data["holder_name"] == "Ada Lovelace"


def test_the_page_says_expiring_soon_then_expired(client, session, settings, clock):
    cert = pass_exam(session, settings, make_user(session), now=clock())
    clock.now = cert.expires_at - timedelta(days=30)
    assert "Valid, expiring soon" in client.get(f"/verify/{cert.number}").text
    clock.now = cert.expires_at + timedelta(seconds=1)
    page = client.get(f"/verify/{cert.number}")
    assert "Expired" in page.text and "no longer in force" in page.text
    assert client.get(f"/api/v1/verify/{cert.number}").json()["standing"] == "expired"


def test_unknown_numbers_are_404(client):
    assert client.get("/verify/WMI-CAWM-2026-AAAA-AAAA").status_code == 404
    assert client.get("/api/v1/verify/nonsense").status_code == 404
    assert client.get("/credentials/WMI-CAWM-2026-AAAA-AAAA.json").status_code == 404


def test_the_lookup_form_redirects_to_the_page(client):
    response = client.get("/verify", params={"number": " wmi-cawm-2026-abco-dxyz "})
    assert response.status_code == 303
    assert response.headers["location"] == "/verify/WMI-CAWM-2026-ABC0-DXYZ"


def test_credential_did_document_and_status_list_are_public(client, session, settings, clock):
    cert = pass_exam(session, settings, make_user(session), now=clock())
    vc = client.get(f"/credentials/{cert.number}.json")
    assert vc.status_code == 200 and vc.headers["content-type"].startswith("application/ld+json")
    assert vc.json()["credentialSubject"]["licenseNumber"] == cert.number
    doc = client.get("/.well-known/did.json").json()
    assert doc["id"] == "did:web:testserver"
    assert doc["verificationMethod"][0]["type"] == "Multikey"
    assert doc["verificationMethod"][0]["publicKeyMultibase"].startswith("z6Mk")
    status_url = vc.json()["credentialStatus"]["statusListCredential"]
    listed = client.get(status_url.removeprefix("http://testserver"))
    assert listed.status_code == 200
    assert listed.headers["cache-control"] == "public, max-age=300"
    subject = listed.json()["credentialSubject"]
    assert subject["type"] == "BitstringStatusList" and subject["statusPurpose"] == "revocation"
    assert len(statuslist.decode(subject["encodedList"])) == 131_072 // 8


def test_the_pdf_has_a_qr_code_to_the_verification_page(client, session, settings, clock):
    cert = pass_exam(session, settings, make_user(session, name="Zoë Ødegård"), now=clock())
    response = client.get(f"/certificates/{cert.number}.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert b"/Subtype /Image" in response.content  # the QR code
    assert len(response.content) > 5_000


def test_the_certificants_page_lists_shares_and_links_to_linkedin(client, session, settings, clock):
    user = make_user(session)
    cert = pass_exam(session, settings, user, now=clock())
    other = pass_exam(session, settings, make_user(session), now=clock())
    anonymous = client.get("/certificates")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/signin")
    sign_in(client, user)
    page = client.get("/certificates")
    assert page.status_code == 200
    assert cert.number in page.text and other.number not in page.text
    assert f"http://testserver/verify/{cert.number}" in page.text
    assert f"/certificates/{cert.number}.pdf" in page.text
    assert "0 of 15 continuing-education units" in page.text
    mine = client.get("/api/v1/certificates").json()
    assert [c["number"] for c in mine] == [cert.number]
    link = urlsplit(mine[0]["linkedin_url"])
    query = parse_qs(link.query)
    assert link.netloc == "www.linkedin.com" and link.path == "/profile/add"
    assert query["startTask"] == ["CERTIFICATION_NAME"]
    assert query["certId"] == [cert.number]
    assert query["certUrl"] == [f"http://testserver/verify/{cert.number}"]
    assert query["organizationName"] == ["Work Management Institute"]
    assert query["issueYear"] == ["2026"] and query["expirationYear"] == ["2029"]


def _log(client, token, **fields):
    data = {
        "track": "CAWM",
        "provider": "WMI Academy",
        "activity_date": "2027-03-01",
        "units": "5",
        "category": "course",
        "note": "",
        "csrf_token": token,
        **fields,
    }
    return client.post("/certificates/ceu", data=data)


def test_enough_ceu_within_the_cycle_renews_and_supersedes(client, session, settings, clock):
    user = make_user(session)
    old = pass_exam(session, settings, user, now=clock())
    sign_in(client, user)
    clock.advance(days=400)
    token = csrf(client)
    bad = _log(client, token, units="0", provider="")
    assert bad.status_code == 422
    assert _log(client, token, activity_date="2031-01-01").status_code == 422
    assert _log(client, token, note="bad\x01note").status_code == 422
    assert _log(client, token).status_code == 303
    assert _log(client, token, category="conference").status_code == 303
    page = client.get("/certificates")
    assert "10 of 15 continuing-education units" in page.text
    response = _log(client, token, units="5", note="Line one\nline two")
    assert response.status_code == 303
    page = client.get("/certificates")
    assert "Renewed: your new certificate is" in page.text
    mine = client.get("/api/v1/certificates").json()
    assert [c["standing"] for c in mine] == ["valid", "superseded"]
    assert mine[1]["number"] == old.number
    # the new cycle runs three years from the old expiry, not from today
    assert mine[0]["expires_at"].startswith("2032-11-25")
    assert mine[0]["renewal"]["earned_units"] == 0
    assert client.get(f"/api/v1/verify/{old.number}").json()["superseded_by"] == (mine[0]["number"])


def test_ceu_needs_a_certificate_in_force(client, session, settings, clock):
    user = make_user(session)
    sign_in(client, user)
    assert _log(client, csrf(client)).status_code == 409


def test_administrators_issue_revoke_and_reinstate(client, session, settings, clock):
    from tests.factories.credentials import require_approval

    require_approval(session)
    admin = make_user(session, role="admin")
    learner = make_user(session, name="Pat Pending")
    pending = pass_exam(session, settings, learner, now=clock())
    assert client.get("/admin/certificates").status_code == 303  # to the sign-in page
    sign_in(client, learner)
    assert client.get("/admin/certificates").status_code == 403
    client.cookies.clear()
    sign_in(client, admin)
    listing = client.get("/admin/certificates", params={"status": "pending"})
    assert pending.number in listing.text and "Approve and issue" in listing.text
    token = csrf(client)
    assert client.post(f"/admin/certificates/{pending.id}/issue").status_code == 403  # no CSRF
    issued = client.post(f"/admin/certificates/{pending.id}/issue", data={"csrf_token": token})
    assert issued.status_code == 303
    assert client.get(f"/api/v1/verify/{pending.number}").json()["standing"] == "valid"

    short = client.post(
        f"/admin/certificates/{pending.number}/revoke", data={"csrf_token": token, "reason": ""}
    )
    assert short.status_code == 422 and "Nothing has changed yet" in short.text
    assert client.get(f"/api/v1/verify/{pending.number}").json()["standing"] == "valid"
    revoke = {
        "csrf_token": token,
        "reason": "Result annulled after an appeal",
        "note": "Case 14: proctor report of a second screen",
    }
    asked = client.post(f"/admin/certificates/{pending.number}/revoke", data=revoke)
    assert asked.status_code == 200 and f"Revoke certificate {pending.number}?" in asked.text
    assert 'name="confirm" value="yes"' in asked.text and "Yes, revoke it" in asked.text
    assert client.get(f"/api/v1/verify/{pending.number}").json()["standing"] == "valid"
    revoked = client.post(
        f"/admin/certificates/{pending.number}/revoke", data={**revoke, "confirm": "yes"}
    )
    assert revoked.status_code == 303
    for public in (
        client.get(f"/verify/{pending.number}").text,
        client.get(f"/verify/{pending.number}.json").text,
        client.get(f"/credentials/{pending.number}.json").text,
    ):
        assert "second screen" not in public
    page = client.get(f"/verify/{pending.number}")
    assert "Revoked" in page.text and "Result annulled after an appeal" in page.text
    listing = client.get("/admin/certificates").text
    assert "Internal note: Case 14: proctor report of a second screen" in listing
    reinstate = {"csrf_token": token, "reason": "Appeal upheld"}
    reasonless = client.post(
        f"/admin/certificates/{pending.number}/reinstate", data={"csrf_token": token}
    )
    assert reasonless.status_code == 422
    asked = client.post(f"/admin/certificates/{pending.number}/reinstate", data=reinstate)
    assert asked.status_code == 200 and "Yes, reinstate it" in asked.text
    assert client.get(f"/api/v1/verify/{pending.number}").json()["standing"] == "revoked"
    back = client.post(
        f"/admin/certificates/{pending.number}/reinstate", data={**reinstate, "confirm": "yes"}
    )
    assert back.status_code == 303
    assert client.get(f"/api/v1/verify/{pending.number}").json()["standing"] == "valid"
    audit = client.get("/admin/audit").text
    for action in ("certificate.issued", "certificate.revoked", "certificate.reinstated"):
        assert action in audit


def test_reminders_go_out_once_at_90_30_and_7_days(session, settings, clock):
    from sqlmodel import select

    from app.core.models import OutboxMessage
    from app.credentials import renewal

    user = make_user(session, email="rem@example.org")
    cert = pass_exam(session, settings, user, now=clock())

    def sweep(days_before: float) -> int:
        return renewal.send_reminders(
            session=session, settings=settings, now=cert.expires_at - timedelta(days=days_before)
        )

    assert sweep(120) == 0
    assert sweep(90) == 1
    assert sweep(89) == 0
    assert sweep(30) == 1
    assert sweep(20) == 0
    assert sweep(6) == 1
    assert sweep(1) == 0
    assert sweep(-1) == 0  # expired: nothing more to remind
    mails = session.exec(
        select(OutboxMessage).where(OutboxMessage.kind == "certificate_reminder")
    ).all()
    assert [m.to_address for m in mails] == ["rem@example.org"] * 3
    assert "expires in 90 days" in mails[0].subject
    assert cert.number in mails[0].body and "/certificates" in mails[0].body


def test_a_sweep_that_was_down_sends_only_the_most_urgent_reminder(session, settings, clock):
    from app.credentials import renewal

    cert = pass_exam(session, settings, make_user(session), now=clock())
    late = cert.expires_at - timedelta(days=5)
    assert renewal.send_reminders(session=session, settings=settings, now=late) == 1
    assert renewal.send_reminders(session=session, settings=settings, now=late) == 0


def test_the_hooks_are_wired_into_the_app(app, session, settings, clock):
    user = make_user(session)
    assert app.state.ports.certified_tracks(session, user.id) == set()
    ports = app.state.ports
    cert = ports.on_exam_passed(session, 4242, user_id=user.id, track="WMP", passed_at=clock())
    assert cert.track == "WMP" and cert.status == "active"
    assert app.state.ports.certified_tracks(session, user.id) == {"WMP"}
    assert json.loads(cert.credential)["credentialSubject"]["achievement"]["humanCode"] == "WMP"


def test_the_hook_reads_a_passed_attempt_through_the_exams_service(app, session, clock):
    from app.exams.models import ExamAttempt, ExamPool

    user = make_user(session)
    finished = clock() - timedelta(minutes=5)
    pool = ExamPool(track="CAWM", digest="0" * 64, items=[], created_at=finished)
    session.add(pool)
    session.commit()

    def attempt(passed: bool) -> int:
        row = ExamAttempt(
            user_id=user.id,
            track="CAWM",
            status="finished",
            started_at=finished - timedelta(hours=1),
            deadline_at=finished + timedelta(hours=1),
            finished_at=finished,
            passed=passed,
            pool_id=pool.id,
        )
        session.add(row)
        session.commit()
        return row.id

    assert app.state.ports.on_exam_passed(session, attempt(False)) is None
    cert = app.state.ports.on_exam_passed(session, attempt(True))
    assert cert.user_id == user.id and cert.track == "CAWM" and cert.status == "active"
    assert cert.earned_at.replace(tzinfo=None) == finished.replace(tzinfo=None)
    assert app.state.ports.certified_tracks(session, user.id) == {"CAWM"}


def test_the_admin_api_revokes_and_reinstates_with_a_token(client, session, settings, clock):
    from tests.factories.accounts import make_token
    from tests.factories.credentials import require_approval

    require_approval(session)
    admin = make_user(session, role="admin")
    pending = pass_exam(session, settings, make_user(session), now=clock())
    headers = {"Authorization": f"Bearer {make_token(session, admin)}"}
    learner = {"Authorization": f"Bearer {make_token(session, make_user(session))}"}
    base = "/api/v1/admin/certificates"
    assert client.get(base, headers=learner).status_code == 403
    rows = client.get(base, params={"status": "pending"}, headers=headers).json()
    assert [r["number"] for r in rows] == [pending.number]
    issued = client.post(f"{base}/{pending.id}/issue", headers=headers)
    assert issued.status_code == 200 and issued.json()["standing"] == "valid"
    short = client.post(f"{base}/{pending.number}/revoke", json={"reason": ""}, headers=headers)
    assert short.status_code == 422
    revoked = client.post(
        f"{base}/{pending.number}/revoke", json={"reason": "Issued in error"}, headers=headers
    )
    assert revoked.json()["standing"] == "revoked"
    assert revoked.json()["revocation_reason"] == "Issued in error"
    again = client.post(
        f"{base}/{pending.number}/revoke", json={"reason": "Issued in error"}, headers=headers
    )
    assert again.status_code == 409
    reasonless = client.post(f"{base}/{pending.number}/reinstate", headers=headers)
    assert reasonless.status_code == 422
    back = client.post(
        f"{base}/{pending.number}/reinstate", json={"reason": "Issued correctly"}, headers=headers
    )
    assert back.json()["standing"] == "valid"


def test_wmi_keys_rotate_and_the_sweep(session, settings, monkeypatch):
    from typer.testing import CliRunner

    from app.cli import cli, sweep
    from app.core.config import get_settings
    from app.credentials import did

    monkeypatch.setenv("WMI_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("WMI_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("WMI_BASE_URL", settings.base_url)
    monkeypatch.setenv("WMI_SECRET_KEY", settings.secret_key)  # the KEK is derived from it
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        first = runner.invoke(cli, ["keys", "list"])
        assert first.exit_code == 0 and first.output.count("did:web:testserver#z6Mk") == 1
        rotated = runner.invoke(cli, ["keys", "rotate"])
        assert rotated.exit_code == 0, rotated.output
        assert len(did.all_keys(session, settings)) == 2
        assert sweep.run_sweep(settings).certificate_reminders == 0
    finally:
        get_settings.cache_clear()
