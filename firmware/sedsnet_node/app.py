# Turns a board config (config.json beside main.py) into a running node: schema, router, link
# sides, sensors, watchdog, LED, main loop. Board main.py files only pick the hardware factory
# (sedsnet_node.hw_machine.MachineHw or .hw_circuitpython.CircuitPythonHw) and call boot().
from .mainloop import MainLoop, PacketCounter, Sensor


def __getattr__(name):
    # load_config, register_schema, ConfigError, ...: config.py's names, also app's (as before
    # config.py); config.py itself is loaded only while boot() reads the config
    from . import config
    return getattr(config, name)


def make_link(hw, side, clock=None):
    """The link driver for one config side (not yet attached to a router). clock: the main
    loop's ms ticks, which times the radios' stuck transmissions (None: the drivers' own)."""
    kind = side["type"]
    name = side.get("name", kind.upper())
    if kind == "uart":
        from .uart_link import UartLink
        return UartLink(hw.uart(side), name=name, mtu=side.get("mtu", 512))
    if kind == "nrf24":
        from .nrf24l01 import NRF24L01
        irq = hw.pin_in(side["irq"]) if "irq" in side else None
        radio = NRF24L01(hw.spi(side), hw.pin_out(side["cs"]), hw.pin_out(side["ce"], 0), irq=irq,
                         name=name, channel=side.get("channel", 76),
                         data_rate=side.get("data_rate", 250), power=side.get("power", 0),
                         address=side.get("address", "SEDSN").encode(),
                         auto_ack=side.get("auto_ack", False), retries=side.get("retries", 5),
                         tx_queue=side.get("tx_queue", 8), ticks_ms=clock)
        radio.side_profile = _side_profile(side, "ipv6_like", 32)
        return radio.init()
    from .sx127x import SX127x
    reset = hw.pin_out(side["reset"]) if "reset" in side else None
    dio0 = hw.pin_in(side["dio0"]) if "dio0" in side else None
    radio = SX127x(hw.spi(side), hw.pin_out(side["cs"]), reset=reset, dio0=dio0, name=name,
                   freq_hz=side.get("freq_hz", 915000000), sf=side.get("sf", 7),
                   bw_hz=side.get("bw_hz", 125000), cr=side.get("cr", 5),
                   tx_power=side.get("tx_power", 17), preamble=side.get("preamble", 8),
                   sync_word=side.get("sync_word", 0x12), tx_queue=side.get("tx_queue", 2),
                   ticks_ms=clock)
    # canonical frames in SDT (no template state a lost packet could break), chunked only
    # when longer than one LoRa packet (the schema announcement)
    radio.side_profile = _side_profile(side, "canonical", 255)
    return radio.init()


def _side_profile(side, profile, max_frame):
    """add_side_packed_profile keywords of a radio side: "profile" ("none" for a plain
    add_side_packed side) and "max_frame_bytes" (default: the radio's payload size)."""
    prof = side.get("profile", profile)
    if prof == "none":
        return None
    return {"profile": prof, "max_frame_bytes": side.get("max_frame_bytes", max_frame)}


