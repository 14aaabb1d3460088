"""A warm launcher for the crash test: imports the application once, then forks fresh
uvicorn server processes on each "start" line read from stdin and prints their pids.

With WMI_CRASH_WORKERS=N (the test sets 2 on PostgreSQL) each start forks N workers that
accept on one listening socket the launcher holds, as `uvicorn --workers N` does; the test kills
all of them at once, and a worker that dies in the certificate window leaves the other serving.

Forking from a warm parent makes a restart take milliseconds instead of seconds, so the
test can kill -9 the server many times and still run quickly. Each child is a complete,
independent server process; killing it is a real crash (no cleanup, no atexit).

With WMI_CRASH_WINDOW=<file>, a child also kills itself inside the result-to-certificate
window of a passed attempt, at one of three places chosen by the attempt id: after the
result's commit (before anything runs the exam.passed job), inside the job before the
certificate is issued, and after the certificate's commit before the job is marked done. Each
attempt dies at most once (the file lists the kills), so the test can count them.
"""

import os
import signal
import socket
import sys

import uvicorn

import app.main  # noqa: F401  (warm imports: FastAPI, SQLAlchemy, numpy, scipy)
from app.credentials import service as credentials
from app.exams import closing
from app.main import create_app

WINDOW = os.environ.get("WMI_CRASH_WINDOW", "")
WORKERS = int(os.environ.get("WMI_CRASH_WORKERS", "1"))
PLACES = ("after-result", "before-issue", "after-issue")


def die_in_window(place: str, attempt_id: int) -> None:
    """SIGKILL this process if this attempt's place is `place` and it has not died yet."""
    if PLACES[attempt_id % 3] != place:
        return
    mark = f"{place} {attempt_id}\n"
    with open(WINDOW, "a+") as log:
        log.seek(0)
        if mark in log.read():
            return
        log.write(mark)
        log.flush()
        os.fsync(log.fileno())
    os.kill(os.getpid(), signal.SIGKILL)


def arm_window_kills() -> None:
    notify, issue = closing.notify, credentials.on_exam_passed

    def notify_then_die(session, attempt_id, on_exam_passed, *, passed=None):
        if passed is not False:
            die_in_window("after-result", attempt_id)
        notify(session, attempt_id, on_exam_passed, passed=passed)

    def issue_between_deaths(session, attempt_id, **kw):
        die_in_window("before-issue", attempt_id)
        cert = issue(session, attempt_id, **kw)
        die_in_window("after-issue", attempt_id)
        return cert

    closing.notify = notify_then_die
    credentials.on_exam_passed = issue_between_deaths  # what the exam.passed job calls


def serve(listener: socket.socket) -> None:
    """One worker: a complete server on the shared socket (the child's whole life)."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    if WINDOW:
        arm_window_kills()
    config = uvicorn.Config(create_app(), log_level="error")
    uvicorn.Server(config).run(sockets=[listener])
    os._exit(0)


def main() -> None:
    port = int(sys.argv[1])
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(2048)
    for line in sys.stdin:
        if line.strip() != "start":
            break
        pids = []
        for _ in range(WORKERS):
            pid = os.fork()
            if pid == 0:
                serve(listener)
            pids.append(pid)
        print(" ".join(map(str, pids)), flush=True)


if __name__ == "__main__":
    main()
