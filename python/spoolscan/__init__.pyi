import dataclasses
import os
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Union

_Values = Union[str, Iterable[str]]
_Size = Union[int, str]
_PathLike = Union[str, "os.PathLike[str]"]

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

class Event:
    """A retained line."""

    @property
    def line(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def raw(self) -> bytes: ...
    def json(self) -> Any: ...
    def __bytes__(self) -> bytes: ...
    def __len__(self) -> int: ...

class Scan(Iterator[Event]):
    """The iterator returned by :func:`scan`."""

    @property
    def report(self) -> Optional[Dict[str, Any]]: ...
    def __iter__(self) -> "Scan": ...
    def __next__(self) -> Event: ...
    def close(self) -> None: ...

class SpoolError(OSError):
    stream: Optional[str]
    cap: Optional[int]
    directory: Optional[str]
    result: Optional["RunResult"]

@dataclasses.dataclass
class RunResult:
    returncode: int
    exit_status: int
    timed_out: bool
    elapsed: float
    stderr_tail: bytes
    summary: Optional[Dict[str, Any]]
    report: Dict[str, Any]
    events: Optional[List[Event]]
    warnings: List[str]
    fault: Optional[str] = ...

class FollowRun(Iterator[Event]):
    result: Optional[RunResult]
    def __iter__(self) -> "FollowRun": ...
    def __next__(self) -> Event: ...
    def close(self) -> None: ...
    def __enter__(self) -> "FollowRun": ...
    def __exit__(self, *exc: Any) -> None: ...

def parse_size(size: _Size) -> int: ...
def scan(
    source: Union[_PathLike, bytes, bytearray, memoryview, Any],
    keep: Optional[Mapping[str, _Values]] = ...,
    contains: Optional[Mapping[str, _Values]] = ...,
    case_sensitive: bool = ...,
    probe: Optional[_Size] = ...,
    max_line: Optional[_Size] = ...,
    ceiling: Optional[_Size] = ...,
    validate_all: bool = ...,
    threads: int = ...,
) -> Scan: ...
def summarize(
    source: Union[_PathLike, bytes, bytearray, memoryview, Any],
    profile: str = ...,
    *,
    probe: Optional[_Size] = ...,
    max_line: Optional[_Size] = ...,
    ceiling: Optional[_Size] = ...,
    threads: int = ...,
) -> Dict[str, Any]: ...
def run(
    argv: Sequence[Union[str, bytes, "os.PathLike[str]"]],
    *,
    timeout: Optional[float] = ...,
    grace: float = ...,
    max_spool: Optional[_Size] = ...,
    spool_dir: Optional[_PathLike] = ...,
    stdin: Optional[Union[bytes, _PathLike]] = ...,
    cwd: Optional[_PathLike] = ...,
    env: Optional[Mapping[str, str]] = ...,
    profile: Optional[str] = ...,
    keep: Optional[Mapping[str, _Values]] = ...,
    contains: Optional[Mapping[str, _Values]] = ...,
    case_sensitive: bool = ...,
    probe: Optional[_Size] = ...,
    max_line: Optional[_Size] = ...,
    ceiling: Optional[_Size] = ...,
    validate_all: bool = ...,
    threads: int = ...,
) -> RunResult: ...
def follow_run(
    argv: Sequence[Union[str, bytes, "os.PathLike[str]"]],
    *,
    timeout: Optional[float] = ...,
    grace: float = ...,
    max_spool: Optional[_Size] = ...,
    spool_dir: Optional[_PathLike] = ...,
    stdin: Optional[Union[bytes, _PathLike]] = ...,
    cwd: Optional[_PathLike] = ...,
    env: Optional[Mapping[str, str]] = ...,
    profile: Optional[str] = ...,
    keep: Optional[Mapping[str, _Values]] = ...,
    contains: Optional[Mapping[str, _Values]] = ...,
    case_sensitive: bool = ...,
    probe: Optional[_Size] = ...,
    max_line: Optional[_Size] = ...,
    ceiling: Optional[_Size] = ...,
    validate_all: bool = ...,
    threads: int = ...,
) -> FollowRun: ...
