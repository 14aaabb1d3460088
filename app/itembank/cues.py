"""Answer cues a test-wise candidate could use, per item and per group of items (issue 19).

Each cue has a *chance* value: the probability that it points at a key in an item written
without the cue (keys placed and worded independently of the option lengths and forms). A group
of items shows the cue at `rate`; `ratio` = rate / chance. `wmi bank check` holds each cue to at
most `cue_factor` (1.5) times chance per track and pool; `wmi bank stats` prints rate and chance.

Lengths are of the option texts as written (characters, stripped); "longest" and "shortest" are
strict (a tie is no cue). An option is *justified* when it carries a reason clause ("..., because
...", "since", "so that", ", which ..."; a bare ";" is not one); the *odd one out* is the one
option whose form (justified or not) differs from all the others; the *odd opening* is the one
option whose first word differs from the first word all the others share ("The plan is sound",
"The plan is sound if …", "More communication raises …"; "a" and "an" count as one word).

Issue 19's second review asked for three more (its "Observations for the lead" 3):
- *clang*: the one option that shares a content word with the stem (words lower-cased, a short
  stop-word list left out, each cut to a crude stem so "names"/"name" and "enter"/"entry" meet);
  measured like the other cues: in items where exactly one option shares a word, that option is a
  key at about the key share by chance;
- *filler-short*: an option under 0.4x the longest option of a single item;
- a *reason clause* without the bare semicolon: `justified` counted "; …" as a reason, so a key
  written "X; Y" beside "The plan fails, because …" passed as justified. Reported as advice from
  16:15 to 17:40 on 2026-12-06 (rule `reason-clause`), then, with every track clean, made the
  definition `justified` uses, so `parallel-form` and `odd-one-out` apply it.
"""

import functools
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from app.itembank.files import LETTERS, ItemFile

REASON_CLAUSE = re.compile(
    r"\b(because|since|given that|so that)\b|[,;:]\s*(which|as|so|thus|then)\b", re.IGNORECASE
)
FILLER_SHARE = 0.4
_STOP = """a about above after again against all also am an and any are as at be been before being
    below between both but by can could did do does doing down during each either else even every
    few for from further had has have having he her here hers him his i if in into is it its itself
    just least less let like may me might more most much must my neither no nor not now of off on
    once one only or other others our ours out over per rather same she should so some such
    than that the their theirs them then there these they this those through thus to too two under
    until up upon us very via was we were whether which while whom whose will with within without
    would yet you your wmi wmi's work best following option statement true"""
STOP_WORDS = frozenset(_STOP.split())
SUFFIXES = ("ations", "ation", "ings", "ing", "ities", "ity", "ies", "ers", "er", "ry", "ed", "es")
SUFFIXES += ("ly", "s", "y", "e")


def option_lengths(item: ItemFile) -> list[int]:
    return [len(o.text.strip()) for o in item.options]


def justified(text: str) -> bool:
    """A reason clause proper: "because", "since", "so that", ", which …"; a bare ";" is not."""
    return bool(REASON_CLAUSE.search(text))


def word_stem(word: str) -> str:
    """A crude stem: the first matching suffix cut while at least three letters remain."""
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


@functools.lru_cache(maxsize=32_768)
def content_words(text: str) -> frozenset[str]:
    """Cached: the workbench measures its pool's cues again on every save (authoring_pool)."""
    words = (w.strip("'") for w in re.findall(r"[a-z0-9][a-z0-9']*", text.lower()))
    return frozenset(word_stem(w.removesuffix("'s")) for w in words if w and w not in STOP_WORDS)


def stem_sharers(item: ItemFile) -> list[int]:
    """Indexes of the options sharing at least one content word with the stem."""
    stem = content_words(item.stem)
    return [i for i, o in enumerate(item.options) if content_words(o.text) & stem]


def lone_sharer(item: ItemFile) -> int | None:
    """The one option that shares a content word with the stem, if exactly one does."""
    sharers = stem_sharers(item)
    return sharers[0] if len(sharers) == 1 else None


