# Bad arguments to every public call are ArgumentErrors that name the argument; the clock
# check; runtime tuning / device identifier; address modes; missing module attributes.
import sedsnet
from sedsnet import schema, tuning
from sedsnet.errors import ArgumentError, SedsError
from sedsnet.relay import Relay
from sedsnet.router import Router
import support
from support import raises

EP = 61
F32 = 3100  # dynamic f32
U8 = 3101  # dynamic u8
STR = 3102  # static String x2
TXT = 3103  # dynamic String
BOOL = 3104  # dynamic bool


def setup():
    if sedsnet.data_type_exists(F32):
        return
    sedsnet.register_endpoint(EP, "ARGS_EP")
    sedsnet.register_data_type(F32, "ARGS_F32", False, 0, 1, 0, [EP])
    sedsnet.register_data_type(U8, "ARGS_U8", False, 0, 2, 0, [EP])
    sedsnet.register_data_type(STR, "ARGS_STR", True, 2, 13, 0, [EP])
    sedsnet.register_data_type(TXT, "ARGS_TXT", False, 0, 13, 0, [EP])
    sedsnet.register_data_type(BOOL, "ARGS_BOOL", False, 0, 12, 0, [EP])


class Clock(support.Clock):
    """support.Clock that can fail: `bad` is an exception to raise or a value to return
    instead of t."""
    bad = ()

    def __call__(self):
        if isinstance(self.bad, Exception):
            raise self.bad
        if self.bad != ():
            return self.bad
        return self.t


def _router(**kw):
    sent = []
    r = Router(now_ms=kw.pop("now_ms", None) or Clock(), hostname="ARGS", discovery=False, **kw)
    r.add_side_packed("S", lambda f: sent.append(bytes(f)))
    return r, sent


class _Obj:
    pass


