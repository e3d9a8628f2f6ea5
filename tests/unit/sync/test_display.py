"""The terminal view: a bar per node with bytes, rate and ETA; the closing table."""

from __future__ import annotations

import io
import re
import time

from rich.console import Console

from sparkctl.sync.display import ProgressBars, human_bytes, table_text
from sparkctl.sync.report import COMPLETE, FAILED, FileSummary, NodeResult, SyncReport
from sparkctl.sync.run import Progress

MiB = 1 << 20


def test_bars_show_each_nodes_bytes_rate_and_eta():
    out = io.StringIO()
    bars = ProgressBars(Console(file=out, force_terminal=True, width=120))
    with bars:
        bars.update(Progress("spark-2", 0, 0, "scanning", 1))
        bars.update(Progress("spark-2", 10 * MiB, 100 * MiB, "receiving", 1))
        time.sleep(0.3)
        bars.update(Progress("spark-2", 40 * MiB, 100 * MiB, "receiving", 1))
        bars.update(Progress("spark-3", 100 * MiB, 100 * MiB, "complete", 2))
        time.sleep(0.3)  # one more refresh with the rate known
    text = out.getvalue()
    assert "spark-2" in text and "spark-3" in text
    assert "40.0/100.0 MiB" in text  # bytes done of the node's need
    plain = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", text)
    assert re.search(r"40\.0/100\.0 MiB \d+\.\d MB/s 0:00:0\d receiving", plain), plain
    # (bytes of the node's need, rate, time remaining, state)
    assert "complete (round 2)" in text


def test_table_names_resumed_and_restarted_files_and_errors():
    files = FileSummary(new=1, complete=2, resumed=[{"path": "w.bin", "kept": 3, "chunks": 5}],
                        restarted=["x.bin"])
    report = SyncReport("directory", "/m", "spark-1", "/m", total_bytes=3 * MiB, files=4,
                        streams=2, chain=[["spark-1", "spark-2", "spark-3"]], nodes=[
                            NodeResult("spark-2", COMPLETE, written_bytes=2 * MiB, seconds=1.0,
                                       files=files),
                            NodeResult("spark-3", FAILED, error="upstream sent nothing")])
    narrow = table_text(report, color=False)  # a pipe: 80 columns unless COLUMNS says more
    assert max(len(line) for line in narrow.splitlines()) <= 80
    text = table_text(report, color=False, width=160)
    assert "resumed: w.bin (3/5 chunks kept)" in text and "restarted: x.bin" in text
    assert "upstream sent nothing" in text and "0.02 Gb/s" in text
    assert "spark-1 -> spark-2 -> spark-3" in text and "verdict fail" in text
    assert human_bytes(1536) == "1.5 KiB" and human_bytes(12) == "12 B"
