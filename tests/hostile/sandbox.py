"""The child process the hostile-input tests run pgcheck in (tests/hostile/harness.py).

Started once per test module with resource limits set before exec (address space, CPU
seconds, open files), it reads one JSON case per line on stdin — argv and a working
directory — runs `pgcheck ARGV` in process under click's test runner with an interval
timer, and answers one JSON line: exit code, stdout, stderr, and the traceback of any
exception that escaped the command (a bug: the promise is one line and exit 2).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from typing import Any

CASE_SECONDS = 60.0  # far above any refused input's cost; a hang shows as an exception


class Hang(BaseException):
    """The interval timer fired: the command did not finish in CASE_SECONDS."""


def _alarm(signum: int, frame: Any) -> None:
    raise Hang(f"no answer within {CASE_SECONDS:.0f}s")


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    from click.testing import CliRunner

    from pgcheck.cli import main

    os.chdir(case["cwd"])
    runner = CliRunner()
    signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
    try:
        result = runner.invoke(main, case["argv"], catch_exceptions=True)
    except Hang as e:  # raised outside the command (click's own code)
        return {"code": None, "stdout": "", "stderr": "", "exception": f"Hang: {e}"}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    exception = None
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        exception = "".join(traceback.format_exception(*result.exc_info)) if result.exc_info else repr(result.exception)
    return {"code": result.exit_code, "stdout": result.stdout, "stderr": result.stderr, "exception": exception}


def main() -> None:
    signal.signal(signal.SIGALRM, _alarm)
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stray writes never corrupt the answers
    for line in sys.stdin:
        try:
            answer = run_case(json.loads(line))
        except BaseException as e:
            answer = {"code": None, "stdout": "", "stderr": "", "exception": "".join(traceback.format_exception(e))}
        answers.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    main()
