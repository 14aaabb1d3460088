"""A study through the services: rounds, ratings, approval, and every refusal."""

import numpy as np
import pytest
from sqlmodel import select

from app.core import mail as core_mail
from app.core.errors import Conflict, InvalidInput
from app.core.models import AuditEntry, OutboxMessage
from app.courses import service as courses
from app.itembank import service as itembank
from app.psychometrics import standard_setting as ss
from app.standards import angoff, approval, service
from app.standards.errors import NotOnPanel, StudyState
from app.standards.models import StudyItem
from tests.factories.accounts import make_user
from tests.factories.exams import make_admin
from tests.factories.standards import make_panelist, make_study, rate

ROUND_1 = [[70, 60, 50, 40, 30, 80], [90, 80, 70, 60, 50, 95], [80, 70, 60, 50, 40, 85]]
ROUND_2 = [[80, 70, 60, 45, 40, 85], [75, 65, 55, 45, 30, 90], [85, 75, 70, 55, 35, 80]]


def _run(session, clock, admin, study, panel, *rounds):
    for values in rounds:
        service.open_round(session=session, admin=admin, study_id=study.id, now=clock())
        for user, row in zip(panel, values, strict=True):
            assert rate(session, clock, study.id, user, row).errors == {}
        service.close_round(session=session, admin=admin, study_id=study.id, now=clock())


def _params(session, study_id):
    rows = session.exec(select(StudyItem).where(StudyItem.study_id == study_id)).all()
    versions = itembank.versions_by_id(session, [r.item_version_id for r in rows])
    return [[getattr(versions[r.item_version_id][1], x) for r in rows] for x in "abc"]


def test_two_rounds_to_an_approved_cut_in_force_from_its_date(session, settings, clock):
    admin, panel = make_admin(session), [make_panelist(session) for _ in range(3)]
    study = make_study(session, settings, admin, clock, panelists=panel)
    _run(session, clock, admin, study, panel, ROUND_1, ROUND_2)
    result = angoff.round_result(session, study, 2).result
    assert result.raw_cut == pytest.approx(3.80) and result.se == pytest.approx(0.2 / 3**0.5)
    expected = ss.theta_for_raw(3.80, *_params(session, study.id)).theta
    assert result.theta.theta == pytest.approx(expected)
    done = approval.approve(
        session=session, admin=admin, study_id=study.id, effective_at=clock(), now=clock()
    )
    track = courses.get_track(session, "CAWM")
    cut = courses.cut_in_force(session, track=track, now=clock())
    assert done.status == "approved" and cut.theta == pytest.approx(expected, abs=1e-4)
    assert cut.source == f"Angoff study {study.id}"
    actions = session.exec(
        select(AuditEntry.action).where(AuditEntry.subject == f"study:{study.id}")
    )
    assert set(actions.all()) >= {
        "standards.study_created",
        "standards.panelist_added",
        "standards.round_opened",
        "standards.ratings_saved",
        "standards.round_closed",
        "standards.study_approved",
    }


def test_round_two_starts_from_each_panelists_own_round_one_ratings(session, settings, clock):
    admin, panel = make_admin(session), [make_panelist(session) for _ in range(3)]
    study = make_study(session, settings, admin, clock, panelists=panel)
    _run(session, clock, admin, study, panel, ROUND_1)
    service.open_round(session=session, admin=admin, study_id=study.id, now=clock())
    rows = angoff.round_result(session, study, 2).rows
    assert [r.values for r in rows][0] == (70.0, 90.0, 80.0)


def test_a_rating_outside_0_to_100_is_named_and_the_others_are_kept(session, settings, clock):
    admin, panel = make_admin(session), [make_panelist(session)]
    study = make_study(session, settings, admin, clock, panelists=panel, min_panelists=1)
    service.open_round(session=session, admin=admin, study_id=study.id, now=clock())
    saved = rate(session, clock, study.id, panel[0], [80, 120, "", "abc", -5, "55%"])
    assert saved.saved == (1, 6)
    assert saved.errors[2] == "Item 2: 120 is outside 0 to 100; enter a percentage."
    assert "not a number" in saved.errors[4] and "outside 0 to 100" in saved.errors[5]
    assert angoff.completion(session, study) == {panel[0].id: 2}