def lone_echo(item: ItemFile) -> int | None:
    """The one option that alone repeats some content word of the stem (each such word held by
    that option only), if exactly one option does: a word-level clang, seen even when every
    option shares some other word with the stem."""
    options = [content_words(o.text) for o in item.options]
    echoes = set()
    for word in content_words(item.stem):
        holders = [j for j, words in enumerate(options) if word in words]
        if len(holders) == 1:
            echoes.add(holders[0])
    return echoes.pop() if len(echoes) == 1 else None


def filler_short(item: ItemFile) -> list[int]:
    """Indexes of the options shorter than FILLER_SHARE x the longest (single items)."""
    lengths = option_lengths(item)
    return [i for i, n in enumerate(lengths) if n < FILLER_SHARE * max(lengths)]


def key_indexes(item: ItemFile) -> set[int]:
    return {LETTERS.index(k) for k in item.keys}


def strict_extreme(lengths: list[int], pick: Callable[[Iterable[int]], int]) -> int | None:
    """Index of the strictly longest (pick=max) or shortest (pick=min) option, None on a tie."""
    best = pick(lengths)
    return lengths.index(best) if lengths.count(best) == 1 else None


def keyed_set_is_extreme(item: ItemFile, *, longest: bool) -> bool:
    """Every keyed option strictly longer (or shorter) than every other option."""
    lengths, keys = option_lengths(item), key_indexes(item)
    keyed = [n for i, n in enumerate(lengths) if i in keys]
    others = [n for i, n in enumerate(lengths) if i not in keys]
    return min(keyed) > max(others) if longest else max(keyed) < min(others)


def odd_one_out(item: ItemFile, forms: list[bool] | None = None) -> int | None:
    """Index of the one option whose form (`forms`, default `justified`) differs from the rest."""
    forms = forms if forms is not None else [justified(o.text) for o in item.options]
    for form in (True, False):
        if forms.count(form) == 1 and len(forms) >= 3:
            return forms.index(form)
    return None


def opening(text: str) -> str:
    word = text.split()[0].lower().strip(",.:;\"'") if text.split() else ""
    return "a" if word == "an" else word


def odd_opening(item: ItemFile) -> int | None:
    """Index of the one option that opens with another word than all the others, if any."""
    words = [opening(o.text) for o in item.options]
    for i, word in enumerate(words):
        rest = set(words[:i] + words[i + 1 :])
        if len(words) >= 3 and len(rest) == 1 and word not in rest:
            return i
    return None


def _key_share(item: ItemFile) -> float:
    return len(item.keys) / len(item.options)


@dataclass(frozen=True)
class Cue:
    name: str
    label: str
    applies: Callable[[ItemFile], bool]  # the items the cue is measured over
    hit: Callable[[ItemFile], bool]  # the cue points at a key
    chance: Callable[[ItemFile], float]  # probability of a hit in an item without the cue
    detail: Callable[[ItemFile], str] | None = None  # what the cue saw in one item


def shared_words(item: ItemFile) -> str:
    """The lone sharer's letter and the stems of the words it shares with the stem."""
    i = lone_sharer(item)
    if i is None:
        return ""
    words = content_words(item.stem) & content_words(item.options[i].text)
    return f"{LETTERS[i]} alone shares {', '.join(sorted(words))}"


def echoed_words(item: ItemFile) -> str:
    """The lone echo's letter and the stem's words only it repeats."""
    i = lone_echo(item)
    if i is None:
        return ""
    others = set().union(*(content_words(o.text) for j, o in enumerate(item.options) if j != i))
    words = content_words(item.stem) & content_words(item.options[i].text) - others
    return f"{LETTERS[i]} alone repeats {', '.join(sorted(words))}"


def _is(kind: str) -> Callable[[ItemFile], bool]:
    return lambda i: i.type == kind


