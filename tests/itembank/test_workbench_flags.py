"""The workbench's list filtered by the flags of the item analysis (app/psychops), which reach
itembank through the port create_app wires (app.itembank.flags, app.wiring.item_flags)."""

from sqlmodel import select

from app.accounts.models import Role
from app.core.clock import to_db
from app.itembank import flags
from app.itembank.models import Item
from app.psychops import snapshots
from app.psychops.analysis import ItemStats
from app.psychops.analysis_models import ItemAnalysis
from tests.factories.accounts import make_token, make_user, sign_in


def _stats(code: str, version: int, *flagged: str) -> dict:
    return ItemStats(item=code, version=version, pretest=False, n=80, p=0.5, r_theta=0.3,
                     median_seconds=30.0, rmsd=0.05, flags=flagged).to_dict()  # fmt: skip


def _analyses(session, clock) -> list[Item]:
    """Two analyses of CAWM: the older flags an item the newer does not."""
    items = session.exec(
        select(Item).where(Item.track == "CAWM", Item.pool == "exam").order_by(Item.code).limit(4)
    ).all()  # fmt: skip
    weak, hard, cleared, old = items
    v = {i.code: int(i.current_version_id or 0) for i in items}
    rows = [
        [_stats(old.code, v[old.code], "very easy")],
        [
            _stats(weak.code, v[weak.code], "weak discrimination"),
            _stats(hard.code, v[hard.code], "very hard", "misfit (RMSD)"),
            _stats(cleared.code, 0, "often omitted"),  # an older version was flagged ...
            _stats(cleared.code, v[cleared.code]),  # ... its newest analysed one is not
            _stats(old.code, v[old.code]),
        ],
    ]
    for analysed in rows:
        row = ItemAnalysis(track="CAWM", attempts=120, responses=4000, computed_at=to_db(clock()))
        session.add(row)
        session.flush()
        snapshots.add_items(session, int(row.id), analysed)
        session.commit()
    return items


def test_the_list_filters_on_the_newest_analysis_flags(client, session, clock):
    weak, hard, _, _ = _analyses(session, clock)
    sign_in(client, make_user(session, role=Role.author.value))

    def listed(**params) -> str:
        page = client.get("/workbench", params=params)
        assert page.status_code == 200
        return page.text

    page = listed(flag="any")
    assert "2 items" in page and weak.code in page and hard.code in page
    assert "very hard, misfit (RMSD)" in page  # the flags column
    assert '<option value="weak discrimination">' in page  # the filter's choices
    page = listed(flag="weak discrimination", track="CAWM")
    assert "1 item" in page and weak.code in page and hard.code not in page
    assert "0 items" in listed(flag="often omitted")  # only on an older version
    assert "0 items" in listed(flag="very easy")  # only in the older analysis
    assert "0 items" in listed(flag="any", track="WMP")  # no analysis of WMP
    assert listed(flag="x" * 41).count("Some filters were not valid") == 1


def test_the_api_filters_on_flags_and_lists_them(client, session, clock):
    weak, hard, _, _ = _analyses(session, clock)
    token = make_token(session, make_user(session, role=Role.author.value))
    r = client.get("/api/v1/workbench/items", params={"flag": "any"},
                   headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert r.status_code == 200
    assert {i["code"]: i["flags"] for i in r.json()["items"]} == {
        weak.code: ["weak discrimination"], hard.code: ["very hard", "misfit (RMSD)"],
    }  # fmt: skip


def test_without_the_port_no_item_is_flagged():
    assert flags.NO_FLAGS.of_items(None, "CAWM") == {}  # type: ignore[arg-type]
    assert flags.matching({"A": ("very hard",), "B": ()}, flags.ANY) == ["A"]
    assert flags.matching({"A": ("very hard",), "B": ("very easy",)}, "very easy") == ["B"]
