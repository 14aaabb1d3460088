"""Rules of the code that a linter does not check, checked on the source of app/.

- One way to commit: every use case ends with app.core.db.commit(session) (or rolls back with
  db.rollback), which also ends what ran on a lane's connection; session.commit() would miss
  it. Only app/core calls the Session's own commit and rollback.
- Only app/core reads or writes session.info, through typed holders (app.core.session_state).
- No module of app/ is over 450 lines (STYLE.md): split along a seam, without re-exports.
"""

import re
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"
OWN_COMMIT = re.compile(r"\b\w*session\.(commit|rollback)\(\)")
INFO = re.compile(r"\b\w*session\.info\b|\.info\[|\.info\.(get|setdefault|pop)\(")


def offences(pattern: re.Pattern[str]) -> list[str]:
    found = []
    for path in sorted(APP.rglob("*.py")):
        if path.is_relative_to(APP / "core"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if pattern.search(line.split("#")[0]):
                found.append(f"{path.relative_to(APP.parent)}:{number}: {line.strip()}")
    return found


def test_use_cases_commit_and_roll_back_through_the_one_commit_function():
    assert offences(OWN_COMMIT) == []


def test_only_app_core_touches_session_info():
    assert offences(INFO) == []


def test_the_rules_catch_what_they_forbid():
    assert OWN_COMMIT.search("    session.commit()") and OWN_COMMIT.search("ctx.session.rollback()")
    assert not OWN_COMMIT.search("    db.commit(session)")
    assert INFO.search('seen = session.info.setdefault("tracks", {})')
    assert not INFO.search('log.info("refused")')


MAX_LINES = 450


def long_modules(root: Path = APP, limit: int = MAX_LINES) -> list[str]:
    return [
        f"{path.relative_to(root.parent)}: {n} lines"
        for path in sorted(root.rglob("*.py"))
        if (n := len(path.read_text().splitlines())) > limit
    ]


def test_no_module_in_app_is_over_450_lines():
    assert long_modules() == []


def test_the_size_rule_catches_a_long_module(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "short.py").write_text("x = 1\n" * MAX_LINES)
    (tmp_path / "app" / "long.py").write_text("x = 1\n" * (MAX_LINES + 1))
    assert long_modules(tmp_path / "app") == ["app/long.py: 451 lines"]
