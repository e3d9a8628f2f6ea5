"""nvidia-smi: the default table, `-q` text, `-q -x` XML and `--query-gpu ... --format=csv`.

GB10 (DGX Spark) has unified memory: memory fields read "Not Supported" or "[N/A]" there.
That is how the machine is, not an error, so those fields parse to None and nothing more.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from sparkctl.checks.parsers.common import (
    ParseError,
    normalise,
    number_with_unit,
    to_float,
    to_int,
)

_HEADER = re.compile(r"NVIDIA-SMI (\S+)\s+Driver Version: (\S+)\s+CUDA Version: (\S+)")
_GPU_LINE1 = re.compile(r"^\s*(\d+)\s+(.+?)\s+(On|Off)\s*$")
_GPU_LINE2 = re.compile(r"^\s*(\S+)\s+(\S+?)C?\s+(P\d+|\S+)\s+(\S+?)W?\s*/\s*(\S+?)W?\s*$")
_MEMORY = re.compile(r"^\s*(\d+)MiB\s*/\s*(\d+)MiB\s*$")
_PROCESS = re.compile(
    r"^\|\s+(\d+)\s+(\S+)\s+(\S+)\s+(\d+)\s+(\S+)\s+(.+?)\s+(\d+|N/A)(?:MiB)?\s*\|$")
_MISSING_MEMORY = ("Not Supported", "[N/A]", "N/A")


@dataclass(frozen=True)
class Gpu:
    index: int | None
    name: str | None
    bus_id: str | None = None
    uuid: str | None = None
    temperature_c: float | None = None
    power_w: float | None = None
    power_cap_w: float | None = None
    pstate: str | None = None
    memory_total_mib: float | None = None
    memory_used_mib: float | None = None
    memory_reported: bool = True  # False where the driver reports "Not Supported"/[N/A]
    utilization_pct: float | None = None
    ecc_uncorrected: int | None = None  # None where ECC counts are N/A (GB10)

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "bus_id": self.bus_id,
                "uuid": self.uuid, "temperature_c": self.temperature_c,
                "power_w": self.power_w, "power_cap_w": self.power_cap_w,
                "pstate": self.pstate, "memory_total_mib": self.memory_total_mib,
                "memory_used_mib": self.memory_used_mib,
                "memory_reported": self.memory_reported,
                "utilization_pct": self.utilization_pct,
                "ecc_uncorrected": self.ecc_uncorrected}


@dataclass(frozen=True)
class NvidiaSmiResult:
    format: str  # table, query-text, xml, csv
    driver_version: str | None
    cuda_version: str | None
    gpus: list[Gpu] = field(default_factory=list)
    processes: list[dict[str, Any]] = field(default_factory=list)
    attached_gpus: int | None = None
    elided: bool = False  # the publisher cut part of the output ("..")

    def metrics(self) -> dict[str, Any]:
        return {"format": self.format, "driver_version": self.driver_version,
                "cuda_version": self.cuda_version,
                "gpus": [g.to_dict() for g in self.gpus], "processes": list(self.processes),
                "attached_gpus": self.attached_gpus}


def parse_table(text: str) -> NvidiaSmiResult:
    driver = cuda = None
    gpus: list[Gpu] = []
    processes: list[dict[str, Any]] = []
    lines = normalise(text).split("\n")
    in_processes = False
    for i, line in enumerate(lines):
        if m := _HEADER.search(line):
            driver, cuda = m.group(2), m.group(3)
            continue
        if "Processes:" in line:
            in_processes = True
            continue
        if in_processes:
            if m := _PROCESS.match(line.strip()):
                processes.append({"gpu": int(m.group(1)), "pid": int(m.group(4)),
                                  "type": m.group(5), "name": m.group(6),
                                  "memory_mib": to_int(m.group(7))})
            continue
        cells = line.split("|")
        if len(cells) < 5 or not (m := _GPU_LINE1.match(cells[1])):
            continue
        if i + 1 >= len(lines):
            raise ParseError(f"GPU {m.group(1)} row cut short after its first line")
        gpus.append(_table_gpu(m, cells, lines[i + 1].split("|")))
    if not gpus:
        raise ParseError("nvidia-smi table without a GPU row (cut short?)")
    return NvidiaSmiResult(format="table", driver_version=driver, cuda_version=cuda, gpus=gpus,
                           processes=processes, attached_gpus=len(gpus))


def _table_gpu(first: re.Match[str], cells1: list[str], cells2: list[str]) -> Gpu:
    bus_id = cells1[2].split()[0] if cells1[2].split() else None
    ecc = to_int(cells1[3].strip())
    temp = power = cap = pstate = used = total = util = None
    memory_reported = False
    if len(cells2) >= 4:
        if m := _GPU_LINE2.match(cells2[1]):
            temp, pstate = to_float(m.group(2)), m.group(3)
            power, cap = to_float(m.group(4)), to_float(m.group(5))
        if m := _MEMORY.match(cells2[2]):
            used, total, memory_reported = float(m.group(1)), float(m.group(2)), True
        util_token = cells2[3].split()[0] if cells2[3].split() else None
        util = to_float(util_token.rstrip("%")) if util_token else None
    else:
        raise ParseError(f"GPU {first.group(1)} row cut short after its first line")
    return Gpu(index=int(first.group(1)), name=first.group(2).strip(), bus_id=bus_id,
               temperature_c=temp, power_w=power, power_cap_w=cap, pstate=pstate,
               memory_total_mib=total, memory_used_mib=used, memory_reported=memory_reported,
               utilization_pct=util, ecc_uncorrected=ecc)


def parse_query_text(text: str) -> NvidiaSmiResult:
    """`nvidia-smi -q` (text): only the top-level facts and each GPU's product name."""
    driver = cuda = None
    attached = None
    gpus: list[Gpu] = []
    bus_id: str | None = None
    elided = False
    for raw in normalise(text).split("\n"):
        line = raw.strip()
        if line == "..":
            elided = True
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if m := re.match(r"^GPU ([0-9A-Fa-f]+:[0-9A-Fa-f]+:[0-9A-Fa-f.]+)$", line):
            bus_id = m.group(1)
        elif not sep:
            continue
        elif key == "Driver Version":
            driver = value
        elif key == "CUDA Version":
            cuda = value
        elif key == "Attached GPUs":
            attached = to_int(value)
        elif key == "Product Name":
            gpus.append(Gpu(index=len(gpus), name=value, bus_id=bus_id))
    if driver is None and not gpus:
        raise ParseError("nvidia-smi -q text without 'Driver Version' or a GPU")
    return NvidiaSmiResult(format="query-text", driver_version=driver, cuda_version=cuda,
                           gpus=gpus, attached_gpus=attached, elided=elided)


