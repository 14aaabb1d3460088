"""What create_app and the commands (`wmi sweep`, `wmi jobs run`) build alike from the settings,
the clock and an engine: the job runner, the ports exams calls (app.exams.ports) and the item
analysis flags the workbench's list filters on (app.itembank.flags).

Job kinds are registered by importing the module that declares them (`@jobs.handler`): import
each such module here, so that the server's runner threads and the commands' runners know the
same kinds.
"""

from sqlalchemy.engine import Engine

import app.accounts.mailing  # noqa: F401  (registers the password-reset mail)
import app.appeals.withdrawals  # noqa: F401  (registers the appeals' job kinds)
import app.psychops.calibration_review  # noqa: F401  (registers the calibration job kinds)
import app.reports.facts  # noqa: F401  (registers the reports' job kind)
from app.core import jobs
from app.core import webhooks as _webhooks  # noqa: F401  (registers the webhook job kinds)
from app.core.clock import Clock
from app.core.config import Settings
from app.credentials.ports import exam_ports  # also registers the exam.passed job kind
from app.exams import exposure as _exposure  # noqa: F401  (registers exams.derive_exposure)
from app.exams import notices as _exam_notices  # noqa: F401  (registers exams.result_mail)
from app.exams.ports import Ports
from app.itembank.flags import ItemFlags
from app.psychops import analysis
from app.psychops import item_views as _item_views  # noqa: F401  (registers the item charts)
from app.psychops import snapshots as _snapshots  # also registers the item analysis


def job_runner(engine: Engine, settings: Settings, clock: Clock) -> jobs.Runner:
    """A runner for every registered job kind, on this engine."""
    return jobs.Runner(
        engine, settings=settings, clock=clock, poll_seconds=settings.job_poll_seconds
    )


def ports(settings: Settings, clock: Clock, runner: jobs.Runner) -> Ports:
    """What exams needs from credentials: whether a user is certified, what a pass does (run
    its exam.passed job on runner)."""
    return exam_ports(settings, clock, runner)


def item_flags() -> ItemFlags:
    """What the workbench's list needs from psychops: the item analysis's flags per item."""
    return ItemFlags(tuple(analysis.FLAGS), _snapshots.item_flags)
