"""What the API and the pages get: never keys, rationales, parameters, estimates or pools."""

from datetime import datetime

from pydantic import BaseModel, Field


class HeldOut(BaseModel):
    """The certificate in force that the candidate holds on this track."""

    number: str
    valid_until: datetime
    verify_url: str


class EligibilityOut(BaseModel):
    track: str
    title: str
    eligible: bool
    reasons: list[str]
    available_from: datetime | None = Field(
        None, description="When the candidate may start, if only waiting stands in the way."
    )
    open_attempt_id: int | None
    attempts_last_12_months: int
    max_attempts_per_12_months: int
    time_limit_minutes: float = Field(description="Including the candidate's accommodation.")
    min_questions: int
    max_questions: int
    held: HeldOut | None = Field(None, description="Your certificate in force on this track.")


class AgreementOut(BaseModel):
    """The candidate agreement: a start accepts this version."""

    version: str
    clauses: list[str]


class StartIn(BaseModel):
    agreement: str = Field(
        min_length=1,
        max_length=20,
        description="The candidate agreement's version you accept (GET /api/v1/exams/agreement).",
    )


class ItemOut(BaseModel):
    """The pending question: answer it with its position and token."""

    position: int
    token: str
    type: str = Field(description="single | multiple | ordering")
    stem: str
    options: list[str]


class AttemptOut(BaseModel):
    id: int
    track: str
    status: str = Field(description="open | finished | expired")
    started_at: datetime
    deadline_at: datetime
    answered: int
    seconds_left: int
    warning: str | None
    item: ItemOut | None
    result_url: str | None


class AnswerIn(BaseModel):
    position: int = Field(ge=1, le=1000)
    token: str = Field(min_length=1, max_length=40)
    answer: list[str] = Field(
        min_length=1, max_length=5, description="Letters: one, several, or an order."
    )


class AnswerOut(BaseModel):
    attempt_id: int
    position: int
    accepted: bool = Field(description="True when this request recorded the answer.")
    duplicate: bool = Field(description="True when the same answer had already been recorded.")
    status: str
    answered: int
    next_url: str
    attempt: AttemptOut = Field(
        description="The attempt after this answer, with the next question already chosen "
        "(so a client needs one request per question)."
    )


class StudyLink(BaseModel):
    title: str
    href: str


class DomainOut(BaseModel):
    """One domain of a result; the method is in docs/EXAMS.md ("Domain diagnostics")."""

    code: str
    title: str
    result: str = Field(
        description="Against the passing standard: above | below (the domain's 90% interval "
        "lies wholly on that side) | unclear (too few questions to tell) | none (no questions)."
    )
    relative: str = Field(
        description="Against the candidate's answers in the other domains: weaker | stronger "
        "| in_line | none (not computed for results stored before this field existed)."
    )
    questions: int
    correct: int | None = Field(description="Questions answered correctly in the domain.")
    expected: float | None = Field(
        description="The number correct expected from the answers in the other domains."
    )
    level: int = Field(
        description="The domain's most likely level on the reported scale (200-800)."
    )
    level_range: tuple[int, int] = Field(description="Its 90% interval on the same scale.")
    study: list[StudyLink] = Field(
        description="The modules that teach a domain below the standard or weaker than the "
        "candidate's others (or unclear, after a fail)."
    )


class CertificateRef(BaseModel):
    """The certificate a passed attempt earned."""

    number: str
    status: str = Field(description="pending (awaiting approval) | active | revoked | superseded")
    url: str = Field(description="Its public verification page.")


class ResultOut(BaseModel):
    attempt_id: int
    track: str
    status: str
    passed: bool
    scaled_score: int = Field(description="On the track's reported scale (200-800).")
    passing_score: int = Field(description="The cut's value on that scale when reported.")
    scale_version: str = Field(description="The version of the scale the score is on.")
    answered: int
    time_expired: bool
    started_at: datetime
    finished_at: datetime
    domains: list[DomainOut]
    certificate: CertificateRef | None = Field(
        None, description="The certificate this pass earned, once recorded (absent on a fail)."
    )


class HistoryOut(BaseModel):
    id: int
    track: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    passed: bool | None
    scaled_score: int | None
    url: str


class WaiverIn(BaseModel):
    """Grant or withdraw a waiver of a track's prerequisite."""

    user_id: int = Field(ge=1, le=2**31 - 1)
    track: str = Field(max_length=8)
    reason: str = Field(min_length=3, max_length=500)


class AccommodationIn(BaseModel):
    user_id: int = Field(ge=1, le=2**31 - 1)
    time_factor: float = Field(gt=1.0, le=4.0)
    reason: str = Field(min_length=3, max_length=500)


class WaiverOut(BaseModel):
    id: int
    user_id: int
    track: str
    granted_at: datetime


class AccommodationOut(BaseModel):
    id: int
    user_id: int
    time_factor: float


class AccommodationWithdrawIn(BaseModel):
    user_id: int = Field(ge=1, le=2**31 - 1)
    reason: str = Field(min_length=3, max_length=500)


class WithdrawnOut(BaseModel):
    id: int
    user_id: int
    withdrawn_at: datetime
    withdraw_reason: str


class AdminAttemptOut(BaseModel):
    """An attempt as administrators see it, without its response log."""

    id: int
    user_id: int
    email: str
    track: str
    status: str
    answered: int
    started_at: datetime
    deadline_at: datetime
    time_factor: float
    finished_at: datetime | None
    end_reason: str | None
    passed: bool | None
    scaled_score: int | None
    url: str


class LoggedResponseOut(BaseModel):
    position: int
    item_code: str
    item_version_id: int
    domain: str
    pretest: bool
    answer: list[str]
    correct: bool
    presented_at: datetime
    answered_at: datetime


class AttemptLogOut(AdminAttemptOut):
    """An attempt with its frozen pool's size, its estimate and its whole response log."""

    track_version: int | None
    pool_size: int
    pool_pretest: int
    theta: float | None
    se: float | None
    pending_item_code: str | None
    responses: list[LoggedResponseOut]
