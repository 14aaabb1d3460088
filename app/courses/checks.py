"""The rules content/ must meet (`wmi content check`)."""

import re
import sys
from itertools import combinations
from pathlib import Path

from app.courses.files import LESSON_SECTIONS, ContentTree, Lesson, Track, read_content

MIN_WORDS = 500
LESSONS_PER_MODULE = (2, 4)
NEAR_DUPLICATE = 0.25  # Jaccard of word 5-grams between two lesson bodies
EXPECTED_MODULES = {
    "CAWM": [f"C{i}" for i in range(1, 8)],
    "WMP": [f"P{i}" for i in range(1, 8)],
    "CWA": [f"A{i}" for i in range(1, 9)],
}
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _shingles(text: str, n: int = 5) -> frozenset:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return frozenset(" ".join(words[i : i + n]) for i in range(max(1, len(words) - n + 1)))


def check_lesson(lesson: Lesson, sources: dict) -> list[str]:
    problems = []
    if lesson.words < MIN_WORDS:
        problems.append(f"length: {lesson.words} words, at least {MIN_WORDS} required")
    headings = [h for h in lesson.headings if h in LESSON_SECTIONS]
    if headings != list(LESSON_SECTIONS):
        problems.append(
            f"sections: expected {', '.join(LESSON_SECTIONS)} in that order; "
            f"found {', '.join(lesson.headings) or 'none'}"
        )
    if re.search(r"^# ", lesson.body, flags=re.M):
        problems.append("headings: no level-1 heading in the body (the page renders the title)")
    problems += [
        f"sources: unknown source ID '{s}'" for s in lesson.meta.sources if s not in sources
    ]
    for target in LINK.findall(lesson.body):
        if target.startswith(("http://", "https://", "#")):
            continue
        resolved = (lesson.path.parent / target.split("#")[0]).resolve()
        if not resolved.exists():
            problems.append(f"link: '{target}' does not resolve")
    return [f"{lesson.path}: {p}" for p in problems]


def check_track(track: Track, tree: ContentTree) -> list[str]:
    problems = []
    code = track.meta.code
    blueprint = {d.code for d in track.meta.blueprint}
    problems += [
        f"{track.path}/track.yaml: prerequisites: unknown track '{t}'"
        for t in track.meta.prerequisites.any_of
        if t not in EXPECTED_MODULES
    ]
    codes = [m.meta.code for m in track.modules]
    if sorted(codes) != sorted(EXPECTED_MODULES[code]):
        problems.append(
            f"{track.path}: modules: found {', '.join(codes)}, expected "
            f"{', '.join(EXPECTED_MODULES[code])}"
        )
    taught = set()
    for module in track.modules:
        for d in module.meta.domains:
            taught.add(d)
            if d not in blueprint:
                problems.append(f"{module.path}/module.yaml: domain: '{d}' is not in the blueprint")
        low, high = LESSONS_PER_MODULE
        if not low <= len(module.lessons) <= high:
            problems.append(f"{module.path}: lessons: {len(module.lessons)}, expected {low}-{high}")
        for lesson in module.lessons:
            problems += check_lesson(lesson, tree.sources)
    problems += [
        f"{track.path}/track.yaml: blueprint: domain {d} is taught by no module"
        for d in sorted(blueprint - taught)
    ]
    return problems


def check_duplicates(tree: ContentTree) -> list[str]:
    lessons = [lesson for t in tree.tracks.values() for m in t.modules for lesson in m.lessons]
    sets = [_shingles(lesson.body) for lesson in lessons]
    problems = []
    for i, j in combinations(range(len(lessons)), 2):
        a, b = sets[i], sets[j]
        score = len(a & b) / len(a | b) if a | b else 1.0
        if score >= NEAR_DUPLICATE or lessons[i].digest == lessons[j].digest:
            problems.append(
                f"{lessons[i].path}: near-duplicate: {score:.2f} similar to {lessons[j].path}"
            )
        if lessons[i].meta.title.strip().lower() == lessons[j].meta.title.strip().lower():
            problems.append(f"{lessons[i].path}: duplicate title with {lessons[j].path}")
    return problems


def run_checks(root: Path) -> tuple[list[str], ContentTree]:
    tree = read_content(root)
    problems = list(tree.errors)
    for track in tree.tracks.values():
        problems += check_track(track, tree)
    problems += check_duplicates(tree)
    return problems, tree


def main(argv: list[str]) -> int:
    problems, tree = run_checks(Path(argv[0]) if argv else Path("content"))
    for p in problems:
        print(p)
    lessons = sum(len(m.lessons) for t in tree.tracks.values() for m in t.modules)
    print(f"{len(tree.tracks)} tracks, {lessons} lessons read; {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
