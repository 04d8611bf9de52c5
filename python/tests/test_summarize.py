"""spoolscan.summarize on the samples, against answers and usage read with the json module."""

import io
import json

import pytest

import spoolscan


def events_of(path):
    return [json.loads(l) for l in path.read_bytes().splitlines() if l.strip()]


def oracle(profile, evs):
    """(answer, usage, session_id) as the sample's own events give them."""
    if profile == "codex":
        answer = [e["item"]["text"] for e in evs
                  if e["type"] == "item.completed" and e["item"]["type"] == "agent_message"][-1]
        usage = [e["usage"] for e in evs if e["type"] == "turn.completed"][-1]
        sid = [e["thread_id"] for e in evs if e["type"] == "thread.started"][-1]
        return answer, usage, sid
    if profile == "claude":
        result = [e for e in evs if e["type"] == "result"][-1]
        return result["result"], result["usage"], result["session_id"]
    # gemini: the assistant's message deltas after the last tool event
    last_tool = max(i for i, e in enumerate(evs) if e["type"] in ("tool_use", "tool_result"))
    answer = "".join(e["content"] for e in evs[last_tool:]
                     if e["type"] == "message" and e.get("role") == "assistant")
    result = [e for e in evs if e["type"] == "result"][-1]
    sid = [e["session_id"] for e in evs if e["type"] == "init"][-1]
    return answer, result["stats"], sid


@pytest.mark.parametrize("profile", ["codex", "claude", "gemini"])
@pytest.mark.parametrize("asked", ["auto", "same"])
def test_samples(samples, profile, asked):
    path = samples / f"{profile}.ndjson"
    evs = events_of(path)
    want_profile = profile if asked == "same" else "auto"
    for source in (path, str(path), path.read_bytes(), io.BytesIO(path.read_bytes())):
        s = spoolscan.summarize(source, profile=want_profile)
        answer, usage, sid = oracle(profile, evs)
        assert s["profile"] == profile
        assert s["status"] == "ok"
        assert (s["answer"], s["usage"], s["session_id"]) == (answer, usage, sid)
        assert s["error"] is None and s["errors"] == []
        assert s["report"]["lines"] == len(path.read_bytes().splitlines())
        if profile == "claude":
            assert s["cost_usd"] == [e for e in evs if e["type"] == "result"][-1]["total_cost_usd"]
        else:
            assert s["cost_usd"] is None
        assert list(s)[:3] == ["profile", "status", "answer"]


def test_errors_and_failed_status():
    data = (b'{"type":"thread.started","thread_id":"t9"}\n'
            b'{"type":"error","message":"stream disconnected"}\n'
            b'{"type":"turn.failed","error":{"message":"quota exceeded"}}\n')
    s = spoolscan.summarize(data, profile="codex")
    assert s["status"] == "failed"
    assert s["error"] == "quota exceeded"
    assert s["errors"] == ["stream disconnected", "quota exceeded"]
    assert s["answer"] is None and s["session_id"] == "t9"


def test_empty_and_truncated_input():
    s = spoolscan.summarize(b"", profile="codex")
    assert s["status"] == "no_events" and s["event"] is None
    s = spoolscan.summarize(b'{"type":"item.completed","item":{"type":"agent_message","text":"Do', profile="codex")
    assert s["status"] == "truncated" and s["report"]["truncated"] is True


def test_bad_profile_and_limits():
    with pytest.raises(ValueError, match="unknown profile"):
        spoolscan.summarize(b"{}", profile="nope")
    with pytest.raises(ValueError):
        spoolscan.summarize(b"{}", probe="2MiB", max_line="1MiB")
