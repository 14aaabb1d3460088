"""The badge image of each track's credential (the Open Badges achievement's `image`) and the
preview card that links to a verification page show (OpenGraph), drawn here with matplotlib.

Both are PNG: what chat and social sites show in previews, and what every badge wallet reads.
They depend only on the track's code and title, so each is drawn once per process and kept.
"""

import io
import textwrap
from functools import lru_cache

from matplotlib.figure import Figure
from matplotlib.patches import Circle, RegularPolygon

BRAND = "#1f4e79"
GOLD = "#bf9000"
INK = "#1b1b1b"


def _seal(ax, x: float, y: float, r: float, code: str, pt: float) -> None:
    """A rosette seal of radius r (data units; pt = points per data unit): a star edge,
    rings, the institute's initials and the track code."""
    for k in range(24):  # the star edge: a ring of small triangles
        ax.add_patch(RegularPolygon((x, y), 3, radius=r, orientation=k * 0.2618, color=GOLD))
    ax.add_patch(Circle((x, y), r * 0.92, color=GOLD))
    ax.add_patch(Circle((x, y), r * 0.84, color=BRAND))
    ax.add_patch(Circle((x, y), r * 0.76, fill=False, edgecolor="white", linewidth=r * pt * 0.02))
    size = r * pt
    ax.text(x, y + r * 0.4, "WMI", ha="center", va="center", color="white",
            fontsize=size * 0.22, fontweight="bold")  # fmt: skip
    ax.text(x, y, code, ha="center", va="center", color="white",
            fontsize=size * (0.5 if len(code) <= 3 else 0.38), fontweight="bold")  # fmt: skip
    ax.text(x, y - r * 0.42, "CERTIFIED", ha="center", va="center", color="white",
            fontsize=size * 0.12)  # fmt: skip


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


@lru_cache(maxsize=32)
def badge_png(code: str) -> bytes:
    """The track's badge: a 512 x 512 PNG seal on a transparent background."""
    fig = Figure(figsize=(512 / 128, 512 / 128), dpi=128)
    fig.patch.set_alpha(0)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 1), ax.set_ylim(0, 1), ax.set_aspect("equal"), ax.axis("off")
    _seal(ax, 0.5, 0.5, 0.48, code, pt=512 * 72 / 128)
    return _png(fig)


@lru_cache(maxsize=32)
def preview_png(code: str, title: str) -> bytes:
    """The preview card of a verification page: 1200 x 630 PNG (OpenGraph's size), the seal
    and the credential's name; nothing about the holder."""
    fig = Figure(figsize=(1200 / 100, 630 / 100), dpi=100)
    fig.patch.set_facecolor("white")
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 1200), ax.set_ylim(0, 630), ax.axis("off")
    ax.axhspan(0, 24, color=BRAND)
    ax.axhspan(606, 630, color=BRAND)
    ax.set_aspect("equal")
    _seal(ax, 250, 315, 200, code, pt=0.72)
    ax.text(500, 470, "WORK MANAGEMENT INSTITUTE", color=BRAND, fontsize=22, fontweight="bold")
    wrapped = "\n".join(textwrap.wrap(title, 24)[:3])
    ax.text(500, 320, wrapped, color=INK, fontsize=34, fontweight="bold", va="center",
            linespacing=1.15)  # fmt: skip
    ax.text(500, 150, f"{code} certificate · verify it online", color=INK, fontsize=22)
    return _png(fig)
