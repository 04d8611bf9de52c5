"""spoolscan.scan against the json-module oracle, on the samples and crafted inputs."""

import io
import json
import os
import pathlib

import pytest

import spoolscan
from oracle import SAMPLES, expected_scan, split_lines

RULESETS = [
    [],
    [("type", "equals", ["turn.completed", "error", "turn.failed", "result"])],
    [("type", "equals", ["turn.completed"]), ("item.type", "equals", ["agent_message"])],
    [("type", "contains", ["RESULT", "message"])],
    [("item.type", "contains", ["exec", "reason"]), ("type", "equals", ["INIT", "System"])],
    [("role", "equals", ["assistant"])],
]


def kwargs_of(rules):
    keep, contains = {}, {}
    for path, kind, values in rules:
        (keep if kind == "equals" else contains).setdefault(path, []).extend(values)
    return dict(keep=keep or None, contains=contains or None)


def check(events_iter, data, rules, case_sensitive=False):
    got = [(e.line, e.offset, e.raw) for e in events_iter]
    kept, counts = expected_scan(data, rules, case_sensitive)
    assert got == kept
    report = events_iter.report
    for k, v in counts.items():
        assert report[k] == v, k
    assert report["bytes"] == len(data)
    total = sum(report[k] for k in ("retained", "skipped", "oversize_skipped", "oversize_unclassified",
                                    "dropped_total", "malformed_total", "blank"))
    assert total == report["lines"]
    return got


@pytest.mark.parametrize("sample", SAMPLES)
@pytest.mark.parametrize("rules", RULESETS, ids=range(len(RULESETS)))
def test_samples_match_the_json_oracle(samples, sample, rules):
    path = samples / f"{sample}.ndjson"
    data = path.read_bytes()
    for case_sensitive in (False, True):
        kw = kwargs_of(rules)
        check(spoolscan.scan(path, case_sensitive=case_sensitive, **kw), data, rules, case_sensitive)


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_source_kind_gives_the_same_events(samples, sample, tmp_path):
    path = samples / f"{sample}.ndjson"
    data = path.read_bytes()
    rules = RULESETS[2] if sample == "codex" else RULESETS[3]
    kw = kwargs_of(rules)
    expected = check(spoolscan.scan(str(path), **kw), data, rules)
    sources = [
        path,
        data,
        bytearray(data),
        memoryview(data),
        io.BytesIO(data),
    ]
    for src in sources:
        assert [(e.line, e.offset, e.raw) for e in spoolscan.scan(src, **kw)] == expected, type(src)
    with open(path, "rb") as f:  # a regular file at 0: mapped
        check(spoolscan.scan(f, **kw), data, rules)
    with open(path, "rb") as f:  # opened by scan() itself: closing the object does not matter
        events = spoolscan.scan(f, **kw)
    check(events, data, rules)
    r, w = os.pipe()  # a pipe: read with read(n)
    with os.fdopen(w, "wb") as wf:
        wf.write(data)
    with os.fdopen(r, "rb") as rf:
        check(spoolscan.scan(rf, **kw), data, rules)


def test_a_file_object_part_way_is_read_from_its_position(samples):
    data = (samples / "codex.ndjson").read_bytes()
    first_len = data.index(b"\n") + 1
    with open(samples / "codex.ndjson", "rb") as f:
        f.readline()
        events = spoolscan.scan(f)
        got = [e.raw for e in events]
    rest = data[first_len:]
    assert got == [line for _, _, line in split_lines(rest)]
    assert events.report["bytes"] == len(rest)


@pytest.mark.parametrize("sample", SAMPLES)
def test_json_decodes_like_the_json_module(samples, sample):
    for ev in spoolscan.scan(samples / f"{sample}.ndjson"):
        assert ev.json() == json.loads(ev.raw)
        assert bytes(ev) == ev.raw and len(ev) == len(ev.raw)


def test_escaped_values_and_keys_in_strings_do_not_fool_the_probe():
    data = (
        b'{"type":"item.completed","item":{"type":"command_execution","aggregated_output":"{\\"type\\":\\"error\\"}"}}\n'
        b'{"type":"agent\\u005fmessage"}\n'
        b'{"item":{"type":"x"},"type":"error","type":"other"}\n'
        b'\xef\xbb\xbf\n'
        b'  \t \r\n'
        b'{"type":"ERROR"}\r\n'
    )
    rules = [("type", "equals", ["error", "agent_message"])]
    got = check(spoolscan.scan(data, keep={"type": ["error", "agent_message"]}), data, rules)
    assert [n for n, _, _ in got] == [2, 3, 6]
    assert [e.line for e in spoolscan.scan(data, keep={"type": ["error"]}, case_sensitive=True)] == [3]


