"""ROMFS images: the library and the firmware runtime as .mpy in a read-only filesystem that a
board maps from flash, so imports run the bytecode in place (little heap), without rebuilding
the firmware.

    python tools/romfs.py build BOARD [IMAGE]      -> build/BOARD.romfs (make romfs BOARD=...)
    python tools/romfs.py deploy BOARD PORT        -> image + mpremote romfs deploy, then the
                                                      board files (make deploy ROMFS=1 ...)

The image holds lib/sedsnet/*.mpy and lib/*.mpy (firmware/), compiled for the board's arch by
tools/build.py; a board mounts it at /rom with /rom and /rom/lib on sys.path. main.py,
config.json and schema.json stay on the board's filesystem (wiring and settings, changed
without a new image). `mpremote romfs build --no-mpy` packs the tree: our .mpy files are
already compiled for the board (mpremote's own compile would use no -march, and the viper
kernels need one). Only firmware built with ROMFS (MICROPY_VFS_ROM and a ROM partition) can
take it: `mpremote romfs query` tells.
"""
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import boards  # noqa: E402
import build  # noqa: E402
import deploy  # noqa: E402

ROMFS_MAGIC = b"\xd2\xcd\x31"


def stage(board_name, root, arch=None):
    """The tree that goes into the image, in root (root/lib/...)."""
    info = boards.board(board_name)
    if info["runtime"] != "micropython":
        raise SystemExit("romfs: %s runs %s, which has no ROMFS" % (board_name, info["runtime"]))
    shutil.rmtree(root, ignore_errors=True)
    build.mpy_tree(root, arch or build.arch_of(board_name))
    return root


def build_image(board_name, image=None, arch=None):
    """Build the board's ROMFS image; returns its path (build/<board>.romfs by default)."""
    root = stage(board_name, os.path.join(REPO, "build", board_name + "-romfs"), arch)
    if image is None:
        image = os.path.join(REPO, "build", board_name + ".romfs")
    proc = subprocess.run([deploy.mpremote(), "romfs", "--no-mpy", "--output", image, "build",
                           root], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit("romfs: mpremote romfs build failed:\n%s%s" % (proc.stdout, proc.stderr))
    with open(image, "rb") as f:
        if f.read(3) != ROMFS_MAGIC:
            raise SystemExit("romfs: %s is not a ROMFS image" % image)
    print("romfs: %s, %d bytes (%s)" % (os.path.relpath(image, REPO), os.path.getsize(image),
                                       build.arch_of(board_name) if arch is None else arch))
    return image


def deploy_image(board_name, port, config=None):
    """Write the image to the board's ROM partition, then copy the board's own files."""
    if not port:
        raise SystemExit("deploy ROMFS=1 needs PORT=...")
    image = build_image(board_name)
    proc = subprocess.run([deploy.mpremote(), "connect", port, "romfs", "deploy", image])
    if proc.returncode != 0:
        raise SystemExit("romfs: mpremote romfs deploy failed (does the firmware have ROMFS? "
                         "`mpremote connect %s romfs query`)" % port)
    files = []
    src = os.path.join(REPO, "boards", board_name)
    for name in deploy.BOARD_FILES:
        local = config if (config and name == "config.json") else os.path.join(src, name)
        if os.path.exists(local):
            files.append((local, "/" + name))
    cmd = [deploy.mpremote(), "connect", port]
    for local, remote in files:
        cmd += ["fs", "cp", local, ":" + remote, "+"]
    cmd += ["reset"]
    if subprocess.run(cmd).returncode != 0:
        raise SystemExit("romfs: copying the board files failed")


def main(argv):
    if len(argv) >= 2 and argv[0] == "build":
        build_image(argv[1], argv[2] if len(argv) > 2 and argv[2] else None)
    elif len(argv) >= 3 and argv[0] == "deploy":
        deploy_image(argv[1], argv[2], argv[3] if len(argv) > 3 and argv[3] else None)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
