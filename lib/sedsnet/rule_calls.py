# What a route rule call does beside setting the rule, as 4.2.7 (docs/router-interop.md
# section 9): on a Router every set_/clear_ call of route rules, modes, weights and priorities
# is a discovery change (a 3-round ADDRESS burst on every side, which also fills the links' load
# windows), and a mode or weight call restarts that source's route cursor. Installed on Node
# by announce.py, so a node without discovery code carries none of it.
_RESET = ("set_source_route_mode", "clear_source_route_mode", "set_route_weight",
          "clear_route_weight")
_NAMES = _RESET + ("set_route", "clear_route", "set_typed_route", "clear_typed_route",
                   "set_route_priority", "clear_route_priority")


def _wrap(f, reset):
    def rule(self, src_side_id, *args):
        f(self, src_side_id, *args)  # (a bad argument raises here, before any side effect)
        if reset:
            self._routes.cursor.pop(self._src(src_side_id), None)
        if self.discovery is not None and self.kind != "relay":
            self.discovery._changed = True  # (4.2.7's Relay has no rule calls to copy)
    try:
        rule.__doc__ = f.__doc__  # (CPython; MicroPython functions take no attributes)
        rule.__name__ = f.__name__
    except AttributeError:
        pass
    return rule


def install(cls):
    for name in _NAMES:
        f = getattr(cls, name, None)
        if f is not None and not getattr(cls, "_rule_calls", False):
            setattr(cls, name, _wrap(f, name in _RESET))
    cls._rule_calls = True
