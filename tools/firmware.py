"""Build a MicroPython firmware with the board's manifest frozen (sedsnet and the firmware runtime
in flash: no .mpy files on the board, far less heap), from a MicroPython checkout.

    python tools/firmware.py BOARD MICROPY_DIR [MP_BOARD]     (make firmware BOARD=... MICROPY_DIR=...)
    M32=1 python tools/firmware.py unix MICROPY_DIR           (the 32-bit Unix port, frozen:
                                                               build/micropython32-frozen)

Steps (what this runs, also by hand): make -C MICROPY_DIR/mpy-cross; make -C ports/PORT
BOARD=MP_BOARD submodules; make -C ports/PORT BOARD=MP_BOARD FROZEN_MANIFEST=<abs path of
boards/BOARD/manifest.py>. rp2 needs arm-none-eabi-gcc and cmake; esp32 needs ESP-IDF (its
export.sh sourced first, the port's make calls idf.py); stm32 needs arm-none-eabi-gcc. The
image lands in ports/PORT/build-MP_BOARD/ (firmware.uf2, firmware.bin, firmware.dfu/.hex).
"""
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import boards  # noqa: E402

# our board -> (MicroPython port, default MicroPython board, the port manifest ours includes,
# the image the build leaves in ports/<port>/build-<board>/)
PORTS = {
    "rp2040": ("rp2", "RPI_PICO", "$(PORT_DIR)/boards/manifest.py", "firmware.uf2"),
    "esp32": ("esp32", "ESP32_GENERIC", "$(PORT_DIR)/boards/manifest.py", "firmware.bin"),
    "pyboard": ("stm32", "PYBV11", "$(PORT_DIR)/boards/manifest.py", "firmware.dfu"),
    "unix": ("unix", None, "$(PORT_DIR)/variants/standard/manifest.py", "micropython"),
}
# The 32-bit Unix build (../shared/toolchain/build_micropython32.sh, plus the manifest).
M32_ARGS = ["CFLAGS_EXTRA=-m32", "LDFLAGS_EXTRA=-m32 -static", "MICROPY_PY_FFI=0",
            "MICROPY_PY_BTREE=0", "MICROPY_PY_SSL=0", "MICROPY_SSL_AXTLS=0",
            "MICROPY_SSL_MBEDTLS=0", "MPY_CROSS_FLAGS=-march=x86"]


def manifest_of(board_name):
    return os.path.join(REPO, "boards", board_name, "manifest.py")


def commands(board_name, mp_dir, mp_board=None, m32=False):
    """The make invocations, in order, as argv lists."""
    if boards.board(board_name)["runtime"] != "micropython":
        raise SystemExit("firmware: %s runs CircuitPython, which does not take MicroPython "
                         "manifests (copy the .py sources: make deploy)" % board_name)
    port, default, _inc, _img = PORTS[board_name]
    port_dir = os.path.join(mp_dir, "ports", port)
    frozen = "FROZEN_MANIFEST=" + manifest_of(board_name)
    if port == "unix":
        args = ["VARIANT=standard"]
        if m32:
            # the port manifest needs micropython-lib, and this build has no ssl to freeze for
            frozen = "FROZEN_MANIFEST=" + os.path.join(REPO, "build", "unix-m32-manifest.py")
            args += ["BUILD=build-x86frozen"] + M32_ARGS
        board_args = args
    else:
        board_args = ["BOARD=" + (mp_board or default)]
    return [["make", "-C", os.path.join(mp_dir, "mpy-cross"), "-j2"],
            ["make", "-C", port_dir] + board_args + ["submodules"],
            ["make", "-C", port_dir, "-j2"] + board_args + [frozen]]


def m32_manifest():
    """boards/unix/manifest.py without the port's own frozen modules (for the 32-bit build)."""
    path = os.path.join(REPO, "build", "unix-m32-manifest.py")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    here = os.path.dirname(manifest_of("unix"))
    lines = []
    for ln in open(manifest_of("unix")).read().splitlines():
        if ln.startswith('include("$('):
            continue
        if ln.startswith('include("'):  # the parts' manifests, by absolute path from build/
            rel = ln[len('include("'):ln.index('")')]
            ln = "include(%r)" % os.path.normpath(os.path.join(here, rel))
        lines.append(ln)
    body = "\n".join(lines)
    with open(path, "w") as f:
        f.write(body + "\n")
    return path


def build(board_name, mp_dir, mp_board=None, m32=False):
    if not mp_dir or not os.path.isdir(os.path.join(mp_dir, "ports")):
        raise SystemExit("firmware: MICROPY_DIR=%r is not a MicroPython checkout (git clone "
                         "https://github.com/micropython/micropython)" % mp_dir)
    if m32:
        m32_manifest()
    for cmd in commands(board_name, mp_dir, mp_board, m32):
        if cmd[-1] == "submodules" and not os.path.exists(os.path.join(mp_dir, ".git")):
            print("firmware: %s is not a git checkout: submodules as they are" % mp_dir)
            continue
        print("firmware: " + " ".join(cmd), flush=True)
        if subprocess.run(cmd).returncode != 0:
            raise SystemExit("firmware: failed: " + " ".join(cmd))
    port, default, _inc, image = PORTS[board_name]
    if port == "unix":
        out = os.path.join(mp_dir, "ports", "unix",
                           "build-x86frozen" if m32 else "build-standard", image)
        dest = os.path.join(REPO, "build", "micropython32-frozen" if m32 else "micropython-frozen")
        shutil.copyfile(out, dest)
        os.chmod(dest, 0o755)
        print("firmware: %s" % os.path.relpath(dest, REPO))
    else:
        print("firmware: ports/%s/build-%s/%s" % (port, mp_board or default, image))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    build(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None,
          m32=os.environ.get("M32") == "1")
