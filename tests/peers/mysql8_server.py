"""A MySQL 8.0 server stand-in for capture tests: it speaks enough of the client/server
protocol for a real client (mysql-connector-python) to connect and run queries with query
attributes — a v10 handshake that offers CLIENT_QUERY_ATTRIBUTES (and
CLIENT_DEPRECATE_EOF), mysql_native_password accepted for any user, an OK for every
statement except SELECT, which answers a one-column, one-row result set (with EOF packets or
without, as the client asks). The client's
packets are the library's own; this is only the other end.

    python3 mysql8_server.py ADDRESS PORT
"""

import socket
import struct
import sys
import threading

CLIENT_LONG_PASSWORD = 0x1
CLIENT_CONNECT_WITH_DB = 0x8
CLIENT_PROTOCOL_41 = 0x200
CLIENT_TRANSACTIONS = 0x2000
CLIENT_SECURE_CONNECTION = 0x8000
CLIENT_MULTI_RESULTS = 0x20000
CLIENT_PLUGIN_AUTH = 0x80000
CLIENT_CONNECT_ATTRS = 0x100000
CLIENT_PLUGIN_AUTH_LENENC = 0x200000
CLIENT_DEPRECATE_EOF = 0x1000000
CLIENT_QUERY_ATTRIBUTES = 0x8000000
CAPS = (CLIENT_LONG_PASSWORD | CLIENT_CONNECT_WITH_DB | CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS
        | CLIENT_SECURE_CONNECTION | CLIENT_MULTI_RESULTS | CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_ATTRS
        | CLIENT_PLUGIN_AUTH_LENENC | CLIENT_DEPRECATE_EOF | CLIENT_QUERY_ATTRIBUTES)


def packet(seq, payload):
    return struct.pack("<I", len(payload))[:3] + bytes([seq & 0xFF]) + payload


def read_packet(conn):
    head = b""
    while len(head) < 4:
        chunk = conn.recv(4 - len(head))
        if not chunk:
            return None, None
        head += chunk
    length = int.from_bytes(head[:3], "little")
    body = b""
    while len(body) < length:
        chunk = conn.recv(length - len(body))
        if not chunk:
            return None, None
        body += chunk
    return head[3], body


def lenenc_str(text):
    data = text.encode()
    return bytes([len(data)]) + data


def ok(seq, header=0x00):
    # OK: affected rows 0, last insert id 0, status SERVER_STATUS_AUTOCOMMIT, warnings 0.
    return packet(seq, bytes([header, 0, 0]) + struct.pack("<HH", 0x0002, 0))


def eof(seq):
    return packet(seq, b"\xfe" + struct.pack("<HH", 0, 0x0002))


def result_set(seq, deprecate_eof):
    column = (lenenc_str("def") + lenenc_str("") + lenenc_str("") + lenenc_str("") + lenenc_str("version")
              + lenenc_str("") + bytes([0x0C]) + struct.pack("<HIBHB", 33, 64, 0xFD, 0, 0) + b"\x00\x00")
    out = packet(seq, b"\x01")                         # one column
    out += packet(seq + 1, column)
    if deprecate_eof:
        out += packet(seq + 2, lenenc_str("8.0.36"))   # one row
        return out + ok(seq + 3, header=0xFE)          # the end of rows
    out += eof(seq + 2)
    out += packet(seq + 3, lenenc_str("8.0.36"))
    return out + eof(seq + 4)


def serve(conn):
    with conn:
        salt = b"abcdefgh" + b"ijklmnopqrst"
        greeting = (b"\x0a" + b"8.0.36\x00" + struct.pack("<I", 7) + salt[:8] + b"\x00"
                    + struct.pack("<H", CAPS & 0xFFFF) + bytes([255]) + struct.pack("<H", 0x0002)
                    + struct.pack("<H", CAPS >> 16) + bytes([21]) + b"\x00" * 10 + salt[8:] + b"\x00"
                    + b"mysql_native_password\x00")
        conn.sendall(packet(0, greeting))
        seq, response = read_packet(conn)                # HandshakeResponse41
        if seq is None or len(response) < 4:
            return
        deprecate_eof = bool(struct.unpack("<I", response[:4])[0] & CAPS & CLIENT_DEPRECATE_EOF)
        conn.sendall(ok(seq + 1))
        while True:
            seq, body = read_packet(conn)
            if body is None or not body or body[0] == 0x01:    # gone, or COM_QUIT
                return
            if body[0] == 0x03 and b"SELECT" in body.upper():
                conn.sendall(result_set(seq + 1, deprecate_eof))
            else:
                conn.sendall(ok(seq + 1))


def main():
    server = socket.create_server((sys.argv[1], int(sys.argv[2])))
    while True:
        conn, _ = server.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
