"""A documented random draw of exam items for an independent review (docs/ITEM_REVIEW.md).

The draw is reproducible by anyone with the repository: for each track, the ids of the
operational items of the exam pool, sorted as strings, then `random.Random(seed).sample(ids, n)`
(the method of the earlier reviews). The packet shows each item as a candidate would meet it
(stem and options), then, separately, what the reviewer judges: key, rationales, level, fact
(with the catalogue's paraphrase and FACTS.md section) and sources.
"""

import random

from app.itembank.files import LETTERS, Bank, ItemFile


def draw(bank: Bank, *, track: str, seed: int, n: int = 30) -> list[ItemFile]:
    items = {b.item.id: b.item for b in bank.of(track, "exam") if b.item.status == "operational"}
    ids = random.Random(seed).sample(sorted(items), min(n, len(items)))
    return [items[i] for i in ids]


def packet(bank: Bank, *, tracks: tuple[str, ...], seed: int, n: int = 30) -> str:
    """The review packet as Markdown: the draw's method, then every drawn item."""
    lines = [
        f"# Item review packet: {n} random exam items per track, seed {seed}",
        "",
        "Draw: per track, the ids of the operational exam items sorted as strings, then",
        f"`random.Random({seed}).sample(ids, {n})` (app/itembank/sample.py; `wmi bank sample`).",
        "Judge each item against ../shared/wmbok/FACTS.md only (docs/ITEM_REVIEW.md lists the",
        "tests). Read the stem and options first and answer before reading the key.",
    ]
    facts = bank.facts or {}
    for track in tracks:
        drawn = draw(bank, track=track, seed=seed, n=n)
        lines += [
            "",
            f"## {track} ({len(drawn)} items)",
            "",
            "Ids: " + ", ".join(i.id for i in drawn),
        ]
        for number, item in enumerate(drawn, start=1):
            lines += ["", f"### {track} {number}. {item.id} (v{item.version}, {item.type})", ""]
            lines += [" ".join(item.stem.split()), ""]
            lines += [f"- {LETTERS[k]}. {o.text}" for k, o in enumerate(item.options)]
            fact = facts.get(item.fact)
            lines += [
                "",
                "<details><summary>Key and metadata</summary>",
                "",
                f"- Key: {', '.join(item.keys)}",
                f"- Level: {item.level}; difficulty {item.difficulty}; domain {item.domain}",
                f"- Fact: `{item.fact}`"
                + (f" (FACTS.md {fact.section}, {fact.tag}): {fact.idea}" if fact else ""),
                f"- Sources: {', '.join(item.sources)}",
            ]
            lines += [f"- {LETTERS[k]}: {o.rationale}" for k, o in enumerate(item.options)]
            lines += ["", "</details>"]
    return "\n".join(lines) + "\n"
