"""The boot line says when the viper kernels did not load: a native _fast.mpy built for another
architecture (as after copying an rp2040 build onto an ESP32) used to fall back to the pure
kernels silently. Both MicroPython runtimes, from the library's sources plus that .mpy."""
import os
import shutil
import subprocess

import toolchain

SCRIPT = "from sedsnet_node import banner\nprint(banner())\n"


def test_a_foreign_fast_mpy_is_reported_as_pure_with_the_reason(mp_runtime, tmp_path):
    lib = tmp_path / "lib"
    shutil.copytree(os.path.join(toolchain.LIB, "sedsnet"), str(lib / "sedsnet"),
                    ignore=shutil.ignore_patterns("__pycache__", "_fast.py"))
    shutil.copytree(os.path.join(toolchain.FIRMWARE, "sedsnet_node"), str(lib / "sedsnet_node"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    foreign = "xtensawin" if toolchain.mpy_arch(mp_runtime) != "xtensawin" else "armv6m"
    out = subprocess.run([toolchain.mpy_cross(), "-march=" + foreign, "-o",
                          str(lib / "sedsnet" / "_fast.mpy"),
                          os.path.join(toolchain.LIB, "sedsnet", "_fast.py")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    (tmp_path / "run.py").write_text(SCRIPT)
    env = dict(os.environ, MICROPYPATH=str(lib))
    run = subprocess.run([toolchain.runtime_binary(mp_runtime), str(tmp_path / "run.py")],
                         capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    line = run.stdout.strip()
    assert "kernels: pure (sedsnet/_fast did not load: ValueError: " in line, line
    # with the right .mpy the same tree reports viper
    subprocess.run([toolchain.mpy_cross(), "-march=" + toolchain.mpy_arch(mp_runtime), "-o",
                    str(lib / "sedsnet" / "_fast.mpy"),
                    os.path.join(toolchain.LIB, "sedsnet", "_fast.py")], check=True)
    run = subprocess.run([toolchain.runtime_binary(mp_runtime), str(tmp_path / "run.py")],
                         capture_output=True, text=True, env=env, timeout=60)
    assert "kernels: viper (sedsnet/_fast loaded)" in run.stdout, run.stdout + run.stderr
