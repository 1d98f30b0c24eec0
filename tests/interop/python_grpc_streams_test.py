#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""python3-grpcio's client calling our gRPC server's streaming methods
(ttrpc-grpc-c-server: Download, Upload, Chat, Hold) with raw-bytes
serializers, over unix h2c and TCP h2c: messages in order and intact, empty
messages, statuses after messages, many messages past the HTTP/2 windows
(flow control both ways), a handler that pauses (--slow), the per-stream
receive bound (RESOURCE_EXHAUSTED for that stream only), client cancel
(the call is orphaned), streams beside unary calls.

usage: python_grpc_streams_test.py PATH/ttrpc-grpc-c-server"""
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import grpc

SERVER = None
SVC = "/interop.Echo/"


def raw(x):
    return x


BASE = bytes(range(256)) * ((4 << 20) // 256 + 2)


def pattern(i, size):
    return BASE[i & 0xff:(i & 0xff) + size]


def checksum(msgs):
    # what the server computes: each message's byte sum weighted by its position
    return sum((i + 1) * sum(m) for i, m in enumerate(msgs)) & 0xffffffffffffffff


class Server:
    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="grpc-streams-")
        self.gsock = os.path.join(self.dir, "grpc.sock")
        self.proc = subprocess.Popen([SERVER, "--socket", os.path.join(self.dir, "ttrpc.sock"), "--grpc-socket",
                                      self.gsock, "--grpc-tcp", "127.0.0.1:0"] + list(args),
                                     stdout=subprocess.PIPE, text=True)
        port = None
        for line in self.proc.stdout:
            if line.startswith("port "):
                port = int(line.split()[1])
            if line.strip() == "ready":
                break
        assert port, "server did not start"
        opts = [("grpc.max_receive_message_length", 16 << 20), ("grpc.max_send_message_length", 16 << 20)]
        self.channels = {"unix": grpc.insecure_channel("unix:" + self.gsock, options=opts),
                         "tcp": grpc.insecure_channel("127.0.0.1:%d" % port, options=opts)}

    def close(self):
        for c in self.channels.values():
            c.close()
        self.proc.terminate()
        rc = self.proc.wait(timeout=10)
        self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return rc

    def unary(self, name, kind="unix"):
        return self.channels[kind].unary_unary(SVC + name, request_serializer=raw, response_deserializer=raw)

    def stats(self):
        return [int(x) for x in self.unary("Orphans")(b"", timeout=10).split()]

    def orphans(self):
        return self.stats()[0]

    def download(self, kind="unix"):
        return self.channels[kind].unary_stream(SVC + "Download", request_serializer=raw,
                                                response_deserializer=raw)

    def upload(self, name="Upload", kind="unix"):
        return self.channels[kind].stream_unary(SVC + name, request_serializer=raw, response_deserializer=raw)

    def chat(self, kind="unix"):
        return self.channels[kind].stream_stream(SVC + "Chat", request_serializer=raw, response_deserializer=raw)


class StreamsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # a bound above the HTTP/2 stream window: only flow control limits a paused stream
        cls.srv = Server("--stream-buffer", str(16 << 20))

    @classmethod
    def tearDownClass(cls):
        assert cls.srv.close() == 0

    def test_download(self):
        for kind in ("unix", "tcp"):
            for count, size in ((0, 0), (1, 0), (5, 0), (3, 1), (10, 1000), (300, 16384), (40, 1 << 20)):
                got = list(self.srv.download(kind)(b"%d %d" % (count, size), timeout=60))
                self.assertEqual(len(got), count, "%s %d %d" % (kind, count, size))
                for i, m in enumerate(got):
                    self.assertEqual(m, pattern(i, size), "%s message %d of %d" % (kind, i, count))

    def test_download_status_after_messages(self):
        call = self.srv.download()(b"3 10 9", timeout=10)
        got = []
        with self.assertRaises(grpc.RpcError) as e:
            for m in call:
                got.append(m)
        self.assertEqual(got, [pattern(i, 10) for i in range(3)])
        self.assertEqual(e.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertEqual(e.exception.details(), "after 3 messages")

    def test_upload(self):
        for kind in ("unix", "tcp"):
            for msgs in ([], [b""], [b"", b"", b""], [b"a", b"", b"bc"], [os.urandom(70000) for _ in range(3)],
                         [os.urandom(65536) for _ in range(200)], [os.urandom(4 << 20)]):
                got = self.srv.upload(kind=kind)(iter(msgs), timeout=60).decode()
                self.assertEqual(got, "%d %d %d" % (len(msgs), sum(map(len, msgs)), checksum(msgs)),
                                 "%s %d messages" % (kind, len(msgs)))

    def test_chat(self):
        for kind in ("unix", "tcp"):
            msgs = [b"", b"x", b""] + [os.urandom(n) for n in (1, 100, 16385, 1 << 20)] + [b""]
            got = list(self.srv.chat(kind)(iter(msgs), timeout=30))
            self.assertEqual(got, msgs, kind)

    def test_chat_in_turn(self):
        # each answer before the next message: the server streams as it goes
        q = []
        cv = threading.Condition()

        def gen():
            for i in range(20):
                with cv:
                    q.append(b"m%d" % i)
                    yield q[-1]
                    cv.wait_for(lambda: len(q) == 0, timeout=10)

        got = []
        for m in self.srv.chat()(gen(), timeout=30):
            got.append(m)
            with cv:
                q.clear()
                cv.notify_all()
        self.assertEqual(got, [b"m%d" % i for i in range(20)])

    def test_chat_flow_control(self):
        # 64 MiB each way, the client reading slowly: the server's send queue
        # fills, the handler pauses, HTTP/2 windows close and reopen
        msgs = [pattern(i, 1 << 20) for i in range(64)]
        before = self.srv.stats()[1]
        n = 0
        for m in self.srv.chat()(iter(msgs), timeout=60):
            self.assertEqual(m, msgs[n])
            n += 1
            if n % 16 == 0:
                time.sleep(0.2)
        self.assertEqual(n, 64)
        self.assertGreater(self.srv.stats()[1], before, "the send queue never filled")

    def test_download_flow_control(self):
        # a slow reader: the server's queue fills and on_writable resumes it
        before = self.srv.stats()[1]
        n = 0
        for m in self.srv.download()(b"64 1048576", timeout=60):
            self.assertEqual(m[:4], pattern(n, 4))
            n += 1
            if n % 16 == 0:
                time.sleep(0.2)
        self.assertEqual(n, 64)
        self.assertGreater(self.srv.stats()[1], before, "the send queue never filled")

    def test_many_streams_beside_unary(self):
        dl = [self.srv.download()(b"200 4096", timeout=60) for _ in range(16)]
        ups = [self.srv.upload().future(iter([b"z" * 1000] * 100), timeout=60) for _ in range(16)]
        self.assertEqual(self.srv.unary("Echo")(b"beside", timeout=10), b"beside")
        for d in dl:
            self.assertEqual(sum(1 for _ in d), 200)
        for u in ups:
            self.assertEqual(u.result().decode().split()[:2], ["100", "100000"])

    def test_cancel_orphans(self):
        before = self.srv.orphans()
        call = self.srv.download()(b"1000000 1000", timeout=30)
        next(call)
        call.cancel()
        up = self.srv.upload().future(iter(self._forever()), timeout=30)
        time.sleep(0.3)
        up.cancel()
        deadline = time.monotonic() + 10
        while self.srv.orphans() < before + 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.srv.orphans(), before + 2)
        self.assertEqual(self.srv.unary("Echo")(b"after", timeout=10), b"after")

    def test_deadline_on_stream(self):
        with self.assertRaises(grpc.RpcError) as e:
            for _ in self.srv.upload()(iter(self._forever()), timeout=0.5):
                pass
        self.assertEqual(e.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)

    @staticmethod
    def _forever():
        while True:
            time.sleep(0.01)
            yield b"tick"

    def test_unknown_stream_method(self):
        with self.assertRaises(grpc.RpcError) as e:
            self.srv.channels["unix"].stream_stream(SVC + "Nope", request_serializer=raw,
                                                    response_deserializer=raw)(iter([b"a"]), timeout=10).next()
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNIMPLEMENTED)


class BoundsTest(unittest.TestCase):
    def test_receive_bound_fails_that_stream_only(self):
        srv = Server("--stream-buffer", str(1 << 20))
        try:
            with self.assertRaises(grpc.RpcError) as e:
                srv.upload("Hold")(iter([b"h" * 65536] * 40), timeout=30)
            self.assertEqual(e.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
            self.assertIn("receive buffer", e.exception.details())
            self.assertEqual(srv.unary("Echo")(b"still", timeout=10), b"still")
            self.assertEqual(srv.orphans(), 1)
        finally:
            self.assertEqual(srv.close(), 0)

    def test_paused_handler_resumes(self):
        # the handler pauses every 8 messages: its window stays closed until it resumes
        srv = Server("--slow", "--stream-buffer", str(16 << 20))
        try:
            msgs = [pattern(i, 65536) for i in range(300)]
            got = srv.upload()(iter(msgs), timeout=60).decode()
            self.assertEqual(got, "%d %d %d" % (len(msgs), sum(map(len, msgs)), checksum(msgs)))
        finally:
            self.assertEqual(srv.close(), 0)


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
