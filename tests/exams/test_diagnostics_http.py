"""Per-domain diagnostics on the result page and in the API (issue 14, finding 4): a candidate
who answers everything correctly is told so per domain; a domain with too few questions says
so; the page shows a chart as well as words."""

import re

from tests.factories import exams as fx
from tests.factories.accounts import make_token, make_user, sign_in


def _result_page(client, session, clock, correct):
    """A candidate answers every question right (or wrong); their result page."""
    user = make_user(session)
    attempt = fx.start(session, user, clock)
    while fx.answer(session, user, clock, attempt.id, correct=correct) is not None:
        clock.advance(minutes=0.5)
    sign_in(client, user)
    return user, attempt.id, client.get(f"/exams/attempts/{attempt.id}").text


def test_a_candidate_who_answers_everything_correctly_is_above_in_most_domains(
    client, session, clock
):
    user, aid, page = _result_page(client, session, clock, correct=True)
    assert "CAWM exam: Pass" in page
    assert page.count("Above the standard") >= 4, page
    assert "Near the standard" not in page
    chart = re.search(r'<svg[^>]*role="img"[^>]*aria-labelledby="([^"]+)"', page)
    assert chart, "a chart as well as words"
    assert page.count('class="domain-interval ') == 6

    bearer = {"Authorization": f"Bearer {make_token(session, user)}"}
    result = client.get(f"/api/v1/exams/attempts/{aid}/result", headers=bearer).json()
    domains = result["domains"]
    assert sum(d["result"] == "above" for d in domains) >= 4
    for d in domains:
        assert d["correct"] == d["questions"] and d["relative"] == "in_line"
        assert d["level_range"][0] <= d["level"] <= d["level_range"][1]


def test_a_candidate_who_answers_everything_wrongly_is_below_and_gets_study_links(
    client, session, clock
):
    _, _, page = _result_page(client, session, clock, correct=False)
    assert "CAWM exam: Not passed" in page
    assert page.count("Below the standard") >= 4
    assert page.count('href="/tracks/CAWM/modules/') >= 4
