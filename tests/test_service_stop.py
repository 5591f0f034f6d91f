"""``mediabot run`` with a token, stopped by SIGTERM or SIGINT: in order, within 10 s, with
exit status 0 and not one traceback or error line, while a long poll is in flight."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Cli, running
from tests.fakes.telegram_updates import UpdatesTelegram, message_update
from tests.test_e2e import base_env, telegram_env

STOP_WITHIN = 10.0  # seconds from the signal to the exit
READER = 777


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_run_with_a_token_stops_cleanly(sig: signal.Signals, cli: Cli, shipped_rules: Path) -> None:
    with UpdatesTelegram() as tg:
        env = {**base_env(shipped_rules), **telegram_env(tg)}
        with running(cli, "run", **env) as svc:
            tg.push_update(message_update("/start", user=READER))
            assert tg.wait_for(1, READER, timeout=60), svc.output()  # commands are answered
            # The next long poll is waiting at the fake: the stop has to cut it short.
            assert tg.wait_until(lambda: tg.polling > 0, timeout=30), svc.output()
            svc.proc.send_signal(sig)
            try:
                status = svc.proc.wait(timeout=STOP_WITHIN)
            except subprocess.TimeoutExpired:
                pytest.fail(f"still running {STOP_WITHIN} s after {sig.name}:\n{svc.output()}")
        output = svc.output()
    assert status == 0, output
    assert "Traceback" not in output, output
    loud = [line for line in output.splitlines() if " ERROR " in line or " CRITICAL " in line]
    assert loud == [], output
    steps = [
        output.find(step) for step in ("service_stopping", "updates_stopped", "service_stopped")
    ]
    assert -1 not in steps and steps == sorted(steps), output