def _cases(r, relay):
    pkt = sedsnet.make_packet(F32, "X", [EP], 1, bytes(4))
    frame = pkt.pack()
    obj = _Obj()
    return (
        # (label, callable, args, kwargs, name the message must contain)
        ("make_packet ty str", sedsnet.make_packet, ("101", "X", [EP], 0, b""), {}, "ty"),
        ("make_packet ty None", sedsnet.make_packet, (None, "X", [EP], 0, b""), {}, "ty"),
        ("make_packet sender int", sedsnet.make_packet, (F32, 5, [EP], 0, b""), {}, "sender"),
        ("make_packet eps None", sedsnet.make_packet, (F32, "X", None, 0, b""), {}, "endpoints"),
        ("make_packet eps int", sedsnet.make_packet, (F32, "X", EP, 0, b""), {}, "endpoints"),
        ("make_packet eps bytes", sedsnet.make_packet, (F32, "X", b"\x3d", 0, b""), {},
         "endpoints"),
        ("make_packet eps str item", sedsnet.make_packet, (F32, "X", ["x"], 0, b""), {},
         "endpoints"),
        ("make_packet ts -1", sedsnet.make_packet, (F32, "X", [EP], -1, b""), {}, "timestamp_ms"),
        ("make_packet ts float", sedsnet.make_packet, (F32, "X", [EP], 1.5, b""), {},
         "timestamp_ms"),
        ("make_packet ts huge", sedsnet.make_packet, (F32, "X", [EP], 1 << 64, b""), {},
         "timestamp_ms"),
        ("make_packet payload None", sedsnet.make_packet, (F32, "X", [EP], 0, None), {},
         "payload"),
        ("make_packet payload str", sedsnet.make_packet, (F32, "X", [EP], 0, "abcd"), {},
         "payload"),
        ("make_packet payload obj", sedsnet.make_packet, (F32, "X", [EP], 0, obj), {}, "payload"),
        ("make_packet payload [300]", sedsnet.make_packet, (F32, "X", [EP], 0, [300]), {},
         "payload"),
        ("register_endpoint id str", sedsnet.register_endpoint, ("x", "E"), {}, "endpoint id"),
        ("register_endpoint name int", sedsnet.register_endpoint, (70, 5), {}, "name"),
        ("register_endpoint link_local None", sedsnet.register_endpoint, (70, "E70", None), {},
         "link_local_only"),
        ("register_endpoint description None", sedsnet.register_endpoint, (70, "E70", False, None),
         {}, "description"),
        ("register_data_type eps None", sedsnet.register_data_type,
         (3190, "T", False, 0, 1, 0, None), {}, "endpoints"),
        ("register_data_type eps bytes", sedsnet.register_data_type,
         (3190, "T", False, 0, 1, 0, b"\x3d"), {}, "endpoints"),
        ("register_data_type ty str", sedsnet.register_data_type,
         ("3190", "T", False, 0, 1, 0, [EP]), {}, "data type id"),
        ("register_data_type is_static None", sedsnet.register_data_type,
         (3190, "T", None, 0, 1, 0, [EP]), {}, "is_static"),
        ("register_data_type count float", sedsnet.register_data_type,
         (3190, "T", True, 1.0, 1, 0, [EP]), {}, "element_count"),
        ("register_data_type mdt 99", sedsnet.register_data_type,
         (3190, "T", True, 1, 99, 0, [EP]), {}, "message_data_type"),
        ("register_data_type priority str", sedsnet.register_data_type,
         (3190, "T", True, 1, 1, 0, [EP]), {"priority": "1"}, "priority"),
        ("register_schema_json_bytes None", sedsnet.register_schema_json_bytes, (None,), {},
         "data"),
        ("register_schema_json_bytes list", sedsnet.register_schema_json_bytes, ([1],), {},
         "data"),
        ("register_schema_json_file None", sedsnet.register_schema_json_file, (None,), {}, "path"),
        ("set_runtime_tuning_config str", sedsnet.set_runtime_tuning_config, (),
         {"max_handler_retries": "3"}, "max_handler_retries"),
        ("set_runtime_tuning_config 0", sedsnet.set_runtime_tuning_config, (),
         {"static_string_length": 0}, "static_string_length"),
        ("set_runtime_tuning_config neg", sedsnet.set_runtime_tuning_config, (),
         {"payload_compress_threshold": -1}, "payload_compress_threshold"),
        ("set_runtime_tuning_config u32", sedsnet.set_runtime_tuning_config, (),
         {"reliable_retransmit_ms": 1 << 32}, "reliable_retransmit_ms"),
        ("set_runtime_tuning_config float", sedsnet.set_runtime_tuning_config, (),
         {"reliable_max_pending": 1.5}, "reliable_max_pending"),
        ("set_runtime_tuning_config unknown", sedsnet.set_runtime_tuning_config, (),
         {"bogus": 1}, "bogus"),
        ("set_runtime_device_identifier None", sedsnet.set_runtime_device_identifier, (None,), {},
         "value"),
        ("set_runtime_device_identifier empty", sedsnet.set_runtime_device_identifier, ("",), {},
         "value"),
        ("Router handlers int", Router, (), {"handlers": 5}, "handlers"),
        ("Router handlers bad tuple", Router, (), {"handlers": [(EP, 5, None)]}, "handlers"),
        ("Router handlers pair", Router, (), {"handlers": [(EP, None)]}, "handlers"),
        ("Router hostname int", Router, (), {"hostname": 5}, "hostname"),
        ("Router hostname empty", Router, (), {"hostname": ""}, "hostname"),
        ("Router now_ms int", Router, (), {"now_ms": 5}, "now_ms"),
        ("Router max_queue_budget str", Router, (), {"max_queue_budget": "x"},
         "max_queue_budget"),
        ("Router max_queue_budget neg", Router, (), {"max_queue_budget": -1}, "max_queue_budget"),
        ("Router max_recent_rx_ids float", Router, (), {"max_recent_rx_ids": 1.5},
         "max_recent_rx_ids"),
        ("Router starting_queue_size None str", Router, (), {"starting_queue_size": "1"},
         "starting_queue_size"),
        ("Router queue_grow_step str", Router, (), {"queue_grow_step": "x"}, "queue_grow_step"),
        ("Router address_mode 3", Router, (), {"address_mode": 3}, "address_mode"),
        ("Router address_mode str", Router, (), {"address_mode": "1"}, "address_mode"),
        ("Router requested_address neg", Router, (), {"requested_address": -1},
         "requested_address"),
        ("Router timesync_role 3", Router, (), {"timesync_role": 3}, "timesync_role"),
        ("Router timesync_enabled None", Router, (), {"timesync_enabled": None},
         "timesync_enabled"),
        ("Router e2e_mode 256", Router, (), {"e2e_mode": 256}, "e2e_mode"),
        ("Router.new_singleton options", Router.new_singleton, (), {"handlers": 5}, "handlers"),
        ("Relay now_ms str", Relay, (), {"now_ms": "x"}, "now_ms"),
        ("Relay hostname bytes", Relay, (), {"hostname": b"R"}, "hostname"),
        ("set_sender_id None", r.set_sender_id, (None,), {}, "sender_id"),
        ("configure_address mode 255", r.configure_address, (255, 0), {}, "address_mode"),
        ("configure_address mode float", r.configure_address, (1.0, 0), {}, "address_mode"),
        ("configure_address requested huge", r.configure_address, (1, 1 << 32), {},
         "requested_address"),
        ("configure_address requested None", r.configure_address, (1, None), {},
         "requested_address"),
        ("add_side_packed name int", r.add_side_packed, (5, print), {}, "name"),
        ("add_side_packed tx int", r.add_side_packed, ("S2", 5), {}, "tx"),
        ("add_side_packet tx None", r.add_side_packet, ("S2", None), {}, "tx"),
        ("add_side_packed reliable str", r.add_side_packed, ("S2", print, "yes"), {},
         "reliable_enabled"),
        ("remove_side str", r.remove_side, ("0",), {}, "side_id"),
        ("remove_side 99", r.remove_side, (99,), {}, "side_id"),
        ("side_reliable None", r.side_reliable, (None,), {}, "side_id"),
        ("set_side_ingress_enabled None", r.set_side_ingress_enabled, (0, None), {}, "enabled"),
        ("set_side_egress_enabled str", r.set_side_egress_enabled, (0, "no"), {}, "enabled"),
        ("set_route dst str", r.set_route, (None, "0", True), {}, "dst_side_id"),
        ("set_route src 9", r.set_route, (9, 0, True), {}, "src_side_id"),
        ("set_route enabled None", r.set_route, (None, 0, None), {}, "enabled"),
        ("set_typed_route ty str", r.set_typed_route, (None, "x", 0, True), {}, "ty"),
        ("set_source_route_mode str", r.set_source_route_mode, (None, "1"), {}, "mode"),
        ("set_route_weight neg", r.set_route_weight, (None, 0, -1), {}, "weight"),
        ("set_route_priority float", r.set_route_priority, (None, 0, 1.5), {}, "priority"),
        ("log ty str", r.log, ("101", b"abcd", 4, 2), {}, "ty"),
        ("log data None", r.log, (F32, None, 4, 2), {}, "data"),
        ("log data obj", r.log, (F32, obj, 4, 2), {}, "data"),
        ("log elem_size str", r.log, (F32, b"abcd", "4", 2), {}, "elem_size"),
        ("log elem_kind None", r.log, (F32, b"abcd", 4, None), {}, "elem_kind"),
        ("log timestamp str", r.log, (F32, b"abcd", 4, 2, "1"), {}, "timestamp_ms"),
        ("log queue None", r.log, (F32, b"abcd", 4, 2, None, None), {}, "queue"),
        ("log_bytes None", r.log_bytes, (F32, None), {}, "data"),
        ("log_bytes str", r.log_bytes, (F32, "abcd"), {}, "data"),
        ("log_bytes int", r.log_bytes, (F32, 4), {}, "data"),
        ("log_bytes [256]", r.log_bytes, (U8, [256]), {}, "data"),
        ("log_bytes ty None", r.log_bytes, (None, b""), {}, "ty"),
        ("log_bytes ts neg", r.log_bytes, (U8, b"a", -1), {}, "timestamp_ms"),
        ("log_bytes queue str", r.log_bytes, (U8, b"a", None, "yes"), {}, "queue"),
        ("log_f32 int", r.log_f32, (F32, 5), {}, "values"),
        ("log_f32 None", r.log_f32, (F32, None), {}, "values"),
        ("log_f32 bytes", r.log_f32, (F32, b"abcd"), {}, "values"),
        ("log_f32 str", r.log_f32, (F32, "1.0"), {}, "values"),
        ("log_f32 [str]", r.log_f32, (F32, ["x"]), {}, "values"),
        ("log_f32 [None]", r.log_f32, (F32, [1.0, None]), {}, "values[1]"),
        ("log_f32 ty str", r.log_f32, ("3100", [1.0]), {}, "ty"),
        ("log_f32 ts float", r.log_f32, (F32, [1.0], 1.5), {}, "timestamp_ms"),
        ("log_f32 queue list", r.log_f32, (F32, [1.0], None, []), {}, "queue"),
        ("log_u8 float", r.log_u8, (U8, [1.5]), {}, "values[0]"),
        ("log_u8 neg", r.log_u8, (U8, [1, -1]), {}, "values[1]"),
        ("log_u8 bytes", r.log_u8, (U8, b"\x01"), {}, "values"),
        ("log_u8 str item", r.log_u8, (U8, ["1"]), {}, "values[0]"),
        ("log_bool int", r.log_bool, (BOOL, 1), {}, "values"),
        ("log_string int", r.log_string, (TXT, 5), {}, "text"),
        ("log_string None", r.log_string, (TXT, None), {}, "text"),
        ("transmit_message bytes", r.transmit_message, (frame,), {}, "packet"),
        ("transmit_message_queue None", r.transmit_message_queue, (None,), {}, "packet"),
        ("transmit_packed_message None", r.transmit_packed_message, (None,), {}, "data"),
        ("transmit_packed_message list", r.transmit_packed_message, ([1, 2],), {}, "data"),
        ("transmit_packed_message_queue Packet", r.transmit_packed_message_queue, (pkt,), {},
         "data"),
        ("receive_packed_from_side None", r.receive_packed_from_side, (0, None), {}, "data"),
        ("receive_packed_from_side sid str", r.receive_packed_from_side, ("0", frame), {},
         "side_id"),
        ("receive_packet_from_side bytes", r.receive_packet_from_side, (0, frame), {}, "packet"),
        ("receive_packed_queue_from_side str", r.receive_packed_queue_from_side, (0, "x"), {},
         "data"),
        ("receive_packed_queue_from_side sid", r.receive_packed_queue_from_side, (None, frame),
         {}, "side_id"),
        ("receive_packet_queue_from_side None", r.receive_packet_queue_from_side, (0, None), {},
         "packet"),
        ("receive_packed None", r.receive_packed, (None,), {}, "data"),
        ("receive_packet bytes", r.receive_packet, (frame,), {}, "packet"),
        ("receive_packed_queue list", r.receive_packed_queue, ([1],), {}, "data"),
        ("receive_packet_queue obj", r.receive_packet_queue, (obj,), {}, "packet"),
        ("periodic str", r.periodic, ("x",), {}, "timeout_ms"),
        ("periodic None", r.periodic, (None,), {}, "timeout_ms"),
        ("periodic neg", r.periodic, (-1,), {}, "timeout_ms"),
        ("periodic float", r.periodic, (1.5,), {}, "timeout_ms"),
        ("periodic huge", r.periodic, (1 << 32,), {}, "timeout_ms"),
        ("periodic_no_timesync str", r.periodic_no_timesync, ("x",), {}, "timeout_ms"),
        ("process_all_queues_with_timeout None", r.process_all_queues_with_timeout, (None,), {},
         "timeout_ms"),
        ("process_rx_queue_with_timeout str", r.process_rx_queue_with_timeout, ("1",), {},
         "timeout_ms"),
        ("process_tx_queue_with_timeout neg", r.process_tx_queue_with_timeout, (-5,), {},
         "timeout_ms"),
        ("Relay rx_packed_from_side None", relay.rx_packed_from_side, (0, None), {}, "data"),
        ("Relay rx_packet_from_side bytes", relay.rx_packet_from_side, (0, frame), {}, "packet"),
        ("Relay rx_packed_queue_from_side sid", relay.rx_packed_queue_from_side, ("0", frame), {},
         "side_id"),
        ("Relay periodic str", relay.periodic, ("x",), {}, "timeout_ms"),
        ("Relay set_sender_id int", relay.set_sender_id, (5,), {}, "sender_id"),
    )


