"""``[core] hostname_callable`` of the deployment test: each Celery worker's own name.

Both workers run on this one machine, so the host name cannot tell them apart; the test starts each
with ``PINTEREST_DEPLOYMENT_WORKER`` set, and the task instances record it as their ``hostname``.
"""

from __future__ import annotations

import os
import socket


def worker_name() -> str:
    return os.environ.get("PINTEREST_DEPLOYMENT_WORKER") or socket.getfqdn()
