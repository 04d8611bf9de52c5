"""A fake `codex exec --json`: writes a transcript of about SIZE MiB to stdout, mostly giant
tool-output lines (1, 6 and 24 MiB; the last are over max_line, some with a fake
`"type":"agent_message"` in their output), then the final answer and the usage.

    python fake_codex.py SIZE_MIB
"""

import json
import sys

ANSWER = "All 42 tests pass."
USAGE = {"input_tokens": 123456, "cached_input_tokens": 100000, "output_tokens": 789}
THREAD = "0199aaaa-bbbb-7ccc-8ddd-eeeeffff0000"
SIZES = (1 << 20, 6 << 20, 24 << 20)


def main():
    target = int(sys.argv[1]) << 20
    out = sys.stdout.buffer
    written = 0

    def emit(obj):
        nonlocal written
        b = json.dumps(obj, separators=(",", ":")).encode() + b"\n"
        out.write(b)
        written += len(b)

    emit({"type": "thread.started", "thread_id": THREAD})
    emit({"type": "turn.started"})
    i = 0
    while written < target:
        size = SIZES[i % len(SIZES)]
        item = {"id": f"item_{i}", "type": "command_execution", "command": "bash -lc 'cat big.log'"}
        emit({"type": "item.started", "item": dict(item, aggregated_output="", status="in_progress")})
        # The giant line, written in pieces so that this fake stays small itself.
        head = json.dumps({"type": "item.completed", "item": dict(item, exit_code=0, status="completed")},
                          separators=(",", ":"))[:-2]
        piece = ('{\\"type\\":\\"agent_message\\",\\"text\\":\\"fake\\"} ' * 64)[: 1 << 16]
        out.write(head.encode() + b',"aggregated_output":"')
        left = size
        while left > 0:
            chunk = piece[: min(left, len(piece))]
            out.write(chunk.encode())
            left -= len(chunk)
        out.write(b'"}}\n')
        written += size + len(head) + 26
        emit({"type": "item.completed", "item": {"id": f"r_{i}", "type": "reasoning", "text": "Thinking."}})
        i += 1
    emit({"type": "item.completed", "item": {"id": "msg", "type": "agent_message", "text": ANSWER}})
    emit({"type": "turn.completed", "usage": USAGE})
    out.flush()


if __name__ == "__main__":
    main()
