"""The README's Prolific walk-through runs as written: match, dry run, the website's bonus text, a
payout against the emulator, a re-run that changes nothing, and the ledger. Only the port (a free
one) and the fixed wait for the emulator (a wait for its port, for loaded machines) are replaced."""

from __future__ import annotations

import os
import random
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def walkthrough() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- prolific-walkthrough -->\n```\n(.*?)```\n<!-- /prolific-walkthrough -->", text, re.S)
    assert m, "the README has no Prolific walk-through block"
    return m.group(1)


def free_port() -> int:
    """A free port below Linux's ephemeral range (32768-60999). The README's emulator binds it only
    later; a port the kernel hands out (every other test's emulator binds port 0) could by then be
    another emulator's, and the walk-through would talk to that one."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 32000")


def test_the_readme_prolific_walkthrough_runs_as_written(tmp_path):
    block = walkthrough()
    assert block.count("8765") >= 3 and "sleep 3" in block
    port = free_port()
    wait = (f'{sys.executable} -c "import socket,time\nfor _ in range(600):\n'
            f'    try: socket.create_connection((\'127.0.0.1\', {port}), 1).close(); break\n'
            f'    except OSError: time.sleep(0.1)"')
    script = block.replace("8765", str(port)).replace("sleep 3", wait)
    shutil.copytree(ROOT / "sample_data" / "prolific", tmp_path / "sample_data" / "prolific")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("PROLIFIC_API_TOKEN", None)
    proc = subprocess.run(["bash", "-e", "-c", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + script],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "47 submissions: 28 approve, 0 reject, 9 review, 10 skip." in out
    assert "Dry run: nothing was sent to Prolific and nothing was paid." in out
    lines = (tmp_path / "bonuses.csv").read_text().splitlines()
    assert len(lines) == 24 and all(re.fullmatch(r"[0-9a-f]{24},\d+\.\d\d", x) for x in lines)
    # the first run pays; the second finds everything done and sends nothing new
    assert re.search(r"approve +28 done, +0 already done, +0 failed\n +bonus +24 done", out)
    assert re.search(r"approve +0 done, +28 already done, +0 failed\n +bonus +0 done, +24 already done", out), out
    assert "Everything in reconcile-plan.csv is done" in out and "in doubt" not in out.lower()
