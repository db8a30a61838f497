"""tools/footprint.py (`make footprint`): the code-heap table on the 32-bit MicroPython, from
.mpy and from ROMFS, and the .mpy sizes for armv6m. Checks that every row is there and the one
property ROMFS exists for: bytecode run in place keeps less heap than .mpy files loaded into
RAM. The figures themselves are for the README (no size limit asserted here)."""
import os
import re
import subprocess
import sys

import toolchain

TOOL = os.path.join(toolchain.REPO, "tools", "footprint.py")
sys.path.insert(0, os.path.join(toolchain.REPO, "tools"))
import footprint  # noqa: E402


def _kb(cell):
    return float(cell.strip().split()[0])


def test_footprint_table_has_every_row_and_romfs_beats_mpy():
    out = subprocess.run([sys.executable, TOOL, "--frozen", ""], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    assert "| code | from .mpy | from ROMFS |" in text, text
    rows = {}
    for line in text.splitlines():
        cells = list(line.split("|")[1:-1])
        if len(cells) == 3 and "KB" in cells[1]:
            rows[cells[0].strip()] = (_kb(cells[1]), _kb(cells[2]))
    assert "core (one Router, plain sides)" in rows, text
    assert "whole library (every lib/sedsnet module)" in rows
    for label, _mods in footprint.OPTIONAL:
        assert "+ " + label in rows, label
    core_mpy, core_rom = rows["core (one Router, plain sides)"]
    assert 0 < core_rom < core_mpy, rows
    whole_mpy, whole_rom = rows["whole library (every lib/sedsnet module)"]
    assert core_mpy < whole_mpy and whole_rom < whole_mpy, rows
    assert re.search(r"target: core from \.mpy on 32-bit <= 60\.0 KB: [0-9.]+ KB \((PASS|MISS)\)",
                     text), text
    sizes = re.findall(r"^\| (sedsnet/\w+\.mpy) \| (\d+) \| (\d+) \|$", text, re.M)
    names = {s[0] for s in sizes}
    assert "sedsnet/router.mpy" in names and "sedsnet/_fast.mpy" in names, text
    assert all(int(a) > 0 for _n, a, _x in sizes)
