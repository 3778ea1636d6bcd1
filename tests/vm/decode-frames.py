#!/usr/bin/env python3
"""Decodes a captured guest console (the agent's authenticated frames, src/stack/vm/frame.hpp)
independently of the C++ decoder: prints one line per frame and the non-frame console text.

usage: decode-frames.py CAPTURE SECRET_HEX
Exit status 0 when the stream ends with an authentic exit or failure frame and every frame
number follows the previous one; 1 otherwise.
"""
import hashlib
import hmac
import struct
import sys

MAGIC = b"\x1bGB1"
HEADER = 4 + 1 + 4 + 4 + 8
TAG = 32
MAX_PAYLOAD = 4096
TYPES = {1: "hello", 2: "started", 3: "out", 4: "err", 5: "verdict", 6: "exit", 7: "failure"}


def main():
    data = open(sys.argv[1], "rb").read()
    key = bytes.fromhex(sys.argv[2])
    pos, expect, console, rejected, last = 0, 0, bytearray(), 0, None
    ok = True
    while True:
        at = data.find(MAGIC, pos)
        if at < 0:
            console += data[pos:]
            break
        console += data[pos:at]
        head = data[at:at + HEADER]
        if len(head) < HEADER:
            console += data[at:]
            break
        fields = head[4:13]
        htag = hmac.new(key, b"h" + fields, hashlib.sha256).digest()[:8]
        ftype, seq, length = struct.unpack("<BII", fields)
        if htag != head[13:21] or length > MAX_PAYLOAD:
            rejected += 1
            console += data[at:at + 1]
            pos = at + 1
            continue
        payload = data[at + HEADER:at + HEADER + length]
        tag = data[at + HEADER + length:at + HEADER + length + TAG]
        if tag != hmac.new(key, b"p" + fields + payload, hashlib.sha256).digest():
            rejected += 1
            console += data[at:at + 1]
            pos = at + 1
            continue
        if seq != expect:
            print(f"SEQUENCE ERROR: frame {seq} where {expect} was expected")
            ok = False
        expect = seq + 1
        last = TYPES.get(ftype, str(ftype))
        print(f"frame {seq:3} {last:8} {payload!r}")
        pos = at + HEADER + length + TAG
    print(f"rejected (forged or damaged): {rejected}")
    print("console text:")
    print(console.decode("utf-8", "replace"))
    return 0 if ok and last in ("exit", "failure") else 1


if __name__ == "__main__":
    sys.exit(main())
