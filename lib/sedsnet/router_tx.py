# A Router's less common send paths (router_log.py's Logging calls them): logs that are sealed
# (E2E), sent to discovered holders with a contract (reliable_origin.py) or queued into the TX
# ring (queue=True, or from inside a handler or tx callback), and whole packets and frames
# (transmit_*). Loaded by the first such call: a plain log goes out without this module.
from .compat import const
from .engine import check_frame_arg
from .errors import ArgumentError, DecodeError
from .kernels import copy_into
from .ring import HDR
from .schema import R_E2E, R_EPS, R_PRIORITY, R_RELIABLE, type_record
from .wire import frame_size, pack_into, uleb_len

_REL_UNSEQ = const(0x84)  # REL_UNSEQUENCED | REL_HAS_SEQ: "84 00" on a plain side
_E2E_MODE = const(10)  # index of e2e_mode in Router._opts (options.NAMES)
_TX_TAG = const(0xFE)  # ring tag of queued TX frames (0xFF marks a taken record)


def log(r, ty, rec, n, ts, nonce, queue):
    """Router._log_frame's frame (payload r._pay_buf[:n], its timestamp and nonce taken) when
    it is E2E, reliable or queued: True when it went one of those ways, False to send it as a
    plain log."""
    payload = r._pay_views.get(n)
    eps = rec[R_EPS]
    rel = _REL_UNSEQ if rec[R_RELIABLE] else -1
    if rec[R_E2E] or r._opts[_E2E_MODE] == 3:  # encrypt, clear or refuse
        from . import e2e_frame
        kid = e2e_frame.send_key(r, rec)
        if kid >= 0:
            size = _size(ty, r.src_addr, eps, ts, nonce, payload, rel)
            e2e_frame.log_sealed(r, kid, ty, rec, payload, ts, nonce, rel, eps, size, queue)
            return True
    if rel > 0 and r.discovery and r.discovery.origin(r, ty, rec, payload, ts, nonce, queue):
        return True  # to discovered holders: with a contract, kept until they ACK it
    if queue or r._busy:
        size = _size(ty, r.src_addr, eps, ts, nonce, payload, rel)
        tx = r._tx
        p = tx.reserve(size, True)
        if p < 0:
            raise ArgumentError("frame of %d bytes does not fit the TX queue" % size)
        pack_into(tx.buf, ty, r.src_addr, eps, ts, nonce, payload, None, rel, 0, 0, p + HDR)
        tx.commit(p, size, _TX_TAG, rec[R_PRIORITY])
        r._nested = r._nested or r._busy
        return True
    return False


def transmit(r, data, queue):
    """transmit_packed_message(_queue) of frame data (transmit_message: the Packet's frame)."""
    check_frame_arg(data)
    hdr = r._hdr if not r._busy else None
    if hdr is None:
        from .wire import FrameHeader
        hdr = FrameHeader(max_endpoints=32)
    hdr.parse(data)  # raises DecodeError for a bad frame, before anything is queued
    rec = type_record(hdr.ty)
    if rec is not None and rec[R_RELIABLE] and r.discovery and \
            r.discovery.origin(r, hdr, rec, data, None, None, queue):
        return  # as a log (reliable_origin.transmit): with a contract, kept until ACKed
    if rec is not None and (rec[R_E2E] or r._opts[_E2E_MODE] == 3):
        from . import e2e_frame
        data = e2e_frame.seal_packed(r, rec, data)  # E2E policy, as log_*
    n = len(data)
    if queue or r._busy:
        if not r._tx.push(data, n, _TX_TAG, rec[R_PRIORITY] if rec else 0, 0, True):
            raise ArgumentError("frame of %d bytes does not fit the TX queue" % n)
        r._nested = r._nested or r._busy
        return
    r._txbuf(n)[:n] = data
    r._originate(n)


def _size(ty, src, eps, ts, nonce, payload, rel):
    eb = 0
    for e in eps:
        eb += uleb_len(e)
    return frame_size(eb, ty, src, ts, nonce, len(payload), -1, rel)


def process(r, deadline):
    """Router._process_tx: the queued frames, best first, until the ring is empty or the
    deadline (ms, -1 none) has passed; how many were sent. Then the ring grows if it wants."""
    done = 0
    tx = r._tx
    was_busy = r._busy
    r._busy = True
    try:
        while True:
            p = tx.best()
            if p < 0:
                break
            n = tx.frame_len(p)
            r._txbuf(n)
            tx.take(p)
            copy_into(r._tx_buf, 0, tx.buf, p + HDR, n)
            try:
                r._originate_busy(n, False)
            except DecodeError:
                pass  # a queued frame that did not parse (transmit_packed_message_queue)
            done += 1
            if deadline >= 0 and r._past(deadline):
                break
    finally:
        r._busy = was_busy
    tx.grow()
    return done
