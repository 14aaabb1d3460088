"""axe-core (from npm, tests/e2e/package.json) run inside the page: serious or critical
findings fail the test, with the rule, the page and the offending elements."""

from pathlib import Path

import pytest

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
FAIL_ON = ("serious", "critical")


def axe_check(page, where: str = "") -> None:
    """Run axe-core on the page as it is now (WCAG 2.x A/AA and best practices)."""
    if not AXE.exists():
        pytest.fail("axe-core is missing: `make node-deps` installs it (tests/e2e/package.json)")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text())  # through the DevTools protocol: the page's CSP allows it
    result = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations'], "
        "runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', "
        "'best-practice']}})"
    )
    bad = [v for v in result["violations"] if v["impact"] in FAIL_ON]
    assert not bad, f"axe-core on {where or page.url} at {page.viewport_size}:\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}: "
        + "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
        for v in bad
    )


def no_sideways_scroll(page, where: str = "") -> None:
    """The page never scrolls sideways (wide tables scroll inside their own region)."""
    width = page.evaluate("() => document.documentElement.scrollWidth")
    viewport = page.viewport_size["width"]
    assert width <= viewport + 1, f"{where or page.url} is {width} px wide at {viewport} px"
