"""`threads`: a parallel scan gives what the sequential scan gives (events in order, line
numbers, offsets, the report, the summary), on an input several 8 MiB chunks long with giant
and small lines; a bad `threads` is a ValueError."""

import json
import sys

import pytest

import spoolscan
from oracle import expected_scan

KEEP = {"type": ["turn.completed", "error"], "item.type": ["agent_message"]}
RULES = [("type", "equals", ["turn.completed", "error"]), ("item.type", "equals", ["agent_message"])]
MiB = 1 << 20


def line(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def giant(kind, size, item_type="command_execution"):
    """A line of about `size` bytes: an item whose text is a long run of fake events (a
    `"type":"error"` inside a string must never match)."""
    filler = ('{\\"type\\":\\"error\\",\\"message\\":\\"fake\\"} ' * (size // 40 + 1))[:size]
    head = line({"type": kind, "item": {"id": "big", "type": item_type}})[:-2]
    return head + b',"text":"' + filler.encode() + b'"}}'


@pytest.fixture(scope="module")
def transcript(tmp_path_factory):
    """About 40 MiB: small events, blank and CRLF lines, malformed lines, giant lines of 3,
    9 (retained) and 17 MiB (over the default 16 MiB max_line), at varied positions so that
    chunk boundaries fall inside giant lines and inside runs of small ones."""
    parts = [b"\xef\xbb\xbf" + line({"type": "thread.started", "thread_id": "t"})]
    for i in range(60000):
        if i % 9973 == 0:
            parts.append(giant("item.completed", (3, 9, 17)[(i // 9973) % 3] * MiB,
                               "agent_message" if (i // 9973) % 3 == 1 else "command_execution"))
        if i % 997 == 0:
            parts.append(b'{"type":"error","message":"broken')  # malformed: unterminated
        if i % 1499 == 0:
            parts.append(b"   ")
        if i % 701 == 0:
            parts.append(line({"type": "item.completed", "item": {"type": "agent_message", "text": f"m{i}"}}) + b"\r")
        parts.append(line({"type": "item.completed" if i % 2 else "item.started",
                           "item": {"id": f"item_{i}", "type": "reasoning", "text": "x" * (i % 300)}}))
        if i % 5000 == 4999:
            parts.append(line({"type": "turn.completed", "usage": {"input_tokens": i, "output_tokens": 7}}))
    parts.append(line({"type": "item.completed", "item": {"id": "msg", "type": "agent_message", "text": "Done."}}))
    parts.append(line({"type": "turn.completed", "usage": {"input_tokens": 1, "output_tokens": 2}}))
    data = b"\n".join(parts)  # no final LF: the last line ends the input
    path = tmp_path_factory.mktemp("threads") / "big.ndjson"
    path.write_bytes(data)
    assert len(data) > 4 * 8 * MiB  # several chunks of a parallel scan
    return path


def scanned(source, threads, **kw):
    events = spoolscan.scan(source, keep=KEEP, threads=threads, **kw)
    got = [(e.line, e.offset, e.raw) for e in events]
    return got, events.report


def test_sequential_scan_matches_the_json_oracle(transcript):
    data = transcript.read_bytes()
    got, report = scanned(transcript, 1)
    kept, counts = expected_scan(data, RULES)
    assert got == kept
    assert report["lines"] == counts["lines"]
    assert report["retained"] == counts["retained"]
    assert report["blank"] == counts["blank"]
    assert report["malformed_total"] == counts["malformed_total"]
    # The 17 MiB lines are over max_line: skipped by their probe, counted apart.
    assert report["oversize_skipped"] == 2
    assert report["skipped"] + report["oversize_skipped"] == counts["skipped"]
    assert any(len(raw) > 8 * MiB for _, _, raw in got)  # the 9 MiB line is retained


@pytest.mark.parametrize("threads", [2, 4])
def test_threads_give_the_sequential_events_and_report(transcript, threads):
    want = scanned(transcript, 1)
    assert scanned(transcript, threads) == want
    # A file object at its start is mapped too; bytes are scanned in place.
    with open(transcript, "rb") as f:
        assert scanned(f, threads) == want
    assert scanned(transcript.read_bytes(), threads) == want


@pytest.mark.parametrize("threads", [2, 4])
def test_threads_with_small_limits_and_validation(transcript, threads):
    # Giant lines over max_line and retained lines over the ceiling, every line validated.
    kw = dict(max_line="2MiB", ceiling="4MiB", validate_all=True)
    want = scanned(transcript, 1, **kw)
    assert want[1]["oversize_skipped"] + want[1]["oversize_unclassified"] + want[1]["dropped_total"] > 0
    assert scanned(transcript, threads, **kw) == want


@pytest.mark.parametrize("threads", [2, 4])
def test_summarize_with_threads(transcript, threads):
    want = spoolscan.summarize(transcript, profile="codex")
    assert want["answer"] == "Done."
    assert spoolscan.summarize(transcript, profile="codex", threads=threads) == want
    assert spoolscan.summarize(transcript, profile="auto", threads=threads) == \
        spoolscan.summarize(transcript, profile="auto")


def test_run_with_threads(transcript):
    child = [sys.executable, "-c",
             "import shutil,sys; shutil.copyfileobj(open(sys.argv[1],'rb'), sys.stdout.buffer)",
             str(transcript)]
    one = spoolscan.run(child, timeout=120, profile="codex", keep=KEEP)
    two = spoolscan.run(child, timeout=120, profile="codex", keep=KEEP, threads=2)
    assert [(e.line, e.offset, e.raw) for e in two.events] == \
        [(e.line, e.offset, e.raw) for e in one.events]
    assert two.report == one.report
    assert two.summary == one.summary
    assert one.summary["answer"] == "Done."


def test_follow_run_with_threads(transcript):
    # The events are followed sequentially whatever `threads`; the summary over the finished
    # spool is made with them: both equal the sequential ones.
    child = [sys.executable, "-c",
             "import shutil,sys; shutil.copyfileobj(open(sys.argv[1],'rb'), sys.stdout.buffer)",
             str(transcript)]
    got = {}
    for threads in (1, 2):
        follow = spoolscan.follow_run(child, timeout=120, profile="codex", keep=KEEP, threads=threads)
        events = [(e.line, e.offset, e.raw) for e in follow]
        got[threads] = (events, follow.result.report, follow.result.summary)
    assert got[2] == got[1]
    assert got[1][0] == scanned(transcript, 1)[0]
    assert got[1][2]["answer"] == "Done."


BAD = [0, -1, -8, True, 1.5, "2", None]


@pytest.mark.parametrize("bad", BAD, ids=repr)
def test_bad_threads_is_a_value_error(samples, bad):
    path = samples / "codex.ndjson"
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        spoolscan.scan(path, threads=bad)
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        spoolscan.summarize(path, threads=bad)
    # Checked before the command starts: the marker file is never written.
    marker = samples.parent / "target" / "threads-marker-never-written"
    argv = [sys.executable, "-c", f"open({str(marker)!r}, 'w')"]
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        spoolscan.run(argv, threads=bad)
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        spoolscan.follow_run(argv, threads=bad)
    assert not marker.exists()


def test_extension_rejects_zero_threads(samples):
    # The extension checks too, for callers of spoolscan._spoolscan.
    with pytest.raises(ValueError, match="threads must be a positive number"):
        spoolscan._spoolscan.scan("path", str(samples / "codex.ndjson"), [], False,
                                  None, None, None, False, 0)
