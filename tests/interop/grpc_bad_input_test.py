#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Bad input at the HTTP/2 level against our gRPC server (ttrpc-grpc-c-server),
sent with python3-h2 (header validation off, so anything can be sent) or as
raw bytes: each gets what the gRPC spec (PROTOCOL-HTTP2.md) says, the server
never crashes, and a well-behaved connection beside it keeps being served.

usage: grpc_bad_input_test.py PATH/ttrpc-grpc-c-server"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

import h2.config
import h2.connection
import h2.events
import h2.settings

SERVER = None
LIMIT = 4 << 20  # the server's default message limit
PATH = "/interop.Echo/Echo"


def prefix(n, compressed=False):
    return struct.pack(">BI", 1 if compressed else 0, n)


def grpc_headers(path=PATH, content_type="application/grpc", method="POST", extra=()):
    h = [(":method", method), (":scheme", "http"), (":path", path), (":authority", "localhost")]
    if content_type is not None:
        h.append(("content-type", content_type))
    h.append(("te", "trailers"))
    return h + list(extra)


class Conn:
    """One HTTP/2 client connection, h2's state machine over a unix socket."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(10)
        self.sock.connect(path)
        cfg = h2.config.H2Configuration(client_side=True, validate_outbound_headers=False,
                                        normalize_outbound_headers=False, validate_inbound_headers=False)
        self.h2 = h2.connection.H2Connection(cfg)
        self.h2.initiate_connection()
        self.h2.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 16 << 20})
        self.h2.increment_flow_control_window(16 << 20)
        self.flush()
        self.streams = {}  # id -> {"headers", "data", "trailers", "reset"}
        self.terminated = None
        self.closed = False

    def flush(self):
        data = self.h2.data_to_send()
        if data:
            self.sock.sendall(data)

    def pump(self, until, timeout=10):
        deadline = time.monotonic() + timeout
        while not until() and not self.closed:
            if time.monotonic() > deadline:
                raise AssertionError("timed out")
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                self.closed = True
                break
            for ev in self.h2.receive_data(data):
                self.event(ev)
            self.flush()

    def event(self, ev):
        st = self.streams.setdefault(getattr(ev, "stream_id", 0) or 0, {"data": b""})
        if isinstance(ev, h2.events.ResponseReceived):
            st["headers"] = dict((k.decode(), v.decode()) for k, v in ev.headers)
        elif isinstance(ev, h2.events.TrailersReceived):
            st["trailers"] = dict((k.decode(), v.decode()) for k, v in ev.headers)
        elif isinstance(ev, h2.events.DataReceived):
            st["data"] += ev.data
            self.h2.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.StreamReset):
            st["reset"] = ev.error_code
        elif isinstance(ev, h2.events.StreamEnded):
            st["ended"] = True
        elif isinstance(ev, h2.events.ConnectionTerminated):
            self.terminated = ev.error_code
        elif isinstance(ev, h2.events.PingAckReceived):
            self.streams[0]["ping"] = ev.ping_data

    def request(self, headers, body=b"", end=True):
        sid = self.h2.get_next_available_stream_id()
        self.h2.send_headers(sid, headers, end_stream=end and not body)
        if body:
            self.h2.send_data(sid, body, end_stream=end)
        self.flush()
        return sid

    def answer(self, sid, timeout=10):
        """(http status, grpc-status, grpc-message, data) once the stream is done."""
        self.pump(lambda: "ended" in self.streams.get(sid, {}) or "reset" in self.streams.get(sid, {}), timeout)
        st = self.streams.get(sid, {})
        h = dict(st.get("headers", {}))
        h.update(st.get("trailers", {}))
        code = h.get("grpc-status")
        return h.get(":status"), int(code) if code is not None else None, h.get("grpc-message"), st.get("data")

    def close(self):
        self.sock.close()


class BadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="grpc-bad-")
        cls.gsock = os.path.join(cls.dir, "grpc.sock")
        cls.proc = subprocess.Popen([SERVER, "--socket", os.path.join(cls.dir, "ttrpc.sock"), "--grpc-socket",
                                     cls.gsock], stdout=subprocess.PIPE, text=True)
        for line in cls.proc.stdout:
            if line.strip() == "ready":
                break
        cls.good = Conn(cls.gsock)  # lives through every test

    @classmethod
    def tearDownClass(cls):
        cls.good.close()
        if cls.proc.poll() is None:
            cls.proc.terminate()
            cls.assert_exit(cls.proc.wait(timeout=10))
        shutil.rmtree(cls.dir, ignore_errors=True)

    @staticmethod
    def assert_exit(code):
        if code != 0:
            raise AssertionError("server exit status %d" % code)

    def tearDown(self):
        # after each bad input: the server is alive and the good connection is served
        self.assertIsNone(self.proc.poll(), "server died")
        sid = self.good.request(grpc_headers(), prefix(2) + b"ok")
        self.assertEqual(self.good.answer(sid), ("200", 0, None, prefix(2) + b"ok"))

    def conn(self):
        c = Conn(self.gsock)
        self.addCleanup(c.close)
        return c

    def call(self, headers, body, end=True):
        c = self.conn()
        return c.answer(c.request(headers, body, end))

    def test_good_call(self):
        self.assertEqual(self.call(grpc_headers(), prefix(5) + b"hello"), ("200", 0, None, prefix(5) + b"hello"))
        self.assertEqual(self.call(grpc_headers(content_type="application/grpc+proto"), prefix(1) + b"x")[1], 0)

    def test_missing_content_type_415(self):
        status, code, _, _ = self.call(grpc_headers(content_type=None), prefix(1) + b"x")
        self.assertEqual(status, "415")

    def test_wrong_content_type_415(self):
        for ct in ("application/json", "text/plain", "application/grpcx", "application/grpc-web"):
            status, _, _, _ = self.call(grpc_headers(content_type=ct), prefix(1) + b"x")
            self.assertEqual(status, "415", ct)

    def test_get_is_not_a_grpc_call(self):
        status, _, _, _ = self.call(grpc_headers(method="GET"), b"")
        self.assertEqual(status, "405")

    def test_compressed_flag_without_encoding_internal(self):
        self.assertEqual(self.call(grpc_headers(), prefix(1, compressed=True) + b"x")[:2], ("200", 13))

    def test_length_larger_than_data_internal(self):
        status, code, msg, _ = self.call(grpc_headers(), prefix(100) + b"only ten b")
        self.assertEqual((status, code), ("200", 13))
        self.assertIn("truncated", msg)

    def test_truncated_prefix_internal(self):
        self.assertEqual(self.call(grpc_headers(), b"\x00\x00\x00")[:2], ("200", 13))

    def test_no_message_internal(self):
        self.assertEqual(self.call(grpc_headers(), b"")[:2], ("200", 13))

    def test_two_messages_for_unary_internal(self):
        self.assertEqual(self.call(grpc_headers(), prefix(1) + b"a" + prefix(1) + b"b")[:2], ("200", 13))

    def test_unsupported_encoding_unimplemented(self):
        for enc in ("gzip", "deflate", "snappy"):
            hdrs = grpc_headers(extra=[("grpc-encoding", enc)])
            status, code, msg, _ = self.call(hdrs, prefix(1, compressed=True) + b"x")
            self.assertEqual((status, code), ("200", 12), enc)
            self.assertIn(enc, msg)
        # identity is fine
        self.assertEqual(self.call(grpc_headers(extra=[("grpc-encoding", "identity")]), prefix(1) + b"x")[1], 0)

    def test_oversized_resource_exhausted_before_the_data(self):
        c = self.conn()
        # only the prefix: the limit is known from it, no need to wait for 4 MiB
        sid = c.request(grpc_headers(), prefix(LIMIT + 1), end=False)
        status, code, _, _ = c.answer(sid)
        self.assertEqual((status, code), ("200", 8))

    def test_malformed_grpc_timeout_internal(self):
        for t in ("abc", "1", "123456789S", "-1S"):
            self.assertEqual(self.call(grpc_headers(extra=[("grpc-timeout", t)]), prefix(1) + b"x")[1], 13, t)

    def test_bad_paths_unimplemented(self):
        for path in ("/", "//", "/interop.Echo", "/interop.Echo/", "/interop.Echo/Echo/extra"):
            self.assertEqual(self.call(grpc_headers(path=path), prefix(1) + b"x")[1], 12, path)
        # not even an HTTP/2 request (a :path must start with "/"): nghttp2 resets it, PROTOCOL_ERROR
        c = self.conn()
        sid = c.request(grpc_headers(path="nopath"), prefix(1) + b"x")
        c.answer(sid)
        self.assertEqual(c.streams[sid].get("reset"), 1)

    def test_oversized_header_list(self):
        hdrs = grpc_headers(extra=[("x-big", "v" * 20000)])
        status, code, _, _ = self.call(hdrs, prefix(1) + b"x")
        self.assertEqual((status, code), ("200", 8))

    def test_too_many_concurrent_streams_refused(self):
        c = self.conn()
        c.pump(lambda: c.h2.remote_settings.max_concurrent_streams < 2 ** 31)
        limit = c.h2.remote_settings.max_concurrent_streams
        self.assertEqual(limit, 1024)
        # lift h2's own guard so that one stream too many goes out
        c.h2.remote_settings._settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS].appendleft(limit + 10)
        sids = [c.request(grpc_headers(path="/interop.Echo/Sleep"), prefix(4) + b"5000") for _ in range(limit + 1)]
        c.pump(lambda: "reset" in c.streams.get(sids[-1], {}) or c.terminated is not None)
        self.assertTrue(c.streams.get(sids[-1], {}).get("reset") in (3, 7) or c.terminated is not None)

    def test_invalid_hpack_goaway(self):
        c = self.conn()
        c.pump(lambda: c.h2.remote_settings.max_concurrent_streams < 2 ** 31)
        # HEADERS on stream 1, END_HEADERS, a block that is no valid HPACK (index 0 / past the table)
        block = b"\x80\xff\xff\xff\xff\x0f"
        c.sock.sendall(struct.pack(">I", len(block))[1:] + b"\x01\x04" + struct.pack(">I", 1) + block)
        c.pump(lambda: c.terminated is not None)
        self.assertEqual(c.terminated, 9)  # COMPRESSION_ERROR
        c.pump(lambda: False, timeout=5)  # then the server closes
        self.assertTrue(c.closed)

    def test_http1_request_closed(self):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(self.gsock)
        s.sendall(b"POST /interop.Echo/Echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/grpc\r\n\r\n")
        got = b""
        while True:
            d = s.recv(4096)
            if not d:
                break
            got += d
        s.close()
        self.assertNotIn(b"HTTP/1.1 200", got)

    def test_garbage_and_half_preface(self):
        for junk in (os.urandom(4096), b"PRI * HTTP/2.0\r\n", b"\x00" * 64):
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(10)
            s.connect(self.gsock)
            s.sendall(junk)
            s.shutdown(socket.SHUT_WR)
            while s.recv(4096):
                pass
            s.close()

    def test_client_reset_mid_request(self):
        c = self.conn()
        sid = c.request(grpc_headers(), prefix(100) + b"part", end=False)
        c.h2.reset_stream(sid)
        c.flush()
        sid2 = c.request(grpc_headers(), prefix(1) + b"z")
        self.assertEqual(c.answer(sid2)[1], 0)

    def test_ping_answered(self):
        c = self.conn()
        c.h2.ping(b"12345678")
        c.flush()
        c.pump(lambda: c.streams.get(0, {}).get("ping") is not None)
        self.assertEqual(c.streams[0]["ping"], b"12345678")

    def test_data_on_unknown_stream(self):
        c = self.conn()
        c.pump(lambda: c.h2.remote_settings.max_concurrent_streams < 2 ** 31)
        # DATA on stream 99, never opened: a connection error (PROTOCOL_ERROR or STREAM_CLOSED)
        c.sock.sendall(b"\x00\x00\x05\x00\x01" + struct.pack(">I", 99) + prefix(0))
        c.pump(lambda: c.terminated is not None)
        self.assertIn(c.terminated, (1, 5))


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
