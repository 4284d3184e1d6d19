"""A local EvalAI-compatible host API (werkzeug + SQLite) for tests, the demo and hosts.

``SandboxServer`` answers the endpoints evalai-mirror uses exactly as a real EvalAI server does
(status codes, bodies, field names, JSON types, date format, pagination), keeps its state in
SQLite under a data folder, and can be told to fail, throttle or change a field "in the UI".
"""

from __future__ import annotations

from evalai_mirror.sandbox.faults import Fault, RequestRecord
from evalai_mirror.sandbox.server import SandboxServer

__all__ = ["Fault", "RequestRecord", "SandboxServer"]
