"""The review draw is reproducible from its documented seed and draws only live exam items."""

import random

from app.core.config import ROOT
from app.itembank import sample
from app.itembank.files import read_banks


def test_draw_follows_the_documented_method():
    bank = read_banks(ROOT / "question_banks")
    ids = sorted(b.item.id for b in bank.of("WMP", "exam") if b.item.status == "operational")
    drawn = sample.draw(bank, track="WMP", seed=2026, n=30)
    assert [i.id for i in drawn] == random.Random(2026).sample(ids, 30)
    assert [i.id for i in sample.draw(bank, track="WMP", seed=2026, n=30)] == [i.id for i in drawn]
    assert [i.id for i in sample.draw(bank, track="WMP", seed=7, n=30)] != [i.id for i in drawn]
    text = sample.packet(bank, tracks=("CAWM", "WMP", "CWA"), seed=2026, n=30)
    assert text.count("\n### ") == 90 and "random.Random(2026).sample(ids, 30)" in text
    assert all(f"### WMP {n}. {i.id} " in text for n, i in enumerate(drawn, start=1))