def build(cfg, hw, log=print, clock=None, sleep_ms=None, schema_dir="", cfg_path="config.json",
          names=None):
    """Build (router, loop) from a config dict. Sides that fail to start are logged and skipped
    (a missing radio must not take the UART down with it); a config mistake is a ConfigError
    naming cfg_path (or the schema file), the field and the allowed values. names: what
    config.resolve returned for cfg (boot() works it out first), else resolved here.

    Order matters on a small heap: the big imports first, then the links' long-lived buffers
    (while free memory is still in large pieces), then the router."""
    import gc

    import sedsnet
    if names is None:
        from .config import resolve
        names = resolve(cfg, sedsnet, schema_dir, cfg_path)
    handler_ids, sensor_ids, keys, nf = names
    _preload(cfg)
    injected_clock = clock is not None
    if clock is None:
        from .mainloop import ticks_ms as clock
    if sleep_ms is None:
        import time
        sleep_ms = getattr(time, "sleep_ms", None) or (lambda ms: time.sleep(ms / 1000))
    gc.collect()
    links = []
    failed = 0
    for side in cfg["sides"]:
        name = side.get("name", side["type"].upper())
        try:
            links.append((name, make_link(hw, side, clock)))
        except Exception as e:
            failed += 1
            log("sedsnet: side %s not started: %s: %s" % (name, type(e).__name__, e))
    # a radio's start polls its chip for a time-dependent number of rounds, each leaving
    # garbage: collected here, so the long-lived objects made next pack the same way however
    # long the start took (the Feather boots with a few KB to spare)
    gc.collect()
    handlers = [(eid, None, PacketCounter(ep, log))  # packed: no sedsnet.packet
                for ep, eid in handler_ids]
    netfeat = None
    if nf is not None:  # sedsnet_node/netfeat.py: only then
        from . import netfeat
    for kid, key in keys:  # process-wide keyring, before the router
        sedsnet.register_e2e_key(kid, key)
    router = make_router(sedsnet, cfg, handlers, clock if injected_clock else None)
    for h in handlers:
        h[2].router = router  # (to open the sealed frames it logs)
    reliable = {s.get("name", s["type"].upper()): s.get("reliable", False)
                    for s in cfg["sides"]}
    timing = cfg.get("loop", {})
    wdt = None
    if cfg.get("watchdog_ms"):
        wdt = hw.wdt(cfg["watchdog_ms"])
    led = hw.pin_out(cfg["led"], 0) if "led" in cfg else None
    loop = MainLoop(router, clock=clock, sleep_ms=sleep_ms, wdt=wdt, led=led, log=log,
                    periodic_ms=timing.get("periodic_ms", 5), idle_ms=timing.get("idle_ms", 2),
                    status_ms=timing.get("status_ms", 0))
    loop.link_errors += failed
    gc.collect()  # (the same, before the sides' long-lived tables)
    for name, link in links:
        prof = getattr(link, "side_profile", None)  # radios: a side profile (sedsnet/sdt.py)
        rel = reliable.get(name, False)  # "reliable": true (hop-by-hop reliable side)
        if prof:
            loop.add_link(link, router.add_side_packed_profile(name, link.send, rel, **prof))
        else:
            loop.add_link(link, router.add_side_packed(name, link.send, rel))
    for s, ty in sensor_ids:
        read = _sensor_reader(s, clock)
        if read is None:
            log("sedsnet: sensor %s: unknown kind %r" % (s.get("name"), s.get("kind")))
            continue
        loop.add_sensor(Sensor(s.get("name", s["type"]), ty, s.get("period_ms", 1000), read))
    if netfeat is not None:
        netfeat.setup(sedsnet, cfg, router, loop, nf[0], nf[1], clock, log)
    gc.collect()
    return router, loop


_ROUTER_OPTIONS = ("max_queue_budget", "max_recent_rx_ids", "starting_queue_size",
                   "timesync_enabled", "timesync_priority", "timesync_source_timeout_ms",
                   "timesync_announce_interval_ms", "timesync_request_interval_ms",
                   "timesync_consumer_promotion_enabled", "timesync_max_slew_ppm")


def make_router(seds, cfg, handlers, clock=None):
    """The node's sedsnet.Router. cfg["router"] may set the queue budget options (a small heap
    wants a budget well under the reference's 100 KB default) and "route_mode" ("Fanout",
    "Weighted", "Failover") for the packets this board originates; unset keeps 4.2.7's
    defaults (Weighted: one side per endpoint). Time sync: "timesync_role" ("consumer",
    "source", "auto" or 0..2) and the other timesync_* options of sedsnet.Router;
    cfg["e2e"]["key_id"] is the router's e2e_key_id (the key is registered in build)."""
    opts = cfg.get("router", {})
    kw = {"handlers": handlers, "hostname": cfg["hostname"]}
    if "timesync_role" in opts:
        role = opts["timesync_role"]
        if not isinstance(role, int):  # a role name (config.resolve has turned it into its code)
            from .config import timesync_role
            role = timesync_role("config", role)
        kw["timesync_role"] = role
    if "key_id" in cfg.get("e2e", {}):
        kw["e2e_key_id"] = cfg["e2e"]["key_id"]
    if clock is not None:  # simulated time (tests): the router's clock must agree with the loop's
        kw["now_ms"] = clock
    for key in _ROUTER_OPTIONS:
        if key in opts:
            kw[key] = opts[key]
    router = seds.Router(**kw)
    mode = opts.get("route_mode")
    if mode is not None:
        from sedsnet import routes
        codes = {"Fanout": routes.FANOUT, "Weighted": routes.WEIGHTED,
                 "Failover": routes.FAILOVER}  # the reference's RouteSelectionMode names
        if mode not in codes:
            from .config import fail
            fail("config", "router.route_mode", "unknown mode %r" % (mode,), codes)
        router.set_source_route_mode(None, codes[mode])
    return router


