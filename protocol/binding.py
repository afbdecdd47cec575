"""What a card signs to have its JPKI certificate linked to the resident of a face read (finding 4).

A certificate is linked only when the same card, in the same card session as the face read, signs a
host challenge bound to that read: the card's user-auth key signs `face_bound(challenge, EF01, EF02,
EF03)`, so a certificate (which needs no PIN to read) from another card, or a signature made for
another read, links nothing. The appliance and the host compute the message with this one function.
"""

from __future__ import annotations

import hashlib


def face_bound(challenge: bytes, ef_my_number: bytes, ef_basic_info: bytes, ef_signature: bytes) -> bytes:
    framed = b"".join(len(ef).to_bytes(4, "big") + ef for ef in (ef_my_number, ef_basic_info, ef_signature))
    digest = hashlib.sha256(framed)
    return challenge + b"|FACE-READ|" + digest.hexdigest().encode()