def _longest_is_key(i: ItemFile) -> bool:
    return strict_extreme(option_lengths(i), max) in key_indexes(i)


def _shortest_is_key(i: ItemFile) -> bool:
    return strict_extreme(option_lengths(i), min) in key_indexes(i)


def _has_longest(i: ItemFile) -> bool:
    return i.type != "ordering" and strict_extreme(option_lengths(i), max) is not None


def _has_shortest(i: ItemFile) -> bool:
    return i.type != "ordering" and strict_extreme(option_lengths(i), min) is not None


def _keyed_extreme(longest: bool) -> Cue:
    word = "longest" if longest else "shortest"
    return Cue(
        f"mr-keyed-{word}",
        f"multiple response: the keys are exactly the {word} options",
        _is("multiple"),
        lambda i: keyed_set_is_extreme(i, longest=longest),
        lambda i: 1 / math.comb(len(i.options), len(i.keys)),
    )


CUES: tuple[Cue, ...] = (
    _keyed_extreme(longest=True),
    _keyed_extreme(longest=False),
    Cue(
        "longest-is-key",
        "the strictly longest option is a key (single and multiple)",
        _has_longest,
        _longest_is_key,
        _key_share,
    ),
    Cue(
        "shortest-is-key",
        "the strictly shortest option is a key (single and multiple)",
        _has_shortest,
        _shortest_is_key,
        _key_share,
    ),
    Cue(
        "odd-one-out",
        "the one option worded differently (reason clause or not) is a key",
        lambda i: i.type != "ordering" and odd_one_out(i) is not None,
        lambda i: odd_one_out(i) in key_indexes(i),
        _key_share,
    ),
    Cue(
        "odd-opening",
        "the one option opening with another word than all the others is a key",
        lambda i: i.type != "ordering" and odd_opening(i) is not None,
        lambda i: odd_opening(i) in key_indexes(i),
        _key_share,
    ),
    Cue(
        "clang",
        "the one option sharing a content word with the stem is the key (single items)",
        lambda i: i.type == "single" and lone_sharer(i) is not None,
        lambda i: lone_sharer(i) in key_indexes(i),
        _key_share,
        shared_words,
    ),
    Cue(
        "echo",
        "the one option alone repeating a word of the stem is a key (single and multiple)",
        lambda i: i.type != "ordering" and lone_echo(i) is not None,
        lambda i: lone_echo(i) in key_indexes(i),
        _key_share,
        echoed_words,
    ),
    Cue(
        "ordering-first-listed",
        "ordering: the element listed first (A) comes first",
        _is("ordering"),
        lambda i: i.keys[0] == "A",
        lambda i: 1 / len(i.options),
    ),
    Cue(
        "ordering-as-listed",
        "ordering: the correct order is the order the elements are listed in",
        _is("ordering"),
        lambda i: i.keys == list(LETTERS[: len(i.options)]),
        lambda i: 1 / math.factorial(len(i.options)),
    ),
)


@dataclass(frozen=True)
class CueRate:
    cue: Cue
    items: int
    hits: tuple[str, ...]  # ids of the items where the cue points at a key
    expected: float  # hits expected by chance

    @property
    def rate(self) -> float:
        return len(self.hits) / self.items if self.items else 0.0

    @property
    def chance(self) -> float:
        return self.expected / self.items if self.items else 0.0

    def exceeds(self, factor: float) -> bool:
        """More hits than `factor` times chance; a single hit never fails a group."""
        return len(self.hits) >= 2 and len(self.hits) > factor * self.expected


def measure(items: list[ItemFile]) -> list[CueRate]:
    rates = []
    for cue in CUES:
        measured = [i for i in items if cue.applies(i)]
        rates.append(
            CueRate(
                cue=cue,
                items=len(measured),
                hits=tuple(i.id for i in measured if cue.hit(i)),
                expected=sum(cue.chance(i) for i in measured),
            )
        )
    return rates
