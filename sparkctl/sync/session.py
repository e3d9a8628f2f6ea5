"""From what the user typed to a finished sync: input checks, defaults, progress display."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from sparkctl.errors import RunFailed, SparkctlError
from sparkctl.sync import inputs
from sparkctl.sync.nodes import SyncCluster, cluster_for_sync
from sparkctl.sync.report import SyncReport
from sparkctl.sync.run import SyncOptions, sync

# TCP streams per rail. A Spark has 20 cores: one Python stream moves (and hashes) a few
# GB/s, a 100 Gb/s twin needs several. Lab nodes share the host's two cores: one per rail.
STREAMS_PER_RAIL = {"dgx-spark": 4, "lab": 1}


@dataclass(frozen=True)
class SyncRequest:
    src: str
    to: str | None = None
    from_node: str | None = None
    nodes: str | None = None  # comma-separated receivers
    streams_per_rail: int | None = None
    stall_s: float = 20.0
    budget_s: float = 3600.0
    verify: bool = False


def options_for(cluster: SyncCluster, request: SyncRequest) -> tuple[SyncOptions, str | None]:
    """Checked options, and the image name when SRC is docker:IMAGE (raises InputError)."""
    from_node, receivers = inputs.check_nodes(cluster.names, request.from_node,
                                              inputs.split_names(request.nodes))
    dest = inputs.check_destination(request.to)
    image = None
    if request.src.startswith(inputs.IMAGE_PREFIX):
        image = inputs.check_image(request.src)
        source = request.src
    elif from_node is None:
        source = str(inputs.check_controller_source(request.src))
    else:
        source = inputs.check_node_source(request.src)
    streams = request.streams_per_rail or STREAMS_PER_RAIL.get(cluster.platform, 4)
    return SyncOptions(source=source, receivers=tuple(receivers), from_node=from_node,
                       dest=dest, streams_per_rail=streams, stall_s=request.stall_s,
                       budget_s=request.budget_s, verify=request.verify), image


def run_sync(target, request: SyncRequest,
             show_bars: bool = False) -> tuple[SyncReport | None, SparkctlError | None]:
    """Run it; the report (when there is one) and the error the exit code comes from."""
    from sparkctl.sync.image import ImageSkipped, sync_image

    cluster = cluster_for_sync(target)
    options, image = options_for(cluster, request)
    bars = None
    if show_bars:
        from rich.console import Console

        from sparkctl.sync.display import ProgressBars

        bars = ProgressBars(Console(file=sys.stderr))
    progress = bars.update if bars else None
    try:
        if bars:
            bars.__enter__()
        if image is not None:
            report = sync_image(cluster, image, options, progress)
        else:
            report = sync(cluster, options, progress)
    except ImageSkipped as exc:
        return exc.report, exc
    finally:
        if bars:
            bars.__exit__(None, None, None)
    return report, failure(report)


def failure(report: SyncReport) -> SparkctlError | None:
    bad = report.failed()
    if not bad:
        return None
    lines = "; ".join(f"{n.name}: {n.error or n.state}" for n in bad)
    return RunFailed(f"sync incomplete on {', '.join(n.name for n in bad)} ({lines})",
                     hint="rerun the same command: nodes resume where they stopped")
