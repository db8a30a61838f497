"""The report sections of the time_source_failover and key_rotation events (netevents.py):
report(run) -> the report.json sections, text(rep) -> the report.txt lines."""
from netevents import snapshot, source_address

RELOCK_MS = 100  # a board within this of the new source on its last two samples re-locked
AT_END_S = 3.0  # a sender still announcing at the end: its last announce this close to it


def _senders(run):
    """{sender as the host decodes it: node name} for every board and reference router."""
    out = {}
    for n in run.sc["boards"] + [n for n in run.sc["nodes"] if n["kind"] == "router"]:
        out[n["hostname"]] = out["@addr:%d" % source_address(n["hostname"])] = n["name"]
    return out


def _offsets(samples):
    """(host ms, net ms) status-line samples -> [(host ms, net - host)]."""
    return [(h, n - h) for h, n in samples]


def _near(series, t):
    return min(series, key=lambda x: abs(x[0] - t))[1] if series else None


def _stats(vals):
    if not vals:
        return None
    return {"samples": len(vals), "last_ms": round(vals[-1], 1), "min_ms": round(min(vals), 1),
            "max_ms": round(max(vals), 1)}


def failover_report(run):
    fo = getattr(run, "failover", None)
    if fo is None:
        return None
    tr = run.tracker
    names = _senders(run)
    t_f = fo["t"]
    ann, at_end = {}, []
    for sender, stamps in sorted(tr.announces.items()):
        ts = sorted(stamps.values())
        after = [t for t in ts if t >= t_f]
        if after and tr.now() - ts[-1] <= AT_END_S:
            at_end.append(names.get(sender, sender))
        ann[names.get(sender, sender)] = {
            "before": len(ts) - len(after), "after": len(after),
            "first_after_s": round(after[0] - t_f, 2) if after else None,
            "last_s": round(ts[-1] - tr.t0, 1)}
    took = (ann.get(fo["to"]) or {}).get("first_after_s")
    base = run.ts_base or {}
    base = (base["net_ms"] - base["wall_ms"]) if base.get("net_ms") is not None else None
    # the new source's own offset from the host clock: its status lines (a board) or its
    # network time now (a reference router)
    if fo["to"] in run.consoles:
        src = [x for x in _offsets(run.consoles[fo["to"]].net) if x[0] >= (t_f + (took or 0)) * 1000]
    else:
        now = run.refs[fo["to"]].call("time") or {}
        src = [(0, now["net_ms"] - now["wall_ms"])] if now.get("net_ms") is not None else []
    boards = {}
    for b in run.sc["boards"]:
        offs = _offsets(run.consoles[b["name"]].net)
        before = [o - base for h, o in offs if h < t_f * 1000] if base is not None else []
        after = [(h, o) for h, o in offs if took is not None and h >= (t_f + took) * 1000]
        rel = [o - _near(src, h) for h, o in after] if src else []
        row = {"before_from_old": _stats(before),
               "after_from_old": _stats([o - base for _h, o in after] if base is not None
                                        else []),
               "after_from_new": _stats(rel) if b["name"] != fo["to"] else None}
        if b["name"] != fo["to"]:
            row["relocked"] = len(rel) >= 2 and all(abs(x) <= RELOCK_MS for x in rel[-2:])
        boards[b["name"]] = row
    old = run.refs[fo["from"]].call("time") if fo["how"] == "withdraw" else None
    old_off = None
    if old and old.get("net_ms") is not None and src:
        old_off = round(old["net_ms"] - old["wall_ms"] - src[-1][1], 1)
    return {"at_s": fo["at_s"], "from": fo["from"], "to": fo["to"], "how": fo["how"],
            "announces": ann, "takeover_s": took, "announcing_at_end": sorted(at_end),
            "boards": boards,
            "old_source_from_new_ms": old_off,
            "relocked": all(r.get("relocked", True) for r in boards.values()) and took is not None}