def test_malformed_dropped_and_truncated_lines_are_reported():
    big = b'{"type":"error","message":"' + b"x" * 5000 + b'"}'
    data = b'{"type":"error"\n' + big + b"\nReading prompt from stdin...\n" + b'{"type":"error","message":"cut'
    events = spoolscan.scan(data, keep={"type": "error"}, probe=1024, max_line=2048, ceiling=4096)
    assert list(events) == []
    r = events.report
    assert r["lines"] == 4 and r["malformed_total"] == 3 and r["dropped_total"] == 1
    assert r["dropped"] == [{"line": 2, "offset": 16, "len": len(big), "value": "error", "reason": "over_ceiling"}]
    assert [m["line"] for m in r["malformed"]] == [1, 3, 4]
    assert all(m["error"] for m in r["malformed"])
    assert r["truncated"] is True


def test_sizes_accept_strings():
    data = b'{"type":"a","pad":"' + b"y" * 3000 + b'"}\n'
    events = spoolscan.scan(data, keep={"type": "a"}, probe="1KiB", max_line="2K", ceiling="2KiB")
    assert list(events) == [] and events.report["dropped_total"] == 1


def test_report_is_none_until_exhausted_and_close_stops():
    data = b"".join(b'{"type":"t","n":%d}\n' % i for i in range(10000))
    events = spoolscan.scan(data)
    assert events.report is None
    first = next(events)
    assert first.line == 1
    events.close()
    assert list(events) == [] and events.report is None


def test_many_events_stream_through_the_bounded_channel(tmp_path):
    n = 200_000
    p = tmp_path / "many.ndjson"
    with open(p, "wb") as f:
        for i in range(n):
            f.write(b'{"type":"%s","i":%d}\n' % (b"keep" if i % 2 else b"drop", i))
    events = spoolscan.scan(p, keep={"type": ["keep"]})
    count = 0
    for count, ev in enumerate(events, 1):
        if count == 1:
            assert ev.json() == {"type": "keep", "i": 1}
    assert count == n // 2
    assert events.report["retained"] == n // 2 and events.report["skipped"] == n // 2


def test_missing_file_and_directory_name_the_path(tmp_path):
    missing = tmp_path / "nope.ndjson"
    # Raised by the call itself: the file is opened before scan() returns.
    with pytest.raises(FileNotFoundError) as e:
        spoolscan.scan(missing)
    assert e.value.filename == str(missing)
    with pytest.raises(IsADirectoryError) as e:
        spoolscan.scan(tmp_path)
    assert e.value.filename == str(tmp_path)
    with pytest.raises(FileNotFoundError):
        spoolscan.summarize(missing)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(probe=100, max_line=50),
        dict(max_line="1MiB", ceiling="1KiB"),
        dict(probe=0),
        dict(probe="4 parsecs"),
        dict(probe=-1),
        dict(keep={"": ["x"]}),
        dict(keep={"item..type": ["x"]}),
        dict(keep={"type": []}),
        dict(keep=["type"]),
        dict(keep={"type": [1]}),
        dict(contains={"type": []}),
    ],
)
def test_bad_options_raise_value_error(kwargs):
    with pytest.raises(ValueError):
        spoolscan.scan(b"{}\n", **kwargs)


def test_bad_sources_raise_type_error(samples):
    with pytest.raises(TypeError):
        spoolscan.scan(12345)
    with open(samples / "codex.ndjson") as text:
        with pytest.raises(TypeError):
            spoolscan.scan(text)


def test_an_exception_in_read_is_raised_as_it_was():
    class Broken(io.RawIOBase):
        def readable(self):
            return True

        def read(self, n=-1):
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        list(spoolscan.scan(Broken()))


def test_oversize_lines_are_classified_from_the_probe():
    pad = b"z" * 3000
    data = (
        b'{"type":"skip","pad":"' + pad + b'"}\n'        # decided in the probe: oversize_skipped
        + b'{"pad":"' + pad + b'","type":"keep"}\n'      # decided only past the probe: unclassified
        + b'{"type":"keep","pad":"' + pad + b'"}\n'      # retained, within the ceiling
    )
    events = spoolscan.scan(data, keep={"type": "keep"}, probe=1024, max_line=2048, ceiling=8192)
    assert [e.line for e in events] == [3]
    r = events.report
    assert (r["oversize_skipped"], r["oversize_unclassified"], r["retained"]) == (1, 1, 1)
    # With max_line over the line sizes, all three are classified exactly.
    events = spoolscan.scan(data, keep={"type": "keep"}, probe=1024, max_line=4096, ceiling=8192)
    assert [e.line for e in events] == [2, 3]


def test_validate_all_counts_invalid_skipped_lines():
    data = b'{"type":"a"}\n{"type":"b",}\n'
    lenient = spoolscan.scan(data, keep={"type": "a"})
    assert [e.line for e in lenient] == [1] and lenient.report["malformed_total"] == 0
    strict = spoolscan.scan(data, keep={"type": "a"}, validate_all=True)
    assert [e.line for e in strict] == [1]
    assert strict.report["malformed_total"] == 1 and strict.report["malformed"][0]["line"] == 2


def test_event_repr_and_equality():
    a = list(spoolscan.scan(b'{"type":"a"}\n'))
    b = list(spoolscan.scan(b'{"type":"a"}\n'))
    assert a == b and "line=1" in repr(a[0]) and a[0].offset == 0
