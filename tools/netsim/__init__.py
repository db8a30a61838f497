"""The network simulator: real board firmware on virtual boards, reference sedsnet nodes, faulty
links between them, timed events, a live view and a report (scenarios/README.md).

    .venv/bin/python tools/netsim scenarios/default.json [--quiet] [--out DIR] [--seconds N]

Modules: scenario (parse and check a scenario file), refnode (a reference node process),
links (the bridges that apply tools/linksim.py faults), runner (start, run events, stop),
view (the live terminal view), report (text/JSON report and the topology picture).
CPython only; this package never imports our `sedsnet` (the reference runs in refnode
processes and the host decodes frames with the reference too).
"""
