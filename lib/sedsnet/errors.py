# The SedsError family: every bad frame, schema or argument surfaces as one of these, so callers
# (and side drivers, which count and drop) catch one base class.


class SedsError(Exception):
    """Base of every error sedsnet raises on purpose."""


class DecodeError(SedsError):
    """A frame (or part of one) is malformed: truncated, bad CRC, bad varint, bad field."""


class CompressedFrameError(DecodeError):
    """The frame's payload is zstd-compressed (FLAGS 0x01) and no zstd decoder is available.

    The reference's Packet.pack() compresses payloads of 128 bytes or more; its routers do not.
    Raise the producer's payload_compress_threshold or talk to routers to avoid such frames.
    """


class UnknownTypeError(SedsError):
    """A data type ID that is not in the runtime schema (the reference's InvalidType)."""


class SchemaError(SedsError):
    """A schema entry (or schema JSON document) is invalid; the message names entry and field."""


class ArgumentError(SedsError):
    """A bad argument to a public call (the reference raises ValueError/RuntimeError there;
    MicroPython cannot derive from two exception bases, so this is a SedsError only)."""


class PermissionDenied(SedsError):
    """The router lacks read or write permission for a network variable."""


class BudgetError(SedsError):
    """A single item can never fit the router's shared queue budget."""


class E2EError(SedsError):
    """End-to-end crypto: no key for a type that must be encrypted (nothing was sent), a full
    keyring, or a wrapped frame that fails to open (dropped and counted as `e2e`)."""


class IoError(SedsError):
    """A frame could not be sent anywhere: 4.2.7's Io error ("no discovered route" when a
    reliable frame logged or transmitted now has endpoints elsewhere and no side leads there)."""
