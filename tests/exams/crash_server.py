"""A warm launcher for the crash test: imports the application once, then forks a fresh
uvicorn server process on each "start" line read from stdin and prints its pid.

Forking from a warm parent makes a restart take milliseconds instead of seconds, so the
test can kill -9 the server many times and still run quickly. Each child is a complete,
independent server process; killing it is a real crash (no cleanup, no atexit).
"""

import os
import signal
import sys

import uvicorn

import app.main  # noqa: F401  (warm imports: FastAPI, SQLAlchemy, numpy, scipy)
from app.main import create_app


def main() -> None:
    port = int(sys.argv[1])
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    for line in sys.stdin:
        if line.strip() != "start":
            break
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            uvicorn.run(create_app(), host="127.0.0.1", port=port, log_level="error")
            os._exit(0)
        print(pid, flush=True)


if __name__ == "__main__":
    main()
