"""Scripted failures, the request log and per-token throttling: what tests use to see and
shape the traffic.  Everything here is thread-safe; nothing does HTTP."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from evalai_mirror.records import asdict, field, record

FAULT_KINDS = ("500", "html", "drop", "delay", "lost", "cut", "late", "shape")
# The kinds that let the request do its work first, then lose the answer: what a client sees
# when EvalAI applied a PATCH but the answer never arrived.
APPLIED_KINDS = frozenset({"lost", "cut", "late"})


@record(frozen=True)
class RequestRecord:
    """One API request as the sandbox saw it (``/_sandbox/`` calls are not recorded).

    ``status`` is 0 for a connection the sandbox dropped on purpose; ``time`` is when the
    request arrived (epoch seconds) and ``duration`` how long the answer took.
    """

    method: str
    path: str
    status: int
    bytes_in: int
    bytes_out: int
    time: float
    duration: float
    query: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@record
class Fault:
    """The next ``count`` requests matching ``method`` (None: any) and ``path_regex``
    (``re.search`` on the path) answer as ``kind`` says: "500" (a JSON 500), "html" (an HTML
    error page, ``status`` 500 unless given), "drop" (the connection is closed with no answer)
    or "delay" (answered normally after ``delay`` seconds).  Three kinds carry the request out
    first and then lose its answer: "lost" (the connection is closed with no answer), "cut"
    (half the body is sent, then the connection is closed) and "late" (the answer is held
    ``delay`` seconds, past a client's read timeout).  "shape" carries the request out and
    answers well-formed JSON of the wrong shape: the answer object (each item of a list answer)
    gets the keys of ``change`` set to their values and the keys in ``drop`` removed."""

    method: str | None
    path_regex: str
    kind: str
    count: int = 1
    delay: float = 0.0
    status: int | None = None
    change: dict[str, Any] = field(default_factory=dict)
    drop: tuple[str, ...] = ()
    _pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; use one of {', '.join(FAULT_KINDS)}")
        if self.count < 1:
            raise ValueError("a fault needs a count of at least 1")
        self._pattern = re.compile(self.path_regex)
        self.method = self.method.upper() if self.method else None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and bool(self._pattern.search(path))

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path_regex": self.path_regex,
            "kind": self.kind,
            "count": self.count,
            "delay": self.delay,
            "status": self.status,
            "change": self.change,
            "drop": list(self.drop),
        }

    def reshape(self, answer: Any) -> Any:
        """A "shape" fault's answer: ``change`` and ``drop`` applied to the object (each item
        of a list, of a page's ``results``)."""
        if isinstance(answer, dict) and isinstance(answer.get("results"), list):
            return {**answer, "results": self.reshape(answer["results"])}
        if isinstance(answer, list):
            return [self.reshape(item) for item in answer]
        if not isinstance(answer, dict):
            return answer
        out = {k: v for k, v in answer.items() if k not in self.drop}
        out.update(self.change)
        return out


class FaultPlan:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault that matches, its count used up by one (removed at zero)."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
        return None


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


class Throttle:
    """DRF's UserRateThrottle: at most ``rate`` requests per ``duration`` seconds per key;
    0 turns it off.  ``check`` returns None (go ahead) or the seconds to wait."""

    def __init__(self, rate: int, duration: float = 60.0) -> None:
        self.rate = rate
        self.duration = duration
        self._lock = threading.Lock()
        self._history: dict[str, list[float]] = {}

    def check(self, key: str, now: float | None = None) -> float | None:
        if self.rate <= 0:
            return None
        now = time.time() if now is None else now
        with self._lock:
            history = [t for t in self._history.get(key, []) if t > now - self.duration]
            if len(history) >= self.rate:
                self._history[key] = history
                remaining = self.duration - (now - history[-1]) if history else self.duration
                available = self.rate - len(history) + 1
                wait = remaining if available <= 0 else remaining / available
                return float(wait)
            history.insert(0, now)
            self._history[key] = history
        return None

    def reset(self) -> None:
        with self._lock:
            self._history.clear()
