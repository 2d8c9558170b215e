"""``make run``'s program starts the whole system, serves the API, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import requests


def test_local_system_starts_serves_and_stops_on_ctrl_c() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "juki_local", "--port", "0", "--residents", "40"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        output = "".join(lines)
        assert "Press Ctrl-C" in output, output
        url = re.search(r"API\s+(http://127\.0\.0\.1:\d+)", output)
        assert url, output
        assert "40 residents" in output
        for role in ("clerk", "approver", "viewer"):
            assert re.search(rf"{role}\s+S\d+", output), output
        spec = requests.get(f"{url.group(1)}/openapi.json", timeout=10)
        assert spec.status_code == 200
        assert "/movements" in spec.json()["paths"]

        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
        assert process.returncode == 0, rest
        assert "Juki: stopped." in rest
    finally:
        if process.poll() is None:
            process.kill()