def test_every_bad_argument_is_an_argument_error_naming_it():
    setup()
    r, sent = _router()
    relay = Relay(now_ms=Clock(), discovery=False)
    relay.add_side_packed("S", lambda f: None)
    before = sedsnet.runtime_tuning_config()
    failures = []
    n = 0
    for label, fn, args, kw, name in _cases(r, relay):
        n += 1
        try:
            fn(*args, **kw)
            failures.append(label + ": nothing raised")
        except ArgumentError as e:
            if name not in str(e):
                failures.append("%s: message %r does not name %r" % (label, str(e), name))
        except Exception as e:
            failures.append("%s: %s %s" % (label, type(e).__name__, e))
    assert n > 120
    assert not failures, "\n".join(failures)
    assert sedsnet.runtime_tuning_config() == before  # nothing applied by a refused call
    assert sent == []  # no refused log/transmit sent anything
    assert not sedsnet.data_type_exists(3190) and not sedsnet.endpoint_exists(70)
    # an ArgumentError is a SedsError, and the router still works
    assert issubclass(ArgumentError, SedsError)
    r.log_f32(F32, [1.0])
    assert len(sent) == 1


def test_a_broken_clock_is_an_argument_error_and_the_router_recovers():
    setup()
    clock = Clock()
    got = []
    r = Router(now_ms=clock, hostname="CLK", discovery=False, handlers=[(EP, got.append, None)])
    sent = []
    r.add_side_packed("S", lambda f: sent.append(bytes(f)))
    other = Router(now_ms=Clock(), hostname="OTHER", discovery=False)
    disc = Router(now_ms=clock, hostname="DISC")
    disc_out = []
    disc.add_side_packed("S", lambda f: disc_out.append(bytes(f)))
    frames = []
    other.add_side_packed("S", lambda f: frames.append(bytes(f)))
    other.log_f32(F32, [1.0, 2.0])
    other.log_f32(F32, [3.0])
    for bad in (ValueError("clock down"), 1.5, None, "12", -1, 1 << 64):
        clock.bad = bad
        e = raises(ArgumentError, r.log_f32, F32, [1.0])
        assert "now_ms" in str(e)
        assert not r._busy
        e = raises(ArgumentError, r.periodic, 5)  # (periodic(0) here reads no clock)
        assert "now_ms" in str(e) and not r._busy
        e = raises(ArgumentError, disc.periodic, 0)  # discovery reads it for announcements
        assert "now_ms" in str(e) and not disc._busy
        raises(ArgumentError, r.process_all_queues_with_timeout, 5)
        raises(ArgumentError, r.log_bytes, F32, bytes(4), None, True)
        assert not r._busy
    assert sent == [] and got == [] and r._tx.live == 0  # nothing half-done, nothing queued
    assert disc_out == []
    clock.bad = ()
    disc.periodic(0)
    assert disc_out  # its announcements go out once the clock works
    r.log_f32(F32, [1.0])  # works again
    assert len(got) == 1  # (held here: not forwarded)
    r.receive_packed_from_side(0, frames[0])
    assert len(got) == 2
    r.receive_packed_queue_from_side(0, frames[1])
    clock.bad = ValueError("again")
    raises(ArgumentError, r.periodic, 5)
    clock.bad = ()
    r.periodic(0)
    assert len(got) == 3 and not r._busy
    # a clock that is given as an int instead of a callable is refused up front
    assert "now_ms" in str(raises(ArgumentError, Router, now_ms=1000))


