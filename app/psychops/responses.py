"""The response matrix of a track (and pool revision) for analysts: CSV and Parquet.

One row per response of a closed attempt, in attempt and position order: the track, the pool
revision the attempt froze, the attempt, a candidate pseudonym (HMAC of the user id under the
platform's secret key: stable across exports, not reversible without the key), the attempt's
final theta, the position, the item code and version, whether it was a pretest (unscored)
item, whether it was answered correctly, the option(s) chosen and the response time.
"""

import csv
import hashlib
import hmac
import io
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from sqlalchemy import select as sa_select
from sqlmodel import Session

from app.core import db
from app.core.clock import as_utc
from app.exams.models import ExamAttempt, ExamPool, ExamResponse
from app.itembank.models import Item, ItemVersion

CLOSED = ("finished", "expired")
COLUMNS = (
    "track", "pool_revision", "attempt", "candidate", "final_theta", "position", "item",
    "item_version", "pretest", "correct", "option", "seconds",
)  # fmt: skip


@dataclass(frozen=True)
class Matrix:
    """The responses as columns (each a list or array of the same length)."""

    columns: dict[str, list]

    def __len__(self) -> int:
        return len(self.columns["attempt"])


def pseudonym(secret: str, user_id: int) -> str:
    """A candidate's stable pseudonym: the first 16 hex digits of HMAC-SHA256(secret, id)."""
    return hmac.new(secret.encode(), f"candidate:{user_id}".encode(), hashlib.sha256).hexdigest()[
        :16
    ]


_A, _R = db.table(ExamAttempt), db.table(ExamResponse)
_V, _I, _P = db.table(ItemVersion), db.table(Item), db.table(ExamPool)


def matrix(session: Session, *, track: str, secret: str, revision_id: int | None = None) -> Matrix:
    """Every response of the track's closed attempts (of one pool revision if given)."""
    query = (
        sa_select(
            _A.c.pool_revision_id,
            _R.c.attempt_id,
            _A.c.user_id,
            _A.c.result["theta"].as_float(),
            _R.c.position,
            _I.c.code,
            _R.c.item_version_id,
            _R.c.correct,
            _R.c.answer,
            _R.c.presented_at,
            _R.c.answered_at,
            _A.c.pool_id,
        )  # fmt: skip
        .join_from(_R, _A, _A.c.id == _R.c.attempt_id)
        .join(_V, _V.c.id == _R.c.item_version_id)
        .join(_I, _I.c.id == _V.c.item_id)
        .where(_A.c.track == track, _A.c.status.in_(CLOSED))
        .order_by(_R.c.attempt_id, _R.c.position)
    )
    if revision_id is not None:
        query = query.where(_A.c.pool_revision_id == revision_id)
    rows = session.connection().execute(query).all()
    pretest = pretest_versions(session, {r[11] for r in rows})
    names = {}
    cols: dict[str, list] = {c: [] for c in COLUMNS}
    for rev, attempt, user, theta, pos, code, version, ok, answer, shown, answered, pool in rows:
        if user not in names:
            names[user] = pseudonym(secret, user)
        cols["track"].append(track)
        cols["pool_revision"].append(rev)
        cols["attempt"].append(attempt)
        cols["candidate"].append(names[user])
        cols["final_theta"].append(theta)
        cols["position"].append(pos)
        cols["item"].append(code)
        cols["item_version"].append(version)
        cols["pretest"].append(version in pretest.get(pool, ()))
        cols["correct"].append(bool(ok))
        cols["option"].append("".join(str(x) for x in answer))
        cols["seconds"].append((as_utc(answered) - as_utc(shown)).total_seconds())
    return Matrix(cols)


def pretest_versions(session: Session, pool_ids: set[int]) -> dict[int, set[int]]:
    """Per stored pool: the version ids delivered unscored."""
    if not pool_ids:
        return {}
    rows = session.connection().execute(
        sa_select(_P.c.id, _P.c["items"]).where(_P.c.id.in_(pool_ids))
    )
    return {pid: {p["id"] for p in items if p.get("pretest")} for pid, items in rows}


def to_csv(m: Matrix) -> Iterator[str]:
    """The matrix as CSV text, a header then one line per response (streamed in chunks)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    columns = [m.columns[c] for c in COLUMNS]
    for start in range(0, len(m), 5000):
        for row in zip(*(c[start : start + 5000] for c in columns), strict=True):
            writer.writerow(["" if v is None else v for v in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


SCHEMA = pa.schema([
    ("track", pa.string()), ("pool_revision", pa.int64()), ("attempt", pa.int64()),
    ("candidate", pa.string()), ("final_theta", pa.float64()), ("position", pa.int32()),
    ("item", pa.string()), ("item_version", pa.int64()), ("pretest", pa.bool_()),
    ("correct", pa.bool_()), ("option", pa.string()), ("seconds", pa.float64()),
])  # fmt: skip


def to_parquet(m: Matrix) -> bytes:
    """The matrix as one Parquet file (pyarrow, zstd-compressed)."""
    table = pa.table({c: pa.array(m.columns[c], type=SCHEMA.field(c).type) for c in COLUMNS},
                     schema=SCHEMA)  # fmt: skip
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd")
    return out.getvalue()
