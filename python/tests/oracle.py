"""An independent oracle written with Python's json module: which lines a scan keeps, and
the report counts, for inputs whose lines are small (no oversize handling)."""

import json

SAMPLES = ("codex", "claude", "gemini")


def split_lines(data: bytes):
    """(number, offset, line bytes) per DESIGN §1: LF ends a line, one CR before it belongs to
    the terminator, a final CR without LF too, a BOM at offset 0 is skipped."""
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    out = []
    n = 0
    pos = start
    while pos < len(data):
        lf = data.find(b"\n", pos)
        end = len(data) if lf < 0 else lf
        line = data[pos:end]
        if line.endswith(b"\r"):
            line = line[:-1]
        n += 1
        out.append((n, pos, line))
        if lf < 0:
            break
        pos = lf + 1
    return out


def is_blank(line: bytes) -> bool:
    return all(c in b" \t\r" for c in line)


def first_pairs(pairs):
    """object_pairs_hook keeping the first occurrence of a duplicate key (DESIGN §2)."""
    d = {}
    for k, v in pairs:
        d.setdefault(k, v)
    return d


def lookup(obj, path):
    for key in path.split("."):
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj


def matches(obj, rules, case_sensitive=False):
    """rules: list of (path, 'equals'|'contains', values)."""
    if not rules:
        return True
    fold = (lambda s: s) if case_sensitive else (lambda s: s.translate(_ASCII_LOWER))
    for path, kind, values in rules:
        v = lookup(obj, path)
        if not isinstance(v, str):
            continue
        if kind == "equals" and any(fold(v) == fold(x) for x in values):
            return True
        if kind == "contains" and any(fold(x) in fold(v) for x in values):
            return True
    return False


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def expected_scan(data: bytes, rules, case_sensitive=False):
    """(retained [(line, offset, raw)], counts dict) for well-formed small-line input."""
    kept = []
    counts = dict(lines=0, blank=0, retained=0, skipped=0, malformed_total=0)
    for n, off, line in split_lines(data):
        counts["lines"] += 1
        if is_blank(line):
            counts["blank"] += 1
            continue
        try:
            obj = json.loads(line, object_pairs_hook=first_pairs)
        except ValueError:
            counts["malformed_total"] += 1
            continue
        if rules and not isinstance(obj, dict):
            counts["skipped"] += 1
        elif matches(obj, rules, case_sensitive):
            counts["retained"] += 1
            kept.append((n, off, line))
        else:
            counts["skipped"] += 1
    return kept, counts