def test_missing_module_attributes_are_attribute_errors():
    e = raises(AttributeError, lambda: sedsnet.nope)
    assert "nope" in str(e)
    assert getattr(sedsnet, "nope", 5) == 5
    assert not hasattr(sedsnet, "nope")
    assert not hasattr(sedsnet, "")  # MicroPython imported the package itself for ""
    assert getattr(sedsnet, "", 7) == 7
    assert hasattr(sedsnet, "Router") and hasattr(sedsnet, "wire")
    try:
        from sedsnet import nope2  # noqa: F401
        raise AssertionError("imported a missing name")
    except ImportError:  # (CPython's from-import turns the AttributeError into this)
        pass
    except AttributeError as e:
        assert "nope2" in str(e)
    assert sedsnet.set_runtime_tuning_config is tuning.set_runtime_tuning_config


def test_runtime_tuning_config_keys_defaults_and_validation():
    cfg = sedsnet.runtime_tuning_config()
    assert cfg == {
        "payload_compress_threshold": 128, "static_string_length": 1024,
        "static_hex_length": 1024, "string_precision": 8, "max_handler_retries": 3,
        "reliable_retransmit_ms": 200, "reliable_max_retries": 8, "reliable_max_pending": 32,
        "reliable_max_return_routes": 32, "reliable_max_end_to_end_pending": 32,
        "reliable_max_end_to_end_ack_cache": 128}
    try:
        out = sedsnet.set_runtime_tuning_config(reliable_max_retries=40, string_precision=0,
                                                payload_compress_threshold=0,
                                                reliable_max_pending=None)
        assert out["reliable_max_retries"] == 40 and out["string_precision"] == 0
        assert out["reliable_max_pending"] == 32  # None keeps a value
        assert sedsnet.runtime_tuning_config() == out
        assert tuning.reliable_config() == (200, 40, 32, 32, 32, 128)
        # a refused call changes nothing, even its valid keys (4.2.7)
        raises(ArgumentError, sedsnet.set_runtime_tuning_config, reliable_max_retries=9,
               max_handler_retries=0)
        assert sedsnet.runtime_tuning_config()["reliable_max_retries"] == 40
        out = sedsnet.set_runtime_tuning_config(reliable_retransmit_ms=0xFFFFFFFF,
                                                reliable_max_pending=1 << 40)
        assert out["reliable_retransmit_ms"] == 0xFFFFFFFF
    finally:
        sedsnet.set_runtime_tuning_config(**cfg)
    assert sedsnet.runtime_tuning_config() == cfg


