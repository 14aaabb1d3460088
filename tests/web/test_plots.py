"""Charts: SVG data URIs, drawn once per distinct input and cached by it."""

import base64

import numpy as np

from app.web import plots


def test_a_chart_is_an_svg_data_uri_with_its_text_as_text():
    chart = plots.bars(["2026-01", "2026-02"], {"CAWM": [3, 4]}, xlabel="month", ylabel="n")
    assert chart.uri.startswith("data:image/svg+xml;base64,")
    svg = base64.b64decode(chart.uri.split(",", 1)[1]).decode()
    assert "<svg" in svg and "month" in svg  # svg.fonttype none: labels stay text
    assert chart.png().startswith(b"\x89PNG")


def test_charts_are_cached_by_their_inputs_only():
    calls = []
    first = plots.lines({"p": (np.array([0.0, 1.0]), [0.2, 0.8])}, xlabel="x", ylabel="y")
    same = plots.lines({"p": ([0, 1], [0.2, 0.8])}, xlabel="x", ylabel="y")
    other = plots.lines({"p": ([0, 1], [0.2, 0.9])}, xlabel="x", ylabel="y")
    assert first.key == same.key != other.key
    uri = first.uri
    same._draw = lambda: calls.append(1)  # a cached chart is never drawn again
    assert same.uri == uri and calls == []
    assert other.uri != uri


def test_a_point_whose_interval_ends_a_rounding_error_inside_it_draws():
    """An interval bound computed separately from its point may miss it by a rounding error
    (matplotlib refuses negative error bars): the item charts job died on one."""
    chart = plots.curve_with_points(
        (np.array([0.0, 1.0]), np.array([0.5, 0.6])),
        [(0.0, 1.0, 0.9, 1.0 - 1e-16), (1.0, 0.0, 1e-16, 0.1)],
        xlabel="theta", ylabel="share",
    )  # fmt: skip
    assert base64.b64decode(chart.uri.split(",", 1)[1]).startswith(b"<?xml")
