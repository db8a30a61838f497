# The commands the two codec peers share (mp_codec_peer.py: our sedsnet under MicroPython;
# ref_peer.py: the reference 4.2.7 under CPython): schema, pack, unpack, peek, route and batch,
# written once against the API both expose. Never imports a sedsnet itself: each peer passes
# its own module (the two may not share a process).


def codec_handlers(seds, registry, emit):
    """The handlers for stdio_link.serve(): seds is the sedsnet module, registry the module
    whose functions the "schema" calls name, emit(frame) sends a frame to the test."""
    handlers = {}

    def schema(cmd):
        """Apply a list of {"call": name, "args": [...], "kwargs": {...}} registry calls."""
        for call in cmd["calls"]:
            getattr(registry, call["call"])(*call.get("args", ()), **call.get("kwargs", {}))
        return {}

    def sender(cmd):
        # sender_hex (UTF-8 hex) sidesteps JSON \\u escapes of non-BMP characters, which
        # MicroPython's json decodes one surrogate at a time
        if "sender_hex" in cmd:
            return bytes.fromhex(cmd["sender_hex"]).decode()
        return cmd["sender"]

    def pack(cmd):
        pkt = seds.make_packet(cmd["ty"], sender(cmd), cmd["endpoints"], cmd["timestamp_ms"],
                               bytes.fromhex(cmd["payload_hex"]))
        frame = pkt.pack()
        if cmd.get("emit"):
            emit(frame)
        return {"frame_hex": frame.hex()}

    def unpack(cmd):
        pkt = seds.unpack_packet_py(bytes.fromhex(cmd["frame_hex"]))
        return {"ty": pkt.ty, "sender": pkt.sender, "sender_hex": pkt.sender.encode().hex(),
                "endpoints": list(pkt.endpoints),
                "timestamp_ms": pkt.timestamp_ms, "payload_hex": bytes(pkt.payload).hex()}

    def peek(cmd):
        return dict(seds.peek_header_py(bytes.fromhex(cmd["frame_hex"])))

    def route(cmd):
        """A fresh Router with a handler on each of cmd["handlers"] receives cmd["frame_hex"]
        on a packed side: {"got": [[endpoint, payload hex, str(pkt) ok]...], "sent": frames
        forwarded}."""
        got = []
        sent = []

        def handler(ep):
            def h(pkt):
                try:
                    str(pkt)
                    shown = True
                except Exception:
                    shown = False
                got.append([ep, bytes(pkt.payload).hex(), shown])
            return h
        r = seds.Router(handlers=[(e, handler(e), None) for e in cmd["handlers"]],
                        now_ms=lambda: 0)
        side = r.add_side_packed("in", lambda f: None)
        r.add_side_packed("out", lambda f: sent.append(bytes(f).hex()))
        r.receive_packed_from_side(side, bytes.fromhex(cmd["frame_hex"]))
        return {"got": got, "sent": len(sent)}

    def batch(cmd):
        """Run several commands in one round trip: {"cmds": [...]} -> {"results": [...]}."""
        out = []
        for c in cmd["cmds"]:
            try:
                r = handlers[c["op"]](c)
                r["ok"] = True
            except Exception as e:
                r = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
            out.append(r)
        return {"results": out}

    handlers.update({"schema": schema, "pack": pack, "unpack": unpack, "peek": peek,
                     "route": route, "batch": batch})
    return handlers