def test_static_string_length_applies_to_string_types_as_4_2_7():
    setup()
    cfg = sedsnet.runtime_tuning_config()
    assert sedsnet.data_type_info(STR)["fixed_size"] == 2048
    try:
        sedsnet.set_runtime_tuning_config(static_string_length=8, static_hex_length=3)
        assert sedsnet.data_type_info(STR)["fixed_size"] == 16  # registered before: too
        sedsnet.register_data_type(3105, "ARGS_BIN", True, 2, 14, 0, [EP])
        assert sedsnet.data_type_info(3105)["fixed_size"] == 6
        p = sedsnet.make_packet(STR, "X", [EP], 0, b"hello")
        assert len(p.payload) == 16 and p.data_as_string() == "hello"
        r, sent = _router()
        r.log_string(STR, "hi")
        assert sedsnet.unpack_packet(sent[0]).payload == b"hi" + bytes(14)
        p = sedsnet.make_packet(TXT, "X", [EP], 0, b"abcde")  # dynamic: any length
        assert len(p.payload) == 5
    finally:
        sedsnet.set_runtime_tuning_config(**cfg)
        schema.remove_data_type(3105)
    assert sedsnet.data_type_info(STR)["fixed_size"] == 2048


def test_max_handler_retries_is_the_number_of_calls_of_a_failing_handler():
    setup()
    cfg = sedsnet.runtime_tuning_config()
    calls = []

    def bad(pkt):
        calls.append(1)
        raise ValueError("boom")

    r = Router(now_ms=Clock(), hostname="H", discovery=False, handlers=[(EP, bad, None)])
    try:
        for tries in (3, 1, 5):
            sedsnet.set_runtime_tuning_config(max_handler_retries=tries)
            del calls[:]
            r.log_f32(F32, [1.0])
            assert len(calls) == tries
        ok = []

        def flaky(pkt):
            ok.append(1)
            if len(ok) < 2:
                raise ValueError("once")

        r2 = Router(now_ms=Clock(), hostname="H2", discovery=False, handlers=[(EP, flaky, None)])
        r2.log_f32(F32, [1.0])
        assert len(ok) == 2 and r2._handler_failures == 0  # the retry succeeded
    finally:
        sedsnet.set_runtime_tuning_config(**cfg)


