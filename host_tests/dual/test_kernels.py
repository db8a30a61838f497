# sedsnet.kernels chooses the hot kernels once (viper _fast or pure _pure) for every module,
# and says which and why (issue 11: one choice, not one per module).
from sedsnet import _pure, _pure_frame, ids, isr, kernels, queues, recent, ring, router_log, router_tx
from support import IS_MICROPYTHON


def _fast_module():
    try:
        from sedsnet import _fast as f
        return f
    except ImportError:
        return None


def test_kernels_say_which_path_loaded_and_why():
    f = _fast_module()
    assert kernels.KIND == ("viper" if f is not None else "pure")
    assert kernels.KIND == ("viper" if IS_MICROPYTHON else "pure")
    assert isinstance(kernels.WHY, str) and kernels.WHY
    assert ("_fast" in kernels.WHY) and (kernels.KIND == "viper") == ("loaded" in kernels.WHY)
    twin = f if kernels.KIND == "viper" else _pure
    for name in ("copy_into", "crc32_check", "crc32_write", "nonce_next", "pid_into",
                 "recent_seen"):
        assert getattr(kernels, name) is getattr(twin, name), name
    assert kernels.key_into is (f.pid_into if kernels.KIND == "viper" else _pure.key_into)
    # the frame kernels (header scan, log packer) come with the same choice from their module
    if kernels.KIND == "viper":
        from sedsnet import _fast_frame as ff
    else:
        ff = _pure_frame
    for name in ("hdr_scan", "log_pack"):
        assert getattr(kernels, name) is getattr(ff, name), name


def test_every_module_takes_its_kernels_from_the_one_choice():
    for mod in (isr, queues, ring, router_tx):
        assert mod.copy_into is kernels.copy_into, mod
    assert router_log.key_into is kernels.key_into
    assert recent.recent_seen is kernels.recent_seen
    assert ids._pid_kernel is kernels.pid_into
    assert ids._key_kernel is kernels.key_into
    assert ids._nonce_kernel is kernels.nonce_next