def parse_xml(text: str) -> NvidiaSmiResult:
    """`nvidia-smi -q -x`: one element per line, so lines that are not XML (noise, prompts
    around the document) are dropped before parsing."""
    lines = normalise(text).split("\n")
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("<")), 0)
    xml = "\n".join(line for line in lines[start:] if line.lstrip().startswith("<")
                    or (line.strip() and not line.strip()[0].isalpha()))
    end = xml.find("</nvidia_smi_log>")
    if end >= 0:
        xml = xml[:end + len("</nvidia_smi_log>")]
    try:
        root = ET.fromstring(xml.encode("utf-8", "replace"))
    except ET.ParseError as exc:
        raise ParseError(f"invalid XML: {exc} (file cut short?)") from None
    if root.tag != "nvidia_smi_log":
        raise ParseError(f"XML root is <{root.tag}>, not <nvidia_smi_log>")
    gpus = [_xml_gpu(i, node) for i, node in enumerate(root.findall("gpu"))]
    if not gpus:
        raise ParseError("nvidia_smi_log without any <gpu> element")
    return NvidiaSmiResult(format="xml", driver_version=_text(root, "driver_version"),
                           cuda_version=_text(root, "cuda_version"), gpus=gpus,
                           attached_gpus=to_int(_text(root, "attached_gpus")))


