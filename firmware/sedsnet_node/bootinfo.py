# Boot-time helpers of sedsnet_node (the package's names, resolved lazily): the runtime check,
# the kernels line, the boot banner and preload(). app.boot drops this module before it builds
# the node, so a board that compiles .py sources (CircuitPython) does not keep it.
from . import MIN_CIRCUITPYTHON, MIN_MICROPYTHON


def _ver(v):
    return ".".join(str(x) for x in tuple(v)[:3])


def check_runtime(impl=None):
    """Raise RuntimeError naming the minimum version if this MicroPython/CircuitPython is too
    old; return "name x.y.z". impl: sys.implementation-like (tests pass a fake)."""
    if impl is None:
        import sys
        impl = sys.implementation
    name = impl.name
    have = tuple(impl.version)[:3]
    need = {"micropython": MIN_MICROPYTHON, "circuitpython": MIN_CIRCUITPYTHON}.get(name)
    if need is not None and have < need:
        raise RuntimeError("sedsnet_node needs %s >= %s, this board runs %s %s: flash a newer "
                           "firmware (micropython.org/download or circuitpython.org/downloads)"
                           % (name, _ver(need), name, _ver(have)))
    return "%s %s" % (name, _ver(have))


def kernels():
    """("viper" or "pure", why): which codec kernels the library runs on this board."""
    import sedsnet
    # the library's own answer, where it has one; read from the module dict, since a getattr
    # would go through sedsnet.__getattr__ and load sedsnet.consts for good (RAM)
    info = getattr(sedsnet, "__dict__", {}).get("KERNELS")
    if isinstance(info, str):
        return info, "sedsnet.KERNELS"
    if isinstance(info, tuple) and len(info) == 2:
        return info
    try:
        import sedsnet._fast  # noqa: F401
    except ImportError as e:
        if "_fast" in str(e):
            return "pure", "sedsnet/_fast is not installed"
        return "pure", "sedsnet/_fast did not load: ImportError: %s" % e
    except (SyntaxError, ValueError, AttributeError) as e:
        # a .mpy built for another arch or .mpy version, or a build without the native emitter
        return "pure", "sedsnet/_fast did not load: %s: %s" % (type(e).__name__, e)
    return "viper", "sedsnet/_fast loaded"


def banner(impl=None):
    """The first boot line: versions and kernels (checks the runtime first)."""
    import sedsnet
    runtime = check_runtime(impl)
    kind, why = kernels()
    return "sedsnet: sedsnet %s on %s, kernels: %s (%s)" % (
        getattr(sedsnet, "__version__", "?"), runtime, kind, why)


def preload(names):
    """Import the modules names in order, collecting garbage after each (a missing optional
    part is skipped: the import that needs it fails later, by name). On a board that compiles
    .py sources (CircuitPython) a module imported by another compiles while the importer's
    parse tree is garbage in the heap, and the code of both ends up among its holes; listed
    dependencies first, each compiles in a heap that holds finished modules only."""
    import gc
    gc.collect()
    for name in names:
        try:
            __import__(name)
        except ImportError:
            pass
        gc.collect()
