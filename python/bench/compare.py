"""Compare ways of reading an agent transcript from Python: spoolscan.scan, json per line,
orjson per line (when installed) and the seed's readline-with-cap reader. Each method runs
in a fresh interpreter; prints throughput (MB/s of input) and peak RSS (VmHWM).

    python python/bench/compare.py [--size MiB] [--small-size MiB] [--dir DIR] [--keep-files]

Inputs, generated once into DIR (default: a temporary directory):
  transcript  fake Codex output (python/tests/fake_codex.py): giant tool outputs of 1, 6 and
              24 MiB per line, the answer and usage at the end;
  small       small-line log: ~200-byte Codex events, one in 20 retained.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import textwrap

HERE = pathlib.Path(__file__).resolve().parent
FAKE = HERE.parent / "tests" / "fake_codex.py"

KEEP_TYPES = ["turn.completed", "error", "turn.failed", "thread.started"]
KEEP_ITEMS = ["agent_message"]

COMMON = textwrap.dedent(f"""
    import json, sys, time
    KEEP_TYPES = {KEEP_TYPES!r}
    KEEP_ITEMS = {KEEP_ITEMS!r}
    path = sys.argv[1]

    def keep(obj):
        return isinstance(obj, dict) and (obj.get("type") in KEEP_TYPES or
            (isinstance(obj.get("item"), dict) and obj["item"].get("type") in KEEP_ITEMS))

    def finish(t0, kept):
        dt = time.perf_counter() - t0
        status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
        print(json.dumps({{"seconds": dt, "kept": kept, "hwm_kib": int(status["VmHWM"].split()[0])}}))
    """)

METHODS = {
    "spoolscan.scan": """
        import spoolscan
        t0 = time.perf_counter()
        kept = 0
        for ev in spoolscan.scan(path, keep={"type": KEEP_TYPES, "item.type": KEEP_ITEMS}):
            ev.json()
            kept += 1
        finish(t0, kept)
    """,
    "json per line": """
        t0 = time.perf_counter()
        kept = 0
        with open(path, "rb") as f:
            for line in f:
                if line.strip() and keep(json.loads(line)):
                    kept += 1
        finish(t0, kept)
    """,
    "orjson per line": """
        import orjson
        t0 = time.perf_counter()
        kept = 0
        with open(path, "rb") as f:
            for line in f:
                if line.strip() and keep(orjson.loads(line)):
                    kept += 1
        finish(t0, kept)
    """,
    # The seed's reader (PR text): readline with a 16 MiB cap; a line over the cap is kept
    # only if its first 4 KiB carry a retained event's marker (read in full up to 64 MiB),
    # else drained without decoding; lines within the cap are all decoded.
    "seed readline(cap)": """
        CAP, CEILING, PROBE = 16 << 20, 64 << 20, 4096
        MARKERS = [b'"result"', b'agent_message', b'session.end', b'turn.completed', b'error', b'failed']
        t0 = time.perf_counter()
        kept = 0
        with open(path, "rb") as f:
            while True:
                line = f.readline(CAP)
                if not line:
                    break
                if not line.endswith(b"\\n") and len(line) == CAP:
                    head = line[:PROBE].lower()
                    if any(m in head for m in MARKERS):
                        parts = [line]
                        size = len(line)
                        while not parts[-1].endswith(b"\\n") and size <= CEILING:
                            more = f.readline(CAP)
                            if not more:
                                break
                            parts.append(more)
                            size += len(more)
                        if size <= CEILING:
                            line = b"".join(parts)
                        else:
                            while not parts[-1].endswith(b"\\n"):
                                parts = [f.readline(CAP)]
                                if not parts[-1]:
                                    break
                            continue
                    else:
                        rest = line
                        while not rest.endswith(b"\\n"):
                            rest = f.readline(CAP)
                            if not rest:
                                break
                        continue
                if line.strip() and keep(json.loads(line)):
                    kept += 1
        finish(t0, kept)
    """,
}


def small_log(path, size):
    kinds = [
        b'{"type":"item.completed","item":{"id":"i%d","type":"command_execution","command":"ls","aggregated_output":"a.txt\\nb.txt\\n","exit_code":0,"status":"completed"}}\n',
        b'{"type":"item.started","item":{"id":"i%d","type":"command_execution","command":"cargo test","aggregated_output":"","status":"in_progress"}}\n',
        b'{"type":"item.completed","item":{"id":"i%d","type":"reasoning","text":"**Checking** the range parser for an off-by-one in the end bound."}}\n',
    ]
    keep = b'{"type":"item.completed","item":{"id":"m%d","type":"agent_message","text":"Progress: fixed one more case."}}\n'
    written = 0
    with open(path, "wb") as f:
        i = 0
        buf = []
        while written < size:
            line = (keep if i % 20 == 19 else kinds[i % 3]) % i
            buf.append(line)
            written += len(line)
            i += 1
            if len(buf) >= 10000:
                f.write(b"".join(buf))
                buf = []
        f.write(b"".join(buf))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=256, help="input size in MiB (default 256)")
    ap.add_argument("--small-size", type=int, default=None,
                    help="size of the small-line log in MiB (default: --size)")
    ap.add_argument("--dir", default=None)
    ap.add_argument("--keep-files", action="store_true")
    args = ap.parse_args()
    d = pathlib.Path(args.dir or tempfile.mkdtemp(prefix="spoolscan-bench-"))
    d.mkdir(parents=True, exist_ok=True)
    inputs = {"transcript": d / "transcript.ndjson", "small": d / "small.ndjson"}
    if not inputs["transcript"].exists():
        with open(inputs["transcript"], "wb") as f:
            subprocess.run([sys.executable, str(FAKE), str(args.size)], stdout=f, check=True)
    if not inputs["small"].exists():
        small_log(inputs["small"], (args.small_size or args.size) << 20)
    try:
        import orjson  # noqa: F401
        methods = list(METHODS)
    except ImportError:
        methods = [m for m in METHODS if m != "orjson per line"]
        print("orjson is not installed: skipped (pip install orjson)", file=sys.stderr)
    rows = []
    for name, path in inputs.items():
        size = path.stat().st_size
        # Warm the page cache so every method reads the same resident file.
        with open(path, "rb") as f:
            while f.read(16 << 20):
                pass
        kept_by = {}
        for m in methods:
            code = COMMON + textwrap.dedent(METHODS[m])
            out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True)
            if out.returncode != 0:
                rows.append((f"{name} ({size >> 20} MiB)", m, "failed", out.stderr.strip().splitlines()[-1][:60], ""))
                continue
            r = json.loads(out.stdout)
            kept_by[m] = r["kept"]
            label = f"{name} ({size >> 20} MiB)"
            rows.append((label, m, f"{size / r['seconds'] / 1e6:,.0f}", f"{r['hwm_kib'] / 1024:,.0f}", r["kept"]))
        if len(set(kept_by.values())) > 1:
            print(f"warning: the methods disagree on {name}: {kept_by}", file=sys.stderr)
    print("| input | method | MB/s | peak RSS (MiB) | lines kept |")
    print("| --- | --- | ---: | ---: | ---: |")
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")
    if not args.keep_files and not args.dir:
        for p in inputs.values():
            p.unlink()
        d.rmdir()


if __name__ == "__main__":
    main()
