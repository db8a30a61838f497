"""README.md's minimal example (the seed's) runs as printed: extracted from the README and run
with our sedsnet under CPython and both MicroPython runtimes; the reference 4.2.7, in its own
process, refuses its schema document (a difference the README names)."""
import os
import subprocess
import sys

import toolchain


def _example():
    text = open(os.path.join(toolchain.REPO, "README.md")).read()
    section = text[text.index("## Minimal example"):]
    start = section.index("```python\n") + len("```python\n")
    return section[start:section.index("```", start)]


def _run(argv, env, tmp_path):
    script = tmp_path / "example.py"
    script.write_text(_example())
    return subprocess.run(argv + [str(script)], capture_output=True, text=True, timeout=60,
                          env=env, cwd=str(tmp_path))


def _check(out):
    assert out.returncode == 0, out.stdout + out.stderr
    assert "{Type: GPS_DATA, Data Size: 12, " in out.stdout, out.stdout
    assert "Endpoints: [SD_CARD, RADIO]" in out.stdout, out.stdout
    assert "Data: (1.00000000, 2.00000000, 3.00000000)}" in out.stdout, out.stdout


def test_readme_example_runs_on_cpython(tmp_path):
    env = dict(os.environ, PYTHONPATH=toolchain.LIB)  # ours, ahead of the reference in .venv
    _check(_run([sys.executable], env, tmp_path))


def test_readme_example_runs_on_micropython(mp_runtime, tmp_path):
    env = dict(os.environ, MICROPYPATH=toolchain.LIB)
    _check(_run([toolchain.runtime_binary(mp_runtime), "-X", "heapsize=1M"], env, tmp_path))


def test_reference_refuses_the_readme_schema(tmp_path):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    out = _run([sys.executable], env, tmp_path)
    assert out.returncode != 0
    assert 'RuntimeError: Telemetry error: Unpack("schema json")' in out.stderr, out.stderr
