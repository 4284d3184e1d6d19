"""``SandboxServer``: the sandbox on 127.0.0.1 in a background thread, and its Python API."""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from evalai_mirror.sandbox.app import SandboxApp
from evalai_mirror.sandbox.faults import Fault, FaultPlan, RequestLog, RequestRecord, Throttle
from evalai_mirror.sandbox.service import HOST_TEAM_PK, Service
from evalai_mirror.sandbox.store import Store

HOST = "127.0.0.1"


def _check_free(port: int) -> None:
    """OSError when 127.0.0.1:port cannot be bound (werkzeug would print and exit instead)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((HOST, port))
    finally:
        probe.close()


class _QuietHandler(WSGIRequestHandler):
    """No per-request lines on stderr: the request log is the record."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log_error(self, format: str, *args: Any) -> None:
        return None


class SandboxServer:
    """An EvalAI-compatible server on ``127.0.0.1:port`` (0: any free port).

    ``data_dir`` holds the SQLite state (None: a temporary folder removed by :meth:`stop`);
    a restart on the same folder keeps the challenges and the token.  ``throttle_per_minute``
    is the per-user limit (0: off, and no limit for requests without a token either).
    """

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        port: int = 0,
        throttle_per_minute: int = 60,
        page_size: int = 100,
        on_request: Callable[[RequestRecord], None] | None = None,
    ) -> None:
        self._own_dir = data_dir is None
        self.data_dir = Path(tempfile.mkdtemp(prefix="evalai-sandbox-")) if data_dir is None else Path(data_dir)
        self._port = port
        self.store = Store(self.data_dir)
        self.service = Service(self.store)
        self.faults = FaultPlan()
        self.log = RequestLog()
        self.throttle = Throttle(throttle_per_minute)
        self.app = SandboxApp(
            self.service,
            throttle=self.throttle,
            faults=self.faults,
            log=self.log,
            page_size=page_size,
            on_request=on_request,
        )
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle -----------------------------------------------------------------------
    def start(self) -> SandboxServer:
        """Bind 127.0.0.1 and serve in a background thread (OSError if the port is taken)."""
        if self._server is not None:
            return self
        if self._port:
            _check_free(self._port)
        self._server = make_server(
            HOST, self._port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="evalai-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.store.close()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- where and who --------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sandbox is not running: call start() first")
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def token(self) -> str:
        return self.service.token

    @property
    def team_pk(self) -> int:
        return HOST_TEAM_PK

    def env(self) -> dict[str, str]:
        """The variables the evalai-mirror CLI reads to reach this sandbox."""
        return {
            "EVALAI_HOST_URL": self.url,
            "EVALAI_AUTH_TOKEN": self.token,
            "EVALAI_TEAM_PK": str(self.team_pk),
        }

    # -- what tests look at and shape -----------------------------------------------------
    def requests(self) -> list[RequestRecord]:
        return self.log.records()

    def clear_requests(self) -> None:
        self.log.clear()

    def add_fault(
        self,
        method: str | None,
        path_regex: str,
        kind: str,
        count: int = 1,
        delay: float = 0.0,
        *,
        status: int | None = None,
        change: dict[str, Any] | None = None,
        drop: tuple[str, ...] = (),
    ) -> Fault:
        fault = Fault(method, path_regex, kind, count, delay, status, dict(change or {}), drop)
        self.faults.add(fault)
        return fault

    def clear_faults(self) -> None:
        self.faults.clear()

    def set_throttle(self, per_minute: int) -> None:
        self.throttle.rate = per_minute
        self.throttle.reset()
        self.app.anon_throttle.reset()

    # -- the EvalAI side, as a host in the web UI would change it -------------------------
    def edit_challenge(self, pk: int, **fields: Any) -> dict[str, Any]:
        """Change the challenge's fields (validated as EvalAI does); the PATCH answer.
        ``list_tags`` (or ``tags``) and ``domain`` change as EvalAI's tags page changes them
        (a domain is needed), ``prizes`` and ``sponsors`` (lists of mappings) as its admin."""
        return self.service.ui_edit(pk, fields)

    def edit_phase(self, pk: int, codename: str, **fields: Any) -> dict[str, Any]:
        return self.service.ui_edit(pk, fields, phase=codename)

    def edit_phase_split(self, pk: int, phase: str, dataset_split: str, **fields: Any) -> dict[str, Any]:
        """Change the split of phase ``phase`` and dataset split ``dataset_split`` (codenames):
        ``visibility``, ``show_execution_time``...; the split as its GET answers it."""
        return self.service.ui_edit(pk, fields, phase=phase, dataset_split=dataset_split)

    def edit_leaderboard(self, pk: int, config_id: int, **fields: Any) -> dict[str, Any]:
        """Change the leaderboard with config ``id`` ``config_id``: ``schema`` (a mapping)."""
        return self.service.ui_edit(pk, fields, leaderboard=config_id)

    def edit_dataset_split(self, pk: int, codename: str, **fields: Any) -> dict[str, Any]:
        """Change the dataset split ``codename``: ``name`` (or ``codename``)."""
        return self.service.ui_edit(pk, fields, dataset_split=codename)

    def get_challenge(self, pk: int) -> dict[str, Any]:
        """The challenge as GET answers it (absolute ``image`` URL)."""
        result: dict[str, Any] = self.service.get_challenge(pk, self.url)
        return result

    def get_phases(self, pk: int) -> list[dict[str, Any]]:
        return self.service.list_phases(pk)

    def get_phase_splits(self, pk: int) -> list[dict[str, Any]]:
        """The split list as the host sees it, each split with its detail's keys added
        (leaderboard pk, decimal precision, order)."""
        structure = self.service.structure
        return [
            {**split, **structure.get_phase_split(int(split["id"]))}
            for split in structure.phase_splits(pk)
        ]

    def challenge_pk(self, repository: str) -> int | None:
        return self.service.find_by_repository(repository)

    def set_frozen(self, pk: int, frozen: bool) -> None:
        self.service.set_frozen(pk, frozen)
