"""Scan huge NDJSON (agent CLI transcripts) in bounded memory.

spoolscan reads NDJSON fast and in bounded memory: files are memory-mapped, lines are found
with SIMD newline search, a structural probe classifies each line by key paths (``type``,
``item.type``) without decoding it, and only the lines you keep are validated and handed to
you. Commands can be run with their output spooled to disk (never to this process's heap)
and summarized. Every line that was not handed to you is counted in a report.

The functions:

* :func:`scan` -- iterate over the retained lines of a file, bytes or a binary file object.
* :func:`run` -- run a command with its output spooled to disk; scan and/or summarize it.
* :func:`follow_run` -- the same, yielding events while the command runs.
* :func:`summarize` -- the summary of a Codex, Claude Code or Gemini CLI transcript.

The interpreter is released while scanning and while waiting for a command; Ctrl-C stops a
command (its whole process group is killed) and raises :class:`KeyboardInterrupt`.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
import stat
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from . import _spoolscan
from ._spoolscan import Event, SpoolError

__all__ = [
    "Event",
    "Scan",
    "FollowRun",
    "RunResult",
    "SpoolError",
    "scan",
    "run",
    "follow_run",
    "summarize",
    "parse_size",
]

Scan = _spoolscan.Scan

_SIZE = re.compile(r"\s*(\d+)\s*([kmg]i?b?|[kmg]b|b)?\s*", re.IGNORECASE)
_UNITS = {
    "": 1, "b": 1,
    "k": 1 << 10, "kib": 1 << 10, "ki": 1 << 10, "kb": 1000,
    "m": 1 << 20, "mib": 1 << 20, "mi": 1 << 20, "mb": 1000**2,
    "g": 1 << 30, "gib": 1 << 30, "gi": 1 << 30, "gb": 1000**3,
}


def parse_size(size: Union[int, str]) -> int:
    """A size in bytes: an ``int``, or a string as the CLI takes it (DESIGN §10).

    >>> parse_size("4KiB"), parse_size("16M"), parse_size("1GB"), parse_size(512)
    (4096, 16777216, 1000000000, 512)
    """
    if isinstance(size, bool):
        raise ValueError(f"invalid size {size!r}")
    if isinstance(size, int):
        if size < 0:
            raise ValueError(f"invalid size {size!r}: must not be negative")
        return size
    if isinstance(size, str):
        m = _SIZE.fullmatch(size)
        unit = (m.group(2) or "").lower() if m else None
        if m and unit in _UNITS:
            return int(m.group(1)) * _UNITS[unit]
    raise ValueError(
        f"invalid size {size!r}: expected bytes, or a number with KiB, MiB, GiB, K, M, G, KB, MB or GB"
    )


def _opt_size(name: str, value: Optional[Union[int, str]]) -> Optional[int]:
    if value is None:
        return None
    try:
        return parse_size(value)
    except ValueError as e:
        raise ValueError(f"{name}: {e}") from None


def _threads(value: Any) -> int:
    """``threads`` checked: a positive ``int`` (1 is the sequential scan)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"threads must be a positive integer (worker threads), got {value!r}")
    if value < 1:
        raise ValueError(f"threads must be a positive integer (worker threads), got {value}")
    return value


Values = Union[str, Iterable[str]]


def _rules(keep: Optional[Mapping[str, Values]], contains: Optional[Mapping[str, Values]]) -> List[Tuple[str, str, List[str]]]:
    rules = []
    for kind, spec in (("equals", keep), ("contains", contains)):
        if spec is None:
            continue
        if not isinstance(spec, Mapping):
            raise ValueError(
                f"{'keep' if kind == 'equals' else 'contains'} must be a mapping of key paths to values, "
                f"like {{'type': ['turn.completed']}}, got {type(spec).__name__}"
            )
        for path, values in spec.items():
            if not isinstance(path, str):
                raise ValueError(f"key path {path!r} is not a string")
            if isinstance(values, (str, bytes)):
                values = [values]
            vals = list(values)
            for v in vals:
                if not isinstance(v, str):
                    raise ValueError(f"value {v!r} for key path {path!r} is not a string")
            rules.append((path, kind, vals))
    return rules


