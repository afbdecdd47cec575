# Message layer above framing. Payload = type (u8) | request id (u16, big-endian) | JSON body (UTF-8).
# A response has the request's id and type | 0x80; ERROR (0xFF) also echoes the id.
# Events are pushed by the board with type EVENT and their own sequence number as id.
import json

PROTO_VERSION = 2

HELLO = 0x01
PING = 0x02
STATUS = 0x03
LED = 0x04
BEEP = 0x05
TEMP = 0x06
MAINT = 0x07
CLEAR_TAMPER = 0x08
EVENT = 0x40
REPLY = 0x80
ERROR = 0xFF

NAMES = {
    HELLO: "HELLO",
    PING: "PING",
    STATUS: "STATUS",
    LED: "LED",
    BEEP: "BEEP",
    TEMP: "TEMP",
    MAINT: "MAINT",
    CLEAR_TAMPER: "CLEAR_TAMPER",
    EVENT: "EVENT",
    ERROR: "ERROR",
}


class ProtocolError(ValueError):
    pass


def pack(mtype, req_id, body=None):
    data = b"" if body is None else json.dumps(body).encode()
    return bytes((mtype & 0xFF, (req_id >> 8) & 0xFF, req_id & 0xFF)) + data


def unpack(payload):
    if len(payload) < 3:
        raise ProtocolError("short payload")
    mtype = payload[0]
    req_id = (payload[1] << 8) | payload[2]
    body = None
    if len(payload) > 3:
        try:
            body = json.loads(bytes(payload[3:]).decode())
        except (ValueError, UnicodeError):
            raise ProtocolError("body is not JSON")
        if not isinstance(body, dict):
            raise ProtocolError("body is not an object")
    return mtype, req_id, body
