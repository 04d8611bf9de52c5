"""spoolscan.run and spoolscan.follow_run: results, errors, timeouts, Ctrl-C."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import spoolscan
from oracle import expected_scan

PY = sys.executable


def cat(path):
    """A child that prints a file (a stand-in for an agent CLI)."""
    return [PY, "-c", f"import sys; sys.stdout.buffer.write(open({str(path)!r}, 'rb').read())"]


@pytest.mark.parametrize("profile", ["codex", "claude", "gemini"])
def test_run_summary_and_events_match_a_direct_scan(samples, profile):
    path = samples / f"{profile}.ndjson"
    keep = {"type": ["result", "turn.completed"], "item.type": ["agent_message"]}
    res = spoolscan.run(cat(path), profile="auto", keep=keep, timeout=60)
    assert isinstance(res, spoolscan.RunResult)
    assert (res.returncode, res.exit_status, res.timed_out, res.fault) == (0, 0, False, None)
    assert res.elapsed > 0 and res.stderr_tail == b""
    assert res.summary == spoolscan.summarize(path, profile="auto")
    rules = [("type", "equals", keep["type"]), ("item.type", "equals", keep["item.type"])]
    kept, counts = expected_scan(path.read_bytes(), rules)
    assert [(e.line, e.offset, e.raw) for e in res.events] == kept
    assert res.report["retained"] == counts["retained"] == len(kept)
    assert [e.json() for e in res.events] == [json.loads(raw) for _, _, raw in kept]


def test_run_without_keep_or_profile_reports_and_keeps_no_events(samples):
    res = spoolscan.run(cat(samples / "codex.ndjson"))
    assert res.events is None and res.summary is None
    assert res.report["lines"] == 13 and res.report["retained"] == 13


def test_failed_command_marks_the_summary_and_keeps_the_stderr_tail(samples):
    code = f"import sys; sys.stdout.write(open({str(samples / 'codex.ndjson')!r}).read()); sys.stderr.write('E' * 100000 + 'the end'); sys.exit(3)"
    res = spoolscan.run([PY, "-c", code], profile="codex")
    assert (res.returncode, res.exit_status) == (3, 3)
    assert res.summary["status"] == "failed"
    assert any("status 3" in w for w in res.summary["warnings"])
    assert len(res.stderr_tail) == 64 * 1024 and res.stderr_tail.endswith(b"the end")


def test_timeout_kills_the_group():
    t = time.monotonic()
    res = spoolscan.run(["sh", "-c", "sleep 30 & sleep 30"], timeout=0.3, grace=0.2)
    assert time.monotonic() - t < 10
    assert res.timed_out and res.exit_status == 124 and res.returncode == -signal.SIGTERM


def test_stdin_bytes_and_file(tmp_path):
    res = spoolscan.run(["cat"], stdin=b'{"type":"a"}\n', keep={"type": "a"})
    assert [e.raw for e in res.events] == [b'{"type":"a"}']
    f = tmp_path / "in.ndjson"
    f.write_bytes(b'{"type":"b"}\n')
    res = spoolscan.run(["cat"], stdin=f, keep={"type": "b"})
    assert [e.raw for e in res.events] == [b'{"type":"b"}']
    with pytest.raises(FileNotFoundError):
        spoolscan.run(["cat"], stdin=tmp_path / "missing")


def test_cwd_and_env(tmp_path):
    res = spoolscan.run([PY, "-c", "import os,json; print(json.dumps({'type': os.getcwd(), 'v': os.environ.get('SPOOLSCAN_T')}))"],
                        cwd=tmp_path, env={"SPOOLSCAN_T": "yes"}, contains={"type": ["/"]})
    assert res.events[0].json() == {"type": os.path.realpath(tmp_path), "v": "yes"}


def test_program_not_found_and_not_executable(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        spoolscan.run(["spoolscan-no-such-program-xyz"])
    assert e.value.filename == "spoolscan-no-such-program-xyz"
    f = tmp_path / "notexec"
    f.write_text("#!/bin/sh\n")
    with pytest.raises(PermissionError):
        spoolscan.run([str(f)])


def test_bad_options_raise_before_the_command_runs(tmp_path):
    marker = tmp_path / "ran"
    argv = ["touch", str(marker)]
    for kwargs in (dict(profile="nope"), dict(probe="1MiB", max_line="1KiB"), dict(timeout=-1),
                   dict(grace="soon"), dict(keep={"type": []}), dict(max_spool="lots")):
        with pytest.raises(ValueError):
            spoolscan.run(argv, **kwargs)
        with pytest.raises(ValueError):
            spoolscan.follow_run(argv, **kwargs)
    with pytest.raises(ValueError):
        spoolscan.run([])
    with pytest.raises(ValueError):
        spoolscan.run("touch x")
    assert not marker.exists()


def test_spool_cap_raises_spool_error_with_the_result():
    with pytest.raises(spoolscan.SpoolError) as e:
        spoolscan.run([PY, "-c", "import sys\nwhile True: sys.stdout.write('{}\\n' * 4096)"],
                      max_spool="64KiB", profile="codex", timeout=60)
    err = e.value
    assert isinstance(err, OSError)
    assert (err.stream, err.cap) == ("stdout", 65536) and os.path.isdir(err.directory)
    assert "64" in str(err) or "65536" in str(err)
    assert err.result.exit_status == 125 and err.result.fault == str(err)
    assert err.result.summary["status"] == "truncated" and err.result.report["truncated"] is True


def test_unusable_spool_dir_raises_spool_error(tmp_path):
    with pytest.raises(spoolscan.SpoolError) as e:
        spoolscan.run(["true"], spool_dir=tmp_path / "missing")
    assert e.value.directory == str(tmp_path / "missing")


def test_follow_run_yields_events_while_the_command_runs(tmp_path):
    gate = tmp_path / "gate"
    code = textwrap.dedent(f"""
        import os, time
        print('{{"type":"tick","n":1}}', flush=True)
        t = time.time()
        while not os.path.exists({str(gate)!r}) and time.time() - t < 20:
            time.sleep(0.01)
        print('{{"type":"tick","n":2}}', flush=True)
    """)
    follow = spoolscan.follow_run([PY, "-c", code], keep={"type": "tick"}, timeout=60)
    first = next(follow)
    # The command is still waiting for the gate: the first event came while it ran.
    assert first.json() == {"type": "tick", "n": 1}
    gate.touch()
    rest = list(follow)
    assert [e.json()["n"] for e in rest] == [2]
    assert follow.result.returncode == 0 and follow.result.events is None
    assert follow.result.report["retained"] == 2 and follow.result.elapsed < 20


def test_follow_run_with_a_profile_yields_its_events_and_summarizes(samples):
    path = samples / "claude.ndjson"
    follow = spoolscan.follow_run(cat(path), profile="auto")
    types = [e.json()["type"] for e in follow]
    assert "result" in types
    assert follow.result.summary == spoolscan.summarize(path)


@pytest.mark.parametrize(
    "profile", ["codex", "claude", "gemini", "opencode", "cursor", "amp", "qwen", "copilot"]
)
def test_follow_run_auto_yields_every_profiles_events(samples, profile):
    # With auto, the follow keeps the event types of every profile (not only the first three):
    # each sample yields the lines its own profile keeps, each equal to json.loads of its line.
    path = samples / f"{profile}.ndjson"
    lines = path.read_bytes().split(b"\n")
    follow = spoolscan.follow_run(cat(path), profile="auto", timeout=60)
    events = list(follow)
    assert events, profile
    for e in events:
        assert e.json() == json.loads(lines[e.line - 1]), (profile, e.line)
    own = [e.line for e in spoolscan.follow_run(cat(path), profile=profile, timeout=60)]
    assert set(own) <= {e.line for e in events}, profile
    assert follow.result.summary == spoolscan.summarize(path)
    assert follow.result.summary["profile"] == profile


def test_follow_run_close_kills_the_group(tmp_path):
    pidfile = tmp_path / "pid"
    code = f"import os,time; open({str(pidfile)!r},'w').write(str(os.getpid())); print('{{}}', flush=True); time.sleep(60)"
    with spoolscan.follow_run([PY, "-c", code]) as follow:
        next(follow)
    pid = int(pidfile.read_text())
    assert wait_dead(pid)


def test_follow_run_close_with_a_full_channel_does_not_hang(tmp_path):
    """The consumer reads one event of many and closes: the thread, blocked on the full
    channel (here while it finishes the scan of a command that has exited), is released."""
    code = "for i in range(20000): print('{\"type\":\"t\",\"i\":%d}' % i)"
    t = time.monotonic()
    follow = spoolscan.follow_run([PY, "-c", code])
    first = next(follow)
    time.sleep(0.5)  # let the thread fill the channel
    follow.close()
    assert first.json() == {"type": "t", "i": 0}
    assert list(follow) == [] and follow.result is None
    assert time.monotonic() - t < 20


def wait_dead(pid, limit=5.0):
    t = time.monotonic()
    while time.monotonic() - t < limit:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(")")[-1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.02)
    return False


CTRL_C = """
import signal, sys, spoolscan
# As in an interactive interpreter, even when this test runs where SIGINT is ignored (a
# background job of a non-interactive shell: Python then leaves SIGINT ignored).
signal.signal(signal.SIGINT, signal.default_int_handler)
argv = ["sh", "-c", "echo $$ > %(pid)s; sleep 60 & echo $! >> %(pid)s; wait"]
try:
    if sys.argv[1] == "run":
        spoolscan.run(argv)
    else:
        for ev in spoolscan.follow_run(argv):
            pass
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(42)
"""


@pytest.mark.parametrize("how", ["run", "follow"])
def test_ctrl_c_kills_the_group_and_raises_keyboard_interrupt(tmp_path, how):
    pidfile = tmp_path / "pids"
    script = tmp_path / "ctrlc.py"
    script.write_text(CTRL_C % {"pid": pidfile})
    proc = subprocess.Popen([PY, str(script), how], stdout=subprocess.PIPE)
    t = time.monotonic()
    while not (pidfile.exists() and len(pidfile.read_text().split()) == 2):
        assert time.monotonic() - t < 20, "the command did not start"
        time.sleep(0.02)
    pids = [int(p) for p in pidfile.read_text().split()]
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 42 and out == b"interrupted\n"
    assert all(wait_dead(p) for p in pids), "a member of the command's group survived"


def test_the_interpreter_is_released_while_run_waits():
    """Another Python thread keeps running while run() waits for a command."""
    import threading

    ticks = []
    done = threading.Event()

    def count():
        while not done.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    try:
        start = time.monotonic()
        spoolscan.run(["sleep", "0.5"])
        during = [x for x in ticks if x >= start]
    finally:
        done.set()
        t.join()
    # Ticks every ~1 ms for 0.5 s; a call holding the interpreter would allow none.
    assert len(during) > 100