def _source(source: Any) -> Tuple[str, Any]:
    """(kind, object) for the extension: 'path', 'bytes' or 'reader'."""
    if isinstance(source, (str, os.PathLike)):
        return "path", os.fsdecode(os.fspath(source))
    if isinstance(source, bytes):
        return "bytes", source
    if isinstance(source, (bytearray, memoryview)):
        return "bytes", bytes(source)
    if hasattr(source, "read"):
        if isinstance(source, io.TextIOBase):
            raise TypeError("source must be a binary file object (opened with 'rb'), not a text file")
        # A regular file at its start is mapped (fast, pages released as it goes); anything
        # else (a pipe, a socket, BytesIO, a file read part-way) is read from where it stands.
        try:
            fd = source.fileno()
            at_start = source.tell() == 0
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            fd, at_start = None, False
        if fd is not None and at_start and stat.S_ISREG(os.fstat(fd).st_mode):
            return "path", f"/proc/self/fd/{fd}"
        return "reader", source
    try:
        return "bytes", bytes(memoryview(source))
    except TypeError:
        raise TypeError(
            f"source must be a path, a bytes-like object or a binary file object, not {type(source).__name__}"
        ) from None


def scan(
    source: Any,
    keep: Optional[Mapping[str, Values]] = None,
    contains: Optional[Mapping[str, Values]] = None,
    case_sensitive: bool = False,
    probe: Optional[Union[int, str]] = None,
    max_line: Optional[Union[int, str]] = None,
    ceiling: Optional[Union[int, str]] = None,
    validate_all: bool = False,
    threads: int = 1,
) -> "_spoolscan.Scan":
    """Scan NDJSON and iterate over the retained lines as :class:`Event` objects.

    ``source`` is a path (``str`` or ``os.PathLike``, memory-mapped), a bytes-like object,
    or a binary file object (a regular file at position 0 is mapped; otherwise it is read
    from its current position with ``read(n)`` into an unnamed spool file first).

    ``keep`` maps key paths to the values that retain a line
    (``{"type": ["turn.completed", "error"], "item.type": ["agent_message"]}``);
    ``contains`` maps key paths to substrings. Rules are OR-ed; values are compared ASCII
    case-insensitively unless ``case_sensitive``. With neither, every non-blank line is
    retained. ``probe``, ``max_line`` and ``ceiling`` are sizes (``int`` or ``"4KiB"``),
    defaults 4 KiB, 16 MiB, 64 MiB; ``validate_all`` parses every line.

    ``threads`` (default 1) scans a path, a mapped file object or bytes on that many worker
    threads (inputs larger than one 8 MiB chunk are cut at line boundaries); the events,
    their order, line numbers and offsets, and the report are the same as with one thread.
    A file object that is read (a pipe, ``BytesIO``) is always scanned sequentially.

    The scan runs on a background thread with the interpreter released and hands lines over
    in small batches, so memory stays bounded whatever the input size. After the iterator
    is exhausted its ``report`` attribute is the scan report (a dict, DESIGN §5).

    Raises ``FileNotFoundError``/``IsADirectoryError``/``OSError`` (naming the path) when the
    input cannot be read, ``ValueError`` for bad options.
    """
    kind, obj = _source(source)
    return _spoolscan.scan(
        kind,
        obj,
        _rules(keep, contains),
        bool(case_sensitive),
        _opt_size("probe", probe),
        _opt_size("max_line", max_line),
        _opt_size("ceiling", ceiling),
        bool(validate_all),
        _threads(threads),
    )


def summarize(
    source: Any,
    profile: str = "auto",
    *,
    probe: Optional[Union[int, str]] = None,
    max_line: Optional[Union[int, str]] = None,
    ceiling: Optional[Union[int, str]] = None,
    threads: int = 1,
) -> Dict[str, Any]:
    """Summarize an agent CLI transcript: the summary object of DESIGN §9 as a dict.

    ``profile`` is ``"codex"``, ``"claude"``, ``"gemini"``, ``"opencode"``, ``"cursor"``,
    ``"amp"``, ``"qwen"``, ``"copilot"`` or ``"auto"`` (detected; the
    summary's ``profile`` names the one used). ``source``, the limits and ``threads``
    (default 1) are as for :func:`scan`; the summary is the same whatever ``threads``.
    """
    if not isinstance(profile, str):
        raise ValueError(f"profile must be a string, got {type(profile).__name__}")
    kind, obj = _source(source)
    return _spoolscan.summarize(
        kind,
        obj,
        profile,
        _opt_size("probe", probe),
        _opt_size("max_line", max_line),
        _opt_size("ceiling", ceiling),
        _threads(threads),
    )


