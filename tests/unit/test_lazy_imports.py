"""A process without Redis that draws no picture never loads redis-py, Pillow or qrcode
(docs/architecture.md, "Memory"): checked in a fresh interpreter, since this one has
them all by now."""

from __future__ import annotations

import json
import subprocess
import sys

from bot.core.settings import PROJECT_ROOT

PROBE = """
import json, sys
import bot.app.cli, bot.app.process, bot.serving.runtime
from bot.app import wiring
from handlers import create_routers
create_routers()
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def test_start_up_loads_neither_redis_nor_the_picture_libraries() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "aiogram" in loaded  # the probe did import the bot
    assert loaded & {"redis", "PIL", "qrcode"} == set()