def test_device_identifier_names_routers_made_afterwards():
    old = sedsnet.runtime_device_identifier()
    assert old == "TEST_PLATFORM"
    before = Router(now_ms=Clock(), discovery=False)
    try:
        assert sedsnet.set_runtime_device_identifier("BOARD7") == "BOARD7"
        assert sedsnet.runtime_device_identifier() == "BOARD7"
        r = Router(now_ms=Clock(), discovery=False)
        assert r.sender_id == "BOARD7" and r.current_address == 1610418292  # as 4.2.7
        assert Router(now_ms=Clock(), discovery=False, hostname="x").sender_id == "x"
        assert Relay(now_ms=Clock(), discovery=False).sender_id == "RELAY"
        assert before.sender_id == "TEST_PLATFORM" and before.current_address == 3132792940
    finally:
        sedsnet.set_runtime_device_identifier(old)


def test_address_modes_as_4_2_7():
    r = Router(now_ms=Clock(), hostname="alpha", discovery=False)
    assert r.current_address == 2076267752  # dynamic: node_address(hostname)
    for mode, req, want in ((0, 5, 2076267752), (1, 0, 1), (1, 77, 77), (2, 0, 1), (2, 9, 9),
                            (1, 0xFFFFFFFF, 0xFFFFFFFF), (True, 5, 5)):
        assert r.configure_address(mode, req) is None
        assert r.current_address == want
    raises(ArgumentError, r.configure_address, 3, 0)
    assert r.current_address == 5  # a refused call changes nothing
    r.configure_address(address_mode=1, requested_address=42)
    r.set_sender_id("beta")
    assert r.current_address == 42  # kept across a rename
    r.configure_address()
    assert r.current_address == 195665437  # dynamic again: node_address("beta")
    assert Router(now_ms=Clock(), hostname="beta", address_mode=2, requested_address=43,
                  discovery=False).current_address == 43
    assert Router(now_ms=Clock(), hostname="beta", address_mode=0, requested_address=44,
                  discovery=False).current_address == 195665437