@dataclasses.dataclass
class RunResult:
    """The outcome of :func:`run` (or of :func:`follow_run`, as its ``result``).

    * ``returncode``: the command's exit code, or ``-N`` when signal ``N`` killed it (as
      :mod:`subprocess` reports it).
    * ``exit_status``: the status ``spoolscan run`` would exit with (DESIGN §11): 124 on
      timeout, ``128 + N`` for signal ``N``, 125 for a spool fault, else the exit code.
    * ``timed_out``, ``elapsed`` (seconds), ``stderr_tail`` (the last 64 KiB of stderr).
    * ``summary``: with ``profile``, the summary dict (DESIGN §9), marked ``failed`` when the
      command failed and ``truncated`` when its spool was cut short; else ``None``.
    * ``report``: the scan report of the command's stdout (DESIGN §5).
    * ``events``: with ``keep``/``contains``, the retained lines (:class:`Event`); else
      ``None`` (always ``None`` for :func:`follow_run`, which yielded them).
    * ``warnings``: spool directory warnings; ``fault``: the spool fault's message or None.
    """

    returncode: int
    exit_status: int
    timed_out: bool
    elapsed: float
    stderr_tail: bytes
    summary: Optional[Dict[str, Any]]
    report: Dict[str, Any]
    events: Optional[List[Event]]
    warnings: List[str]
    fault: Optional[str] = None


def _result(d: Dict[str, Any]) -> RunResult:
    fault = d["fault"]
    result = RunResult(
        returncode=d["returncode"],
        exit_status=d["exit_status"],
        timed_out=d["timed_out"],
        elapsed=d["elapsed"],
        stderr_tail=d["stderr_tail"],
        summary=d["summary"],
        report=d["report"],
        events=d["events"],
        warnings=d["warnings"],
        fault=fault["message"] if fault else None,
    )
    if fault:
        err = SpoolError(fault["message"])
        err.stream = fault["stream"]
        err.cap = fault["cap"]
        err.directory = os.fsdecode(fault["directory"])
        err.result = result
        raise err
    return result


def _run_args(argv, timeout, grace, max_spool, spool_dir, stdin, cwd, env, profile, keep, contains,
              case_sensitive, probe, max_line, ceiling, validate_all, threads):
    if isinstance(argv, (str, bytes, os.PathLike)):
        raise ValueError("argv must be a sequence of arguments, like ['codex', 'exec', '--json'] (no shell)")
    args = [os.fsencode(a) if isinstance(a, os.PathLike) else a for a in argv]
    args = [os.fsdecode(a) for a in args]
    for name, v in (("timeout", timeout), ("grace", grace)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0):
            raise ValueError(f"{name} must be a non-negative number of seconds, got {v!r}")
    if stdin is not None and not isinstance(stdin, (bytes, bytearray, memoryview, str, os.PathLike)):
        raise ValueError("stdin must be None, bytes, or the path of a file to read")
    if isinstance(stdin, (bytearray, memoryview)):
        stdin = bytes(stdin)
    elif isinstance(stdin, os.PathLike):
        stdin = os.fspath(stdin)
    rules = _rules(keep, contains) if (keep is not None or contains is not None) else None
    if profile is not None and not isinstance(profile, str):
        raise ValueError(f"profile must be a string, got {type(profile).__name__}")
    envl = None
    if env is not None:
        envl = [(os.fsdecode(k), os.fsdecode(v)) for k, v in env.items()]
    return (
        args,
        None if timeout is None else float(timeout),
        float(grace),
        _opt_size("max_spool", max_spool),
        None if spool_dir is None else os.fsdecode(os.fspath(spool_dir)),
        stdin,
        None if cwd is None else os.fsdecode(os.fspath(cwd)),
        envl,
        profile,
        rules,
        bool(case_sensitive),
        _opt_size("probe", probe),
        _opt_size("max_line", max_line),
        _opt_size("ceiling", ceiling),
        bool(validate_all),
        _threads(threads),
    )


