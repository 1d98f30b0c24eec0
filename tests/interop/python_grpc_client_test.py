#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""python3-grpcio's client against our gRPC server (ttrpc-grpc-c-server):
echo 0 B to the limit, every status code with message, metadata (text and
binary), deadlines, 64 calls in flight, unknown methods, peer credentials,
cancellation, HTTP/1.1 on the gRPC port, graceful shutdown (exit 0).

usage: python_grpc_client_test.py PATH/ttrpc-grpc-c-server"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from concurrent import futures

import grpc

SERVER = None
LIMIT = 4 << 20


def raw(x):
    return x


class GrpcServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="grpc-srv-")
        cls.gsock = os.path.join(cls.dir, "grpc.sock")
        cls.proc = subprocess.Popen([SERVER, "--socket", os.path.join(cls.dir, "ttrpc.sock"), "--grpc-socket",
                                     cls.gsock, "--grpc-tcp", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
        port = None
        for line in cls.proc.stdout:
            if line.startswith("port "):
                port = int(line.split()[1])
            if line.strip() == "ready":
                break
        cls.targets = {"unix": "unix:" + cls.gsock, "tcp": "127.0.0.1:%d" % port}
        opts = [("grpc.max_receive_message_length", 16 << 20), ("grpc.max_send_message_length", 16 << 20)]
        cls.channels = {k: grpc.insecure_channel(t, options=opts) for k, t in cls.targets.items()}

    @classmethod
    def tearDownClass(cls):
        for c in cls.channels.values():
            c.close()
        if cls.proc.poll() is None:
            cls.proc.kill()
            cls.proc.wait()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def method(self, name, kind="unix", service="interop.Echo"):
        return self.channels[kind].unary_unary("/%s/%s" % (service, name), request_serializer=raw,
                                               response_deserializer=raw)

    def test_echo_0_to_limit(self):
        for kind in ("unix", "tcp"):
            echo = self.method("Echo", kind)
            for n in (0, 1, 5, 16383, 16384, 65536, 1 << 20, LIMIT):
                req = bytes((i * 7 + n) & 0xff for i in range(n)) if n < 70000 else os.urandom(n)
                self.assertEqual(echo(req, timeout=30), req, "%s %d" % (kind, n))

    def test_oversized_request(self):
        with self.assertRaises(grpc.RpcError) as e:
            self.method("Echo")(b"x" * (LIMIT + 1), timeout=30)
        self.assertEqual(e.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertEqual(self.method("Echo")(b"after", timeout=10), b"after")

    def test_oversized_response(self):
        self.assertEqual(len(self.method("Size")(b"%d" % LIMIT, timeout=30)), LIMIT)
        with self.assertRaises(grpc.RpcError) as e:
            self.method("Size")(b"%d" % (LIMIT + 1), timeout=30)
        self.assertEqual(e.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)

    def test_every_status_code_with_message(self):
        for code in grpc.StatusCode:
            if code == grpc.StatusCode.OK:
                continue
            msg = "failed: 100%% \u00e9t\u00e9 (%s)" % code.name
            with self.assertRaises(grpc.RpcError) as e:
                self.method("Fail")(("%d:%s" % (code.value[0], msg)).encode(), timeout=10)
            self.assertEqual(e.exception.code(), code)
            self.assertEqual(e.exception.details(), msg)

    def test_metadata_text_and_binary(self):
        md = (("x-text", "hello world"), ("x-multi", "one"), ("x-multi", "two"), ("x-raw-bin", b"\x01\x02\xff\x80 z"))
        got = self.method("Metadata")(b"", metadata=md, timeout=10).decode()
        self.assertIn("x-text=hello world\n", got)
        self.assertIn("x-multi=one\nx-multi=two\n", got)
        self.assertIn("x-raw-bin=0102ff80207a\n", got)
        self.assertNotIn("grpc-timeout", got)
        self.assertNotIn("content-type", got)

    def test_response_metadata(self):
        resp, call = self.method("ResponseMetadata").with_call(b"0", timeout=10)
        self.assertEqual(resp, b"set, reserved refused")
        self.assertIn(("x-h", "head"), call.initial_metadata())
        self.assertIn(("x-h-bin", b"\x01\x02\xff"), call.initial_metadata())
        self.assertIn(("x-t", "tail"), call.trailing_metadata())
        self.assertIn(("x-t-bin", b"\xfe\x80"), call.trailing_metadata())
        self.assertNotIn(("x-t", "tail"), call.initial_metadata())
        # an error answer is trailers-only: both sets arrive as trailing metadata
        with self.assertRaises(grpc.RpcError) as e:
            self.method("ResponseMetadata", "tcp")(b"9", timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertIn(("x-h", "head"), e.exception.trailing_metadata())
        self.assertIn(("x-t-bin", b"\xfe\x80"), e.exception.trailing_metadata())

    def test_deadline(self):
        self.assertEqual(self.method("Deadline")(b""), b"none")
        left = float(self.method("Deadline")(b"", timeout=5))
        self.assertTrue(3.0 < left <= 5.1, left)  # grpc-timeout is rounded up
        t0 = time.monotonic()
        with self.assertRaises(grpc.RpcError) as e:
            self.method("Sleep")(b"3000", timeout=0.2)
        self.assertEqual(e.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
        self.assertLess(time.monotonic() - t0, 1.5)
        self.assertEqual(self.method("Echo")(b"x", timeout=10), b"x")

    def test_sixty_four_in_flight(self):
        for kind in ("unix", "tcp"):
            sleep = self.method("Sleep", kind)
            t0 = time.monotonic()
            calls = [sleep.future(b"300", timeout=30) for _ in range(64)]
            self.assertEqual([c.result() for c in calls], [b"slept"] * 64)
            self.assertLess(time.monotonic() - t0, 5.0, kind)

    def test_cancellation(self):
        f = self.method("Sleep").future(b"5000", timeout=30)
        time.sleep(0.2)
        self.assertTrue(f.cancel())
        self.assertEqual(self.method("Echo")(b"y", timeout=10), b"y")

    def test_unknown_method_and_service(self):
        for svc, m in (("interop.Echo", "Nope"), ("interop.Nope", "Echo")):
            with self.assertRaises(grpc.RpcError) as e:
                self.method(m, service=svc)(b"", timeout=10)
            self.assertEqual(e.exception.code(), grpc.StatusCode.UNIMPLEMENTED)

    def test_peer_credentials_on_unix(self):
        self.assertEqual(self.method("Peer")(b"", timeout=10).decode(), "%d %d" % (os.getpid(), os.getuid()))
        self.assertEqual(self.method("Peer", "tcp")(b"", timeout=10), b"none")

    def test_http1_on_grpc_port(self):
        s = socket.socket(socket.AF_UNIX)
        s.connect(self.gsock)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(5)
        while s.recv(4096):
            pass  # whatever comes, the server closes
        s.close()
        self.assertEqual(self.method("Echo")(b"still", timeout=10), b"still")

    def test_zz_graceful_shutdown(self):
        f = self.method("Sleep").future(b"500", timeout=30)
        time.sleep(0.2)
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(f.result(), b"slept")  # answered during the shutdown
        self.assertEqual(self.proc.wait(timeout=10), 0)


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    unittest.main(verbosity=2)