def test_approval_is_refused_with_the_reason(session, settings, clock):
    admin, panel = make_admin(session), [make_panelist(session) for _ in range(2)]
    study = make_study(session, settings, admin, clock, panelists=panel)

    def approve():
        approval.approve(
            session=session, admin=admin, study_id=study.id, effective_at=clock(), now=clock()
        )

    service.open_round(session=session, admin=admin, study_id=study.id, now=clock())
    with pytest.raises(StudyState, match="Round 1 of 2 is still open; close it"):
        approve()
    for user, row in zip(panel, ROUND_1, strict=False):
        rate(session, clock, study.id, user, row)
    service.close_round(session=session, admin=admin, study_id=study.id, now=clock())
    with pytest.raises(StudyState, match="Only 1 of the 2 planned rounds"):
        approve()
    service.open_round(session=session, admin=admin, study_id=study.id, now=clock())
    rate(session, clock, study.id, panel[1], ["", "", "", "", "", ""])  # nothing new
    service.close_round(session=session, admin=admin, study_id=study.id, now=clock())
    with pytest.raises(
        StudyState, match="2 panelists rated every item in round 2; the study needs at least 3"
    ):
        approve()


def test_panel_membership_and_roles(session, settings, clock):
    admin, panelist, learner = make_admin(session), make_panelist(session), make_user(session)
    study = make_study(session, settings, admin, clock, panelists=[panelist])
    with pytest.raises(Conflict, match="is a learner; only accounts with the panelist role"):
        make_study(session, settings, admin, clock, panelists=[learner])
    with pytest.raises(Conflict, match="already on this panel"):
        service.add_panelist(
            session=session,
            settings=settings,
            admin=admin,
            study_id=study.id,
            email=panelist.email,
            name="",
            now=clock(),
        )
    other = make_panelist(session)
    service.open_round(session=session, admin=admin, study_id=study.id, now=clock())
    with pytest.raises(NotOnPanel):
        rate(session, clock, study.id, other, [50])


def test_an_invited_address_gets_a_panelist_account_and_a_mail(session, settings, clock):
    admin = make_admin(session)
    study = make_study(session, settings, admin, clock)
    user = service.add_panelist(
        session=session,
        settings=settings,
        admin=admin,
        study_id=study.id,
        email="Expert@Example.org",
        name="An Expert",
        now=clock(),
    )
    assert user.role == "panelist" and user.email == "expert@example.org"
    mail = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "invitation")).one()
    assert mail.to_address == "expert@example.org" and "token=" not in mail.body  # sealed
    assert "/password/reset?token=" in core_mail.readable_body(mail, settings)


def test_a_blueprint_form_follows_the_weights(session, settings, clock):
    admin = make_admin(session)
    study = service.create_study(
        session=session,
        admin=admin,
        now=clock(),
        setup=service.StudySetup(track="CAWM", title="Form", form_size=40, seed=3),
    )
    rows = session.exec(select(StudyItem).where(StudyItem.study_id == study.id)).all()
    versions = itembank.versions_by_id(session, [r.item_version_id for r in rows])
    domains = [versions[r.item_version_id][0].domain for r in rows]
    weights = {
        str(d["code"]): d["weight"] for d in courses.get_track(session, "CAWM").policy["blueprint"]
    }
    for code, weight in weights.items():
        assert abs(domains.count(code) - 40 * weight) < 1
    assert len(set(r.item_version_id for r in rows)) == 40
    with pytest.raises(InvalidInput, match="Not operational CAWM exam items: NOPE-1"):
        service.create_study(
            session=session,
            admin=admin,
            now=clock(),
            setup=service.StudySetup(track="CAWM", title="x", item_codes=["NOPE-1"]),
        )


def test_impact_uses_the_candidates_tested_so_far(session, settings, clock):
    admin, panel = make_admin(session), [make_panelist(session) for _ in range(3)]
    study = make_study(session, settings, admin, clock, panelists=panel)
    _run(session, clock, admin, study, panel, ROUND_1)
    result = angoff.round_result(session, study, 1)
    assert result.candidates == 0 and result.result.row(0).pass_rate is None
    assert np.isnan(angoff.pass_rate_curve(session, study)[1]).all()