def run(
    argv: Sequence[Union[str, bytes, "os.PathLike[str]"]],
    *,
    timeout: Optional[float] = None,
    grace: float = 5.0,
    max_spool: Optional[Union[int, str]] = None,
    spool_dir: Optional[Union[str, "os.PathLike[str]"]] = None,
    stdin: Optional[Union[bytes, str, "os.PathLike[str]"]] = None,
    cwd: Optional[Union[str, "os.PathLike[str]"]] = None,
    env: Optional[Mapping[str, str]] = None,
    profile: Optional[str] = None,
    keep: Optional[Mapping[str, Values]] = None,
    contains: Optional[Mapping[str, Values]] = None,
    case_sensitive: bool = False,
    probe: Optional[Union[int, str]] = None,
    max_line: Optional[Union[int, str]] = None,
    ceiling: Optional[Union[int, str]] = None,
    validate_all: bool = False,
    threads: int = 1,
) -> RunResult:
    """Run a command with its stdout and stderr spooled to unnamed files on disk, then scan
    its stdout; returns a :class:`RunResult`.

    The command runs in its own process group. ``timeout`` (seconds) stops the whole group
    (TERM, ``grace`` seconds, then KILL). ``max_spool`` caps each spool (a size); a command
    that exceeds it is killed and :class:`SpoolError` is raised (its ``result`` attribute
    holds the result). ``spool_dir`` defaults to ``$SPOOLSCAN_DIR``, else the system
    temporary directory. ``stdin`` is ``None`` (``/dev/null``), bytes, or a file path.

    With ``profile`` (``codex``, ``claude``, ``gemini``, ``auto``) the result has a
    ``summary``; with ``keep``/``contains`` it has the retained ``events``. The limits and
    ``threads`` (default 1) are as for :func:`scan`: the finished stdout spool is scanned
    and summarized on ``threads`` worker threads.

    Raises ``FileNotFoundError`` when the program is not found, ``PermissionError``/``OSError``
    when it cannot be executed, ``ValueError`` for bad options (before anything runs),
    :class:`SpoolError` for spool faults, ``KeyboardInterrupt`` on Ctrl-C (the command's
    group is killed first).
    """
    args = _run_args(argv, timeout, grace, max_spool, spool_dir, stdin, cwd, env, profile, keep,
                     contains, case_sensitive, probe, max_line, ceiling, validate_all, threads)
    return _result(_spoolscan.run(*args))


class FollowRun:
    """An iterator over the retained lines of a running command's stdout, each yielded as
    soon as the command has written it. After it is exhausted, ``result`` is the
    :class:`RunResult` (with ``events`` None). ``close()`` (or leaving a ``with`` block)
    stops the command early: its process group is killed."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.result: Optional[RunResult] = None

    def __iter__(self) -> "FollowRun":
        return self

    def __next__(self) -> Event:
        try:
            return next(self._inner)
        except StopIteration:
            if self.result is None and self._inner.result is not None:
                self.result = _result(self._inner.result)
            raise

    def close(self) -> None:
        """Stops the command (its process group is killed); nothing more is yielded."""
        self._inner.close()

    def __enter__(self) -> "FollowRun":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def follow_run(
    argv: Sequence[Union[str, bytes, "os.PathLike[str]"]],
    *,
    timeout: Optional[float] = None,
    grace: float = 5.0,
    max_spool: Optional[Union[int, str]] = None,
    spool_dir: Optional[Union[str, "os.PathLike[str]"]] = None,
    stdin: Optional[Union[bytes, str, "os.PathLike[str]"]] = None,
    cwd: Optional[Union[str, "os.PathLike[str]"]] = None,
    env: Optional[Mapping[str, str]] = None,
    profile: Optional[str] = None,
    keep: Optional[Mapping[str, Values]] = None,
    contains: Optional[Mapping[str, Values]] = None,
    case_sensitive: bool = False,
    probe: Optional[Union[int, str]] = None,
    max_line: Optional[Union[int, str]] = None,
    ceiling: Optional[Union[int, str]] = None,
    validate_all: bool = False,
    threads: int = 1,
) -> FollowRun:
    """Like :func:`run`, but returns at once an iterator that yields the retained lines of
    the command's stdout while it runs (the ``keep``/``contains`` rules; without them, the
    profile's event types; with neither, every line). ``result`` is set once it is
    exhausted (and :class:`SpoolError` is raised then for a spool fault). The events are
    read as the command writes them, sequentially whatever ``threads``; ``threads`` applies
    to the summary (with ``profile``), made over the finished spool."""
    args = _run_args(argv, timeout, grace, max_spool, spool_dir, stdin, cwd, env, profile, keep,
                     contains, case_sensitive, probe, max_line, ceiling, validate_all, threads)
    return FollowRun(_spoolscan.follow_run(*args))
