"""ROMFS (tools/romfs.py, `make romfs` / `make deploy ROMFS=1`): an image of the library and the
firmware runtime as .mpy, built with `mpremote romfs build`, mounted with vfs.VfsRom in a
MicroPython process (64-bit and 32-bit Unix port) where a Router imported from /rom/lib routes a
packet; and the whole deploy path on the virtual board: `mpremote romfs deploy` into its ROM
partition (tools/vboard.py --romfs), a reset, sedsnet imported from /rom/lib."""
import os
import subprocess
import sys
import time

import toolchain

sys.path.insert(0, os.path.join(toolchain.REPO, "tools"))
import bench_router  # noqa: E402
import romfs  # noqa: E402
import vboard  # noqa: E402

RUN = r"""
import sys, vfs
with open(sys.argv[1], "rb") as f:
    image = f.read()
vfs.mount(vfs.VfsRom(image), "/rom")
sys.path[:0] = ["/rom", "/rom/lib"]
import sedsnet
from sedsnet import router, wire
sedsnet.register_endpoint(101, "RADIO")
sedsnet.register_data_type(3000, "GPS", True, 3, 1, 0, [101], priority=80)
sent = []
r = sedsnet.Router(hostname="rom", now_ms=lambda: 1000)
r.add_side_packed("UART", lambda f: sent.append(bytes(f)))
r.log_f32(3000, [1.0, 2.0, 3.0])
from sedsnet_node import app, mainloop
print("ROM", router.__file__, app.__file__, wire.KERNELS, len(sent))
"""


def _run_image(binary, image, tmp_path):
    script = tmp_path / "rom_run.py"
    script.write_text(RUN)
    env = dict(os.environ, MICROPYPATH="")
    out = subprocess.run([binary, "-X", "heapsize=1M", str(script), image], capture_output=True,
                         text=True, timeout=60, env=env, cwd=str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout.split()


def test_romfs_image_mounts_and_routes_on_64_bit(tmp_path):
    image = romfs.build_image("unix", str(tmp_path / "unix.romfs"))
    with open(image, "rb") as f:
        assert f.read(3) == romfs.ROMFS_MAGIC
    words = _run_image(toolchain.micropython(), image, tmp_path)
    assert words[:5] == ["ROM", "/rom/lib/sedsnet/router.mpy", "/rom/lib/sedsnet_node/app.mpy", "viper",
                         "1"], words


def test_romfs_image_for_x86_mounts_and_routes_on_32_bit(tmp_path):
    image = romfs.build_image("unix", str(tmp_path / "x86.romfs"), arch="x86")
    words = _run_image(bench_router.micropython32(), image, tmp_path)
    assert words[:5] == ["ROM", "/rom/lib/sedsnet/router.mpy", "/rom/lib/sedsnet_node/app.mpy", "viper",
                         "1"], words


def test_vboard_takes_mpremote_romfs_deploy_and_imports_from_rom(tmp_path):
    root = tmp_path / "fs"
    root.mkdir()
    part = str(tmp_path / "rom.part")
    with vboard.Running(str(root), board="unix", romfs=part) as vb:
        romfs.deploy_image("unix", vb.console)
        cmd = [os.path.join(os.path.dirname(sys.executable), "mpremote"), "connect", vb.console,
               "exec", ("import sedsnet.router; from sedsnet_node import app; "
                        "print('AT', sedsnet.router.__file__, app.__file__)")]
        out = None
        for _attempt in range(3):  # an interrupt that lands while the board still boots is lost
            time.sleep(1.0)
            try:
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
            except subprocess.TimeoutExpired:
                continue
            if out.returncode == 0:
                break
        assert out is not None, "mpremote exec timed out 3 times after the deploy"
        assert out.returncode == 0, out.stdout + out.stderr
        assert "AT /rom/lib/sedsnet/router.mpy /rom/lib/sedsnet_node/app.mpy" in out.stdout, out.stdout
    assert (root / "main.py").exists() and (root / "config.json").exists()
    assert not (root / "lib").exists()  # the code went into the ROM partition, not the fs
    with open(part, "rb") as f:
        assert f.read(3) == romfs.ROMFS_MAGIC