def _text(node: ET.Element, path: str) -> str | None:
    found = node.find(path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _xml_gpu(index: int, node: ET.Element) -> Gpu:
    total, _ = number_with_unit(_text(node, "fb_memory_usage/total"))
    used, _ = number_with_unit(_text(node, "fb_memory_usage/used"))
    power, _ = number_with_unit(_text(node, "gpu_power_readings/instant_power_draw")
                                or _text(node, "gpu_power_readings/power_draw")
                                or _text(node, "power_readings/power_draw"))
    cap, _ = number_with_unit(_text(node, "gpu_power_readings/current_power_limit")
                              or _text(node, "power_readings/power_limit"))
    temp, _ = number_with_unit(_text(node, "temperature/gpu_temp"))
    util, _ = number_with_unit(_text(node, "utilization/gpu_util"))
    ecc: int | None = None
    volatile = node.find("ecc_errors/volatile")
    if volatile is not None:
        counts = [to_int(child.text) for child in volatile.iter()
                  if "uncorrectable" in child.tag or child.tag == "double_bit"]
        known = [c for c in counts if c is not None]
        ecc = sum(known) if known else None
    return Gpu(index=index, name=_text(node, "product_name"),
               bus_id=_text(node, "pci/pci_bus_id") or node.get("id"),
               uuid=_text(node, "uuid"), temperature_c=temp, power_w=power, power_cap_w=cap,
               pstate=_text(node, "performance_state"), memory_total_mib=total,
               memory_used_mib=used, memory_reported=total is not None,
               utilization_pct=util, ecc_uncorrected=ecc)


_KNOWN_COLUMNS = ("index", "name", "uuid", "pci.bus_id", "driver_version", "temperature.gpu",
                  "power.draw", "power.limit", "pstate", "memory.total", "memory.used",
                  "memory.free", "utilization.gpu", "utilization.memory", "compute_cap",
                  "clocks.sm", "clocks.gr", "clocks.mem", "fan.speed", "serial",
                  "ecc.errors.uncorrected.volatile.total", "persistence_mode")
_CSV_FIELDS = {
    "index": "index", "name": "name", "uuid": "uuid", "pci.bus_id": "bus_id",
    "temperature.gpu": "temperature_c", "power.draw": "power_w", "power.limit": "power_cap_w",
    "pstate": "pstate", "memory.total": "memory_total_mib", "memory.used": "memory_used_mib",
    "utilization.gpu": "utilization_pct",
    "ecc.errors.uncorrected.volatile.total": "ecc_uncorrected",
}


QUERY_COLUMNS = re.compile(r"--query-gpu[= ]([\w.,]+)")


def columns_from_command(command: str | None) -> list[str] | None:
    """The columns `nvidia-smi --query-gpu=a,b --format=csv,noheader` prints, from its command."""
    m = QUERY_COLUMNS.search(command or "")
    return [c.strip() for c in m.group(1).split(",") if c.strip()] if m else None


def _column_names(row: list[str]) -> bool:
    """The rest of a wrapped header line: column names and units, nothing else."""
    return all(re.match(r"^\s*(?!\d)[\w.\[\]/% ]*$", c) for c in row) and any(
        re.search(r"[._\[\]]", c) for c in row)


def _glue_row(first: list[str], rest: list[str]) -> list[str]:
    """Two pieces of one wrapped CSV line: the break fell inside a field, or after a comma."""
    if first and first[-1].strip() == "":
        return first[:-1] + rest
    return first[:-1] + [first[-1] + rest[0]] + rest[1:]


def _unwrap_rows(rows: list[list[str]], header: list[str]) -> list[list[str]]:
    """Glue the pieces of GPU lines a terminal wrapped back onto the line they belong to."""
    width = len(header)
    out: list[list[str]] = []
    for row in rows:
        if out and _looks_like_gpu_row(out[-1], header) and (
                len(out[-1]) < width or (len(row) == 1 and " " not in row[0].strip())):
            glued = _glue_row(out[-1], row)
            if len(glued) <= width:
                out[-1] = glued
                continue
        out.append(row)
    return out


def _looks_like_gpu_row(row: list[str], header: list[str]) -> bool:
    """A row cut short (its first fields fit the columns) as against a line of noise."""
    first = dict(zip(header, row, strict=False))
    if "index" in first:
        return first["index"].strip().isdigit()
    if "name" in first:
        return first["name"].strip().startswith(("NVIDIA", "Tesla", "Quadro", "GeForce"))
    return False


def parse_csv(text: str, columns: list[str] | None = None) -> NvidiaSmiResult:
    """--query-gpu CSV, any column set, with or without header and units.

    Without a header line (`noheader`) the columns come from the command (`columns`); the
    values are read the same with or without units (`nounits`).
    """
    rows = [r for r in csv.reader(io.StringIO(normalise(text)), skipinitialspace=True)
            if r and any(cell.strip() for cell in r)]
    at = next((i for i, r in enumerate(rows)
               if {h.split(" [")[0].strip() for h in r} & set(_KNOWN_COLUMNS)), None)
    has_header = at is not None
    header = [h.split(" [")[0].strip() for h in rows[at]] if at is not None else []
    if has_header:
        rows = rows[at:]
        while len(rows) > 1 and _column_names(rows[1]):  # the header wrapped over lines
            rows = [_glue_row(rows[0], rows[1])] + rows[2:]
            header = [h.split(" [")[0].strip() for h in rows[0]]
    if not has_header:
        if not columns:
            raise ParseError("CSV without a header line (noheader) and no command naming its "
                             "--query-gpu columns")
        header = columns  # every row is a GPU line
    else:
        rows = rows[1:]
        if not rows:
            raise ParseError("nvidia-smi CSV needs a header line and at least one GPU line")
    if not set(header) & set(_KNOWN_COLUMNS):
        raise ParseError("CSV header names no known --query-gpu column")
    gpus = []
    driver = None
    rows = _unwrap_rows(rows, header)
    rows = [r for r in rows if len(r) == len(header) or _looks_like_gpu_row(r, header)]
    for number, row in enumerate(rows, start=2 if has_header else 1):
        if len(row) != len(header):
            raise ParseError(f"CSV line {number} has {len(row)} fields, the columns are "
                             f"{len(header)} (cut short?)")
        values = dict(zip(header, (v.strip() for v in row), strict=True))
        driver = driver or values.get("driver_version")
        fields: dict[str, object] = {}
        for column, attr in _CSV_FIELDS.items():
            if column not in values:
                continue
            raw = values[column]
            if attr in ("name", "uuid", "bus_id", "pstate"):
                fields[attr] = None if raw in _MISSING_MEMORY else raw
            elif attr in ("index", "ecc_uncorrected"):
                fields[attr] = to_int(raw)
            else:
                fields[attr] = number_with_unit(raw)[0]
        fields.setdefault("index", None)
        fields.setdefault("name", None)
        reported = values.get("memory.total") not in _MISSING_MEMORY if "memory.total" in values \
            else True
        gpus.append(Gpu(memory_reported=reported, **fields))  # type: ignore[arg-type]
    return NvidiaSmiResult(format="csv", driver_version=driver, cuda_version=None, gpus=gpus,
                           attached_gpus=len(gpus))
