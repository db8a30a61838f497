# What an end-to-end origin (reliable_origin.Origin, a mixin of it) remembers of the holders it
# sends to: each one's round trip (RFC 6298, the resend timer), when it last ACKed and on which
# sides, and each reliable type's last holders discovery named. A holder that still ACKs is
# alive when discovery has forgotten it (a lossy link can lose its announcements for 30 s while
# data gets through): logs of its types keep their contract to it (grace()), as the pending
# frames keep it (Origin.poll), instead of going hop by hop untracked (README, differences).
import sys

from .compat import const
from .reliable_e2e import peers

_RETRANSMIT_MS = const(200)  # 4.2.7's default (tuning.py), used while tuning.py is not loaded
_RTT_BYTES = const(64)  # a holder's record and its dict slot (32-bit heap, measured)
_MAX_RTT = const(16)  # holders we remember
_TYPE_BYTES = const(40)  # a type's holder list and its dict slot, plus 4 B per holder
_MAX_TYPES = const(16)  # reliable types whose last holders we remember
ALIVE_MS = const(30000)  # discovery's TTL: a holder ACKing within it is alive
# a holder's record: [srtt (-1: no sample yet), rttvar, timeout, last ACK ms (-1: none),
#                     sides of its last ACKed frame]
_LAST = const(3)
_SIDES = const(4)


def _base():
    t = sys.modules.get("sedsnet.tuning")  # (reliable_retransmit_ms: tuning.py's index 5)
    return _RETRANSMIT_MS if t is None else t._values[5]


class Holders:
    """Mixin of Origin (which sets node, bytes, pend): the holders' table (rtt) and the
    types' last holders (known), both bounded and charged to max_queue_budget."""

    def _holders_init(self):
        self.rtt = {}  # holder hash -> record (above)
        self.known = {}  # reliable type -> sorted holder hashes discovery last named for it
        self.graced = 0  # logs contracted to remembered holders

    def alive(self, holder, now):
        """True when holder sent an E2E ACK within discovery's TTL (and did not LEAVE)."""
        r = self.rtt.get(holder)
        return r is not None and r[_LAST] >= 0 and now - r[_LAST] <= ALIVE_MS

    def know(self, ty, hold):
        """Discovery names hold (sorted hashes) as the holders of ty: remember them."""
        old = self.known.get(ty)
        if old == hold:
            return
        bud = self.node._budget
        if old is not None:
            self._give(_TYPE_BYTES + 4 * len(old))
            del self.known[ty]
        elif len(self.known) >= _MAX_TYPES:
            k = next(iter(self.known))
            self._give(_TYPE_BYTES + 4 * len(self.known.pop(k)))
        cost = _TYPE_BYTES + 4 * len(hold)
        if bud.take(cost):
            self.bytes += cost
            self.known[ty] = hold

    def grace(self, ty, eps, hold, now):
        """{holder: side mask} of ty's holders when some that discovery last named for it
        are alive but not named now (forgotten, or known without any of eps): hold
        (discovery's holders: their sides now; or None) and those (the sides of their last
        ACK). None when there is no such holder (4.2.7's behaviour: discovery's holders, or
        hop by hop, or "no discovered route"), so never for a type no holder was named for."""
        last = self.known.get(ty)
        if last is None:
            return None
        m = peers(self.node)
        out = None
        for x in last:
            if (hold is not None and x in hold) or not self.alive(x, now) or \
                    not self.rtt[x][_SIDES]:
                continue
            p = m.get(x)
            if p is not None:
                for e in eps:
                    if e in p[1]:
                        break
                else:
                    p = None
            if p is None:  # (discovery does not name it for eps: graced)
                if out is None:
                    out = {}
                    for h in hold or ():
                        out[h] = m[h][0]
                out[x] = self.rtt[x][_SIDES]
        return out

    def acked_by(self, holder, sides, now):
        """holder's E2E ACK of a frame sent toward it on sides came at now."""
        r = self._timer(holder, _base())
        if r is not None:
            r[_LAST] = now
            r[_SIDES] = sides

    def gone(self, holder):
        """holder LEFT: not alive any more, whatever it ACKed."""
        r = self.rtt.get(holder)
        if r is not None:
            r[_LAST] = -1

    def _give(self, n):
        self.node._budget.give(n)
        self.bytes -= n

    def _timer(self, holder, base):
        """A holder's record, made on first need (at most _MAX_RTT holders, one forgotten for
        a new one; None when the budget is spent)."""
        r = self.rtt.get(holder)
        if r is None:
            if len(self.rtt) >= _MAX_RTT:
                self.rtt.pop(next(iter(self.rtt)))
                self._give(_RTT_BYTES)
            if not self.node._budget.take(_RTT_BYTES):
                return None
            self.bytes += _RTT_BYTES
            r = self.rtt[holder] = [-1, 0, base, -1, 0]
        return r

    def _ack_time(self, holder, at, t0, tries):
        # Karn's rule: the ACK of a resent frame may answer any copy, so it is no sample;
        # except the first one of a holder, taken from the first send (an upper bound: a
        # path slower than the fixed timer gets every frame resent, and would never be
        # measured). No backoff: a silent holder is resent to on 4.2.7's fixed schedule.
        now = self.node.now_ms()
        if not tries:
            self._sample(holder, now - at)
        else:
            r = self.rtt.get(holder)
            if r is None or r[0] < 0:
                self._sample(holder, now - t0)

    def _sample(self, holder, rtt):
        # RFC 6298 in integer ms (gains 1/8 and 1/4); the timeout is srtt + max(4 rttvar,
        # half the fixed timeout: the polling granularity), never below 4.2.7's fixed one
        base = _base()
        r = self._timer(holder, base)
        if r is None:
            return
        if r[0] < 0:
            r[0] = rtt
            r[1] = rtt // 2
        else:
            d = rtt - r[0]
            r[0] += d // 8
            r[1] += ((d if d >= 0 else -d) - r[1]) // 4
        t = r[0] + max(4 * r[1], base // 2)
        r[2] = t if t > base else base

    def rto(self, miss):
        """Resend timeout of an entry missing the holders in miss: the longest of their
        timeouts, which are 4.2.7's fixed reliable_retransmit_ms until a round trip is
        measured and then follow it (_sample), at most 8x the fixed one: a slow path is not
        sent resends whose ACKs are still on their way."""
        base = _base()
        t = base
        for x in miss:
            r = self.rtt.get(x)
            if r is not None and r[2] > t:
                t = r[2]
        return t if t < 8 * base else 8 * base
