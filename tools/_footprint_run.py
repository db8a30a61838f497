# Run by tools/footprint.py under the 32-bit MicroPython, one fresh process per measurement:
#     micropython32 _footprint_run.py SOURCE NAMES_FILE    (module names, one a line: an argv
#     string of 256 bytes or more aborts the Unix port at startup, "FATAL: uncaught NLR")
# SOURCE: "mpy" (MICROPYPATH holds the .mpy files), "frozen" (a build with the library frozen),
# "romfs:IMAGE" (IMAGE is read into RAM first, standing in for flash, and mounted at /rom with
# vfs.VfsRom; /rom/lib goes first on sys.path, as on a board). Prints the heap the imports keep:
# gc.mem_alloc() after gc.collect() minus the same before the imports.
import gc
import sys

source = sys.argv[1]
with open(sys.argv[2]) as f:
    names = [x.strip() for x in f.read().split("\n") if x.strip()]
if source.startswith("romfs:"):
    import vfs

    with open(source[6:], "rb") as f:
        image = f.read()
    vfs.mount(vfs.VfsRom(image), "/rom")
    sys.path.insert(0, "/rom/lib")
    sys.path.insert(0, "/rom")
elif source == "frozen":
    sys.path[:] = [".frozen"]
gc.collect()
before = gc.mem_alloc()
for name in names:
    __import__(name)
gc.collect()
after = gc.mem_alloc()
where = "?"
mod = sys.modules.get(names[-1])
if mod is not None:
    where = getattr(mod, "__file__", "(frozen)")
print("HEAP", after - before, where)
