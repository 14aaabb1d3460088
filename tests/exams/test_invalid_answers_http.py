"""Invalid answers without JavaScript: the question page comes back with the message beside the
question, the clock and what was chosen; the attempt is unchanged (issue 14, blocker 2)."""

import re

from sqlmodel import select

from app.exams.agreement import VERSION as AGREEMENT
from app.exams.models import ExamAttempt
from tests.exams.test_http import form_fields
from tests.factories.accounts import csrf, make_user, sign_in


def _started(client, session):
    user = make_user(session)
    sign_in(client, user)
    token = csrf(client)
    url = client.post(
        "/exams/CAWM/start", data={"csrf_token": token, "agreement": AGREEMENT}
    ).headers["location"]
    return user, token, url, form_fields(client.get(url).text)


def test_an_ordering_with_a_repeated_position_comes_back_on_the_question(client, session):
    user, token, url, item = _started(client, session)
    data = {"position": item["position"], "token": item["token"], "csrf_token": token}
    data.update({"rank_A": "1", "rank_B": "1", "rank_C": "2", "rank_D": "3"})
    r = client.post(f"{url}/answer", data=data)
    assert r.status_code == 422
    assert "Give every element a different position" in r.text
    assert item["token"] in r.text and "Time left" in r.text  # the question and the clock
    assert re.search(r'<fieldset class="question"[^>]*aria-describedby="answer-error"', r.text)
    attempt = session.exec(select(ExamAttempt).where(ExamAttempt.user_id == user.id)).one()
    session.refresh(attempt)
    assert attempt.step == 0 and attempt.status == "open"


def test_a_damaged_position_comes_back_on_the_question(client, session):
    _, token, url, item = _started(client, session)
    r = client.post(
        f"{url}/answer", data={"position": "x", "token": item["token"], "csrf_token": token}
    )
    assert r.status_code == 422 and "reload the page" in r.text
    assert item["token"] in r.text and "Time left" in r.text
