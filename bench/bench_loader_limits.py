"""Print how long hostile inputs take to be refused through the CLI (figures, no asserts):
alias bombs, a 194 MB file, 5000-deep nesting, a FIFO, and the slowest file the loader still
parses (just under the value cap). Each case runs `sparkctl topology show FILE` in a fresh
process, so the figure includes Python start-up.

Run: .venv/bin/python bench/bench_loader_limits.py [ROUNDS]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPARKCTL = str(Path(sys.executable).parent / "sparkctl")


def _bomb(levels: int) -> str:
    lines = ["topology: single", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines + [f"nodes: *a{levels - 1}"]) + "\n"


def cases(root: Path) -> dict[str, Path]:
    made = {}

    def put(name: str, text: str) -> None:
        made[name] = root / f"{name}.yaml"
        made[name].write_text(text)

    put("alias bomb (10^9 values)", _bomb(9))
    put("nesting 5000 deep", "nodes: " + "[" * 5000 + "]" * 5000 + "\n")
    put("just under the value cap (9996 values)",
        "topology: single\nnodes: [a]\nreserved: [" + ", ".join(["10.0.0.0/8"] * 9990) + "]\n")
    big = root / "huge.yaml"
    with big.open("w") as handle:  # the 194 MB file of the issue
        handle.write("topology: single\nnodes: [a]\n")
        chunk = "# " + "x" * 1022 + "\n"
        for _ in range(194 * 1024):
            handle.write(chunk)
    made["194 MB file"] = big
    fifo = root / "fifo.yaml"
    os.mkfifo(fifo)
    made["FIFO (no writer)"] = fifo
    made["valid ring3 file"] = root / "ok.yaml"
    made["valid ring3 file"].write_text("topology: ring3\nnodes: [a, b, c]\n")
    return made


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in cases(Path(tmp)).items():
            times, code = [], None
            for _ in range(rounds):
                start = time.perf_counter()
                done = subprocess.run([SPARKCTL, "topology", "show", str(path)],
                                      capture_output=True, text=True, timeout=60)
                times.append(time.perf_counter() - start)
                code = done.returncode
            print(f"{name:<42} exit {code}  best {min(times):.3f} s  worst {max(times):.3f} s")
        start = time.perf_counter()
        subprocess.run([SPARKCTL, "--version"], capture_output=True, timeout=60)
        print(f"{'(sparkctl --version, start-up alone)':<42}         "
              f"{time.perf_counter() - start:.3f} s")


if __name__ == "__main__":
    main()
