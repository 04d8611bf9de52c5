"""The seed's own scenario (issue #1646 of the orchestrator that started this project): a
fake Codex writes a 128 MiB transcript with giant tool-output lines; in a fresh interpreter,
spoolscan.run(..., profile="codex") gives the right answer and usage, and the parent's peak
RSS stays within 32 MiB of the same call on a tiny transcript."""

import json
import pathlib
import subprocess
import sys

import fake_codex

HERE = pathlib.Path(__file__).resolve().parent

PROBE = """
import json, sys
import spoolscan

res = spoolscan.run([sys.executable, {fake!r}, sys.argv[1]], profile="codex", timeout=600)
status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
kib = lambda k: int(status[k].split()[0])
print(json.dumps({{
    "returncode": res.returncode,
    "summary": res.summary,
    "vm_hwm_kib": kib("VmHWM"),
    "rss_anon_kib": kib("RssAnon"),
    "rss_file_kib": kib("RssFile"),
}}))
"""


def fresh_run(size_mib):
    """Runs the scenario in a fresh interpreter. The peak is VmHWM: the high-water mark of
    the interpreter's own address space (ru_maxrss would start from the forking process's)."""
    code = PROBE.format(fake=str(HERE / "fake_codex.py"))
    out = subprocess.run([sys.executable, "-c", code, str(size_mib)], capture_output=True, check=True, timeout=900)
    return json.loads(out.stdout)


def test_128_mib_transcript_in_bounded_memory():
    tiny = fresh_run(0)
    large = fresh_run(128)
    for r in (tiny, large):
        s = r["summary"]
        assert r["returncode"] == 0
        assert (s["profile"], s["status"]) == ("codex", "ok")
        assert s["answer"] == fake_codex.ANSWER
        assert s["usage"] == fake_codex.USAGE
        assert s["session_id"] == fake_codex.THREAD
    rep = large["summary"]["report"]
    assert rep["bytes"] >= 128 << 20
    # The giant outputs were classified, not decoded: only thread.started, the answer and the
    # usage were retained (the profile's selector).
    assert rep["retained"] == 3 and rep["oversize_skipped"] > 0 and rep["malformed_total"] == 0
    delta_mib = (large["vm_hwm_kib"] - tiny["vm_hwm_kib"]) / 1024
    print(f"peak RSS: tiny {tiny['vm_hwm_kib'] / 1024:.1f} MiB, 128 MiB transcript "
          f"{large['vm_hwm_kib'] / 1024:.1f} MiB (RssAnon {large['rss_anon_kib'] / 1024:.1f}, "
          f"RssFile {large['rss_file_kib'] / 1024:.1f} at the end): +{delta_mib:.1f} MiB")
    assert delta_mib < 32


SCAN_PROBE = """
import json, sys
import spoolscan

n = 0
events = spoolscan.scan(sys.argv[1], keep={"type": ["keep"]})
for ev in events:
    n += len(ev.raw)
status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
print(json.dumps({"bytes": n, "report": events.report, "vm_hwm_kib": int(status["VmHWM"].split()[0])}))
"""


def test_scan_streams_a_large_file_of_retained_lines_in_bounded_memory(tmp_path):
    """Iterating over 96 MiB of retained lines (and 32 MiB of skipped ones) does not hold
    them: the peak stays within 32 MiB of a scan of a tiny file."""
    line = b'{"type":"keep","pad":"' + b"k" * (64 << 10) + b'"}\n'
    skip = b'{"type":"skip","pad":"' + b"s" * (64 << 10) + b'"}\n'
    big, tiny = tmp_path / "big.ndjson", tmp_path / "tiny.ndjson"
    with open(big, "wb") as f:
        for i in range(2048):
            f.write(skip if i % 4 == 3 else line)
    tiny.write_bytes(line + skip)

    def fresh(path):
        out = subprocess.run([sys.executable, "-c", SCAN_PROBE, str(path)], capture_output=True, check=True, timeout=600)
        return json.loads(out.stdout)

    small, large = fresh(tiny), fresh(big)
    assert large["report"]["retained"] == 1536 and large["report"]["skipped"] == 512
    assert large["bytes"] == 1536 * (len(line) - 1)
    delta_mib = (large["vm_hwm_kib"] - small["vm_hwm_kib"]) / 1024
    print(f"scan peak RSS: tiny {small['vm_hwm_kib'] / 1024:.1f} MiB, 128 MiB file {large['vm_hwm_kib'] / 1024:.1f} MiB: +{delta_mib:.1f} MiB")
    assert delta_mib < 32