def test_address_mode_goes_out_in_discovery_address():
    from sedsnet.announce_codec import parse_address
    for mode, req, addr, req_field in ((0, 5, 2076267752, 0), (1, 0, 1, 1), (1, 42, 42, 42),
                                       (2, 9, 9, 9)):
        out = []
        r = Router(now_ms=Clock(), hostname="alpha", address_mode=mode, requested_address=req)
        r.add_side_packed("x", lambda f: out.append(bytes(f)))
        r.periodic(0)
        addrs = [f for f in out if sedsnet.peek_header(f)["ty"] == 17]
        assert addrs
        payload = sedsnet.unpack_packet(addrs[0]).payload
        assert payload[:11] == bytes([2, mode, 1]) + addr.to_bytes(4, "little") \
            + req_field.to_bytes(4, "little")
        assert parse_address(payload)  # still a valid ADDRESS


def test_typed_helpers_edge_values_round_trip():
    """What the reference child test checks across processes, here within one runtime."""
    setup()
    r, sent = _router()
    r.log_u8(U8, [0, 255])
    assert sedsnet.unpack_packet(sent[-1]).data_as_u8() == [0, 255] or \
        bytes(sedsnet.unpack_packet(sent[-1]).data_as_u8()) == b"\x00\xff"
    r.log_bool(BOOL, [True, False, 1, 0])
    assert sedsnet.unpack_packet(sent[-1]).data_as_bool() == [True, False, True, False]
    r.log_string(TXT, "")
    assert sedsnet.unpack_packet(sent[-1]).data_as_string() == ""
    from array import array
    r.log_f32(F32, array("f", [1.5]))  # an array of floats is a value list too
    assert sedsnet.unpack_packet(sent[-1]).data_as_f32() == [1.5]