def _import_router():
    """The router and its discovery: the board's first, biggest import (see build)."""
    import sedsnet.router  # noqa: F401
    import sedsnet.wire_parse  # noqa: F401  (the first control frame's parser: not mid-flight)
    try:  # a Router makes its Announcer when it is built: load it now, with the other code
        import sedsnet.announce  # noqa: F401
    except ImportError:  # a build without discovery (the router then floods)
        pass


def _preload(cfg):
    """Import every driver module the config needs before building anything, so module code
    (long-lived) is not interleaved with buffers in the heap."""
    _import_router()
    kinds = [side["type"] for side in cfg["sides"]]
    if "uart" in kinds:
        from . import uart_link  # noqa: F401
    if "sx127x" in kinds:
        from . import sx127x  # noqa: F401
    if "nrf24" in kinds:
        from . import nrf24l01  # noqa: F401
    if any(s["type"] != "uart" and s.get("profile") != "none" for s in cfg["sides"]):
        import sedsnet.sdt  # noqa: F401  (profiled radio sides)
    if "network_variables" in cfg:
        import sedsnet.netvar  # noqa: F401
        import sedsnet.netvar_push  # noqa: F401
    if "p2p" in cfg:
        import sedsnet.p2p  # noqa: F401
    for s in cfg.get("sensors", ()):
        if s.get("kind", "").startswith("sim_"):
            from . import simsensors  # noqa: F401


def _sensor_reader(s, clock):
    kind = s.get("kind", "")
    if kind.startswith("sim_"):
        from . import simsensors
        return simsensors.make(kind, clock)
    if "." in kind:  # "module.factory": factory(config_entry, clock) -> read()
        mod, _, fn = kind.rpartition(".")
        return getattr(__import__(mod, None, None, (fn,)), fn)(s, clock)
    return None


def boot(hw, path="config.json", log=print, clock=None, sleep_ms=None):
    """Load the config and build the node; returns the MainLoop (call .run_forever()).

    In phases, so that a board compiling .py sources (CircuitPython) compiles the library in
    a heap that holds no boot-only code: the config and its schema are read and checked
    first, then config.py and identity.py are dropped; the library is imported next, in the
    config's "preload" order if it has one (dependencies first, each after a collection:
    sedsnet_node.preload), then the node is built. The builder is dead code once the node
    runs: boot() drops this module (and the hardware factories) from sys.modules, so a
    main.py that keeps no reference to them gives their RAM back."""
    import gc

    import sedsnet

    from . import banner, preload
    log(banner())  # versions and kernels; refuses a too-old MicroPython before anything else
    from .config import load_config, resolve
    cfg = load_config(path)
    here = path[:path.rfind("/") + 1]
    names = resolve(cfg, sedsnet, here, path)
    del load_config, resolve
    _drop("sedsnet_node", "config")
    _drop("sedsnet", "identity", ("endpoint_identity", "data_type_identity"))
    preload(cfg.get("preload", ()))  # (collects first)
    del banner, preload
    _drop("sedsnet_node", "bootinfo")
    _import_router()  # the big imports first (see build)
    loop = build(cfg, hw, log=log, clock=clock, sleep_ms=sleep_ms, schema_dir=here,
                 cfg_path=path, names=names)[1]
    del names
    log("sedsnet: %s up, sides: %s" % (cfg["hostname"], ", ".join(link.name for link in loop.links)))
    for name in ("app", "config", "hw_machine", "hw_circuitpython"):
        _drop("sedsnet_node", name)
    gc.collect()
    return loop  # the config dict goes out of scope here, before the loop runs


def _drop(pkg, name, lent=()):
    """Forget module pkg.name (and the names it lent its package) so its RAM comes back."""
    import sys
    sys.modules.pop(pkg + "." + name, None)
    p = sys.modules.get(pkg)
    for n in (name,) + lent:
        try:  # the package holds its submodules (and lazily resolved names) as attributes
            delattr(p, n)
        except (AttributeError, KeyError, TypeError):  # MicroPython: KeyError
            pass


def run(hw, path="config.json", log=print):
    """boot() then route forever (Ctrl-C ends with a summary)."""
    boot(hw, path, log).run_forever()