def rotation_report(run):
    rots = getattr(run, "rotations", None)
    if not rots:
        return []
    tr = run.tracker
    end = snapshot(run)
    out = []
    for i, r in enumerate(rots):
        t_r = r["t"]
        t_next = rots[i + 1]["t"] if i + 1 < len(rots) else None
        types = {}
        for name in sorted(tr.require_on):
            ts = tr.timed.get(name, [])
            types[name] = {"delivered_before": sum(1 for t in ts if t < t_r),
                           "delivered_after": sum(1 for t in ts if t >= t_r and
                                                  (t_next is None or t < t_next)),
                           "old_key_frames_after": sum(
                               1 for t in tr.old_key.get(name, ())
                               if t >= t_r and (t_next is None or t < t_next)),
                           "clear_arrivals_after": sum(
                               1 for t in tr.clear_rx.get(name, ())
                               if t >= t_r and (t_next is None or t < t_next))}
        nodes = {}
        until = rots[i + 1]["before"] if i + 1 < len(rots) else end
        for n, now in sorted(until.items()):  # (after: until the next rotation)
            was = r["before"].get(n, {})
            row = {"e2e_drops_before": was.get("e2e_drops", 0),
                   "e2e_drops_after": now.get("e2e_drops", 0) - was.get("e2e_drops", 0)}
            if "open_failures" in now:  # a --fast board: failed opens, and the rest (in clear)
                row["open_failures_after"] = now["open_failures"] - was.get("open_failures", 0)
                row["clear_rejected_after"] = row["e2e_drops_after"] - row["open_failures_after"]
                row["require_on_clear_accepted_after"] = sum(
                    v[1] - was.get("handled", {}).get(k, [0, 0])[1]
                    for k, v in now["handled"].items() if _name(int(k)) in tr.require_on)
            if "why" in now:  # a reference node: its errors (drops) by reason
                row["errors_after"] = {w: c - was.get("why", {}).get(w, 0)
                                       for w, c in now["why"].items()
                                       if c > was.get("why", {}).get(w, 0)}
            nodes[n] = row
        out.append({"at_s": r["at_s"], "nodes": r["nodes"], "key": r["key"], "types": types,
                    "by_node": nodes})
    return out


def _name(ty):
    import report
    return report._type_name(ty)


def report(run):
    """The report.json sections: "time_source_failover" and "key_rotations"."""
    tr = run.tracker
    return {"time_source_failover": failover_report(run), "key_rotations": rotation_report(run),
            "e2e_clear_arrivals": dict(tr.clear_by_node)}


def _fmt(st):
    return "n/a" if not st else "%+.1f ms (last of %d; min %+.1f, max %+.1f)" % (
        st["last_ms"], st["samples"], st["min_ms"], st["max_ms"])


def text(rep):
    lines = []
    fo = rep.get("time_source_failover")
    if fo:
        lines.append("time source failover at %.1f s: %s %s, %s took over %s" % (
            fo["at_s"], fo["from"], "withdrew its clock" if fo["how"] == "withdraw" else "left",
            fo["to"], "after %.2f s" % fo["takeover_s"] if fo["takeover_s"] is not None
            else "NEVER"))
        lines.append("  TIME_SYNC announces (before/after): " + ", ".join(
            "%s %d/%d" % (s, a["before"], a["after"]) for s, a in sorted(fo["announces"].items()))
            + "; announcing at the end: %s%s" % (
                ", ".join(fo["announcing_at_end"]) or "nobody",
                "" if fo["announcing_at_end"] == [fo["to"]] else " (NOT the backup alone)"))
        for name, b in sorted(fo["boards"].items()):
            lines.append("  %-10s before, from %s: %s" % (name, fo["from"],
                                                         _fmt(b["before_from_old"])))
            if b["after_from_new"] is not None:
                lines.append("  %-10s after, from %s: %s%s" % (
                    "", fo["to"], _fmt(b["after_from_new"]),
                    " (re-locked)" if b.get("relocked") else " (NOT re-locked)"))
            else:
                lines.append("  %-10s the new source, after: from the old time %s" % (
                    "", _fmt(b["after_from_old"])))
        if fo.get("old_source_from_new_ms") is not None:
            lines.append("  %s (now a consumer) from %s at the end: %+.1f ms" % (
                fo["from"], fo["to"], fo["old_source_from_new_ms"]))
    for r in rep.get("key_rotations", ()):
        lines.append("key rotation at %.1f s to %s on %s:" % (r["at_s"], r["key"],
                                                                ", ".join(r["nodes"])))
        for name, t in sorted(r["types"].items()):
            lines.append("  %s delivered: %d before, %d after; after it, frames sealed with an "
                         "earlier key seen %d, frames that reached a node in clear %d" % (
                             name, t["delivered_before"], t["delivered_after"],
                             t["old_key_frames_after"], t["clear_arrivals_after"]))
        for n, row in sorted(r["by_node"].items()):
            extra = ""
            if "open_failures_after" in row:
                extra = (": failed opens %d, in clear rejected %d, RequireOn accepted in clear "
                         "%d" % (row["open_failures_after"], row["clear_rejected_after"],
                                 row["require_on_clear_accepted_after"]))
            if row.get("errors_after"):
                extra = "; errors after: " + "; ".join(
                    "%s x%d" % kv for kv in sorted(row["errors_after"].items()))
            lines.append("  %-10s E2E drops %d before, %d after%s" % (
                n, row["e2e_drops_before"], row["e2e_drops_after"], extra))
    return lines
