#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""python3-grpcio's client against our gRPC server over TLS and mutual TLS
(ttrpc-grpc-c-server --grpc-tls / --grpc-mtls, certificates made by
make_test_certs.sh): echo, status, metadata; refused without a client
certificate under mutual TLS, with the wrong CA, and for a client that does
not offer ALPN h2; graceful shutdown (exit 0).

usage: python_grpc_tls_test.py PATH/ttrpc-grpc-c-server PATH/make_test_certs.sh"""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import unittest

import grpc

SERVER = None
MAKE_CERTS = None


def raw(x):
    return x


def read(path):
    with open(path, "rb") as f:
        return f.read()


class GrpcTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="grpc-tls-")
        cls.certs = os.path.join(cls.dir, "certs")
        os.mkdir(cls.certs)
        subprocess.run(["bash", MAKE_CERTS, cls.certs], check=True)
        c = lambda n: os.path.join(cls.certs, n)
        cls.proc = subprocess.Popen([SERVER, "--socket", os.path.join(cls.dir, "ttrpc.sock"), "--grpc-socket",
                                     os.path.join(cls.dir, "grpc.sock"), "--tls-cert", c("server.pem"), "--tls-key",
                                     c("server.key"), "--tls-client-ca", c("ca.pem"), "--grpc-tls", "127.0.0.1:0",
                                     "--grpc-mtls", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
        cls.ports = {}
        for line in cls.proc.stdout:
            k, _, v = line.strip().partition(" ")
            if k == "ready":
                break
            cls.ports[k] = int(v)
        cls.channels = []

    @classmethod
    def tearDownClass(cls):
        for ch in cls.channels:
            ch.close()
        if cls.proc.poll() is None:
            cls.proc.kill()
            cls.proc.wait()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def channel(self, port, ca="ca.pem", client_cert=False, name="localhost"):
        creds = grpc.ssl_channel_credentials(
            root_certificates=read(os.path.join(self.certs, ca)),
            private_key=read(os.path.join(self.certs, "client.key")) if client_cert else None,
            certificate_chain=read(os.path.join(self.certs, "client.pem")) if client_cert else None)
        ch = grpc.secure_channel("127.0.0.1:%d" % self.ports[port], creds,
                                 options=[("grpc.ssl_target_name_override", name),
                                          ("grpc.max_receive_message_length", 16 << 20)])
        self.channels.append(ch)
        return ch

    def method(self, ch, name):
        return ch.unary_unary("/interop.Echo/" + name, request_serializer=raw, response_deserializer=raw)

    def works(self, ch):
        echo = self.method(ch, "Echo")
        for n in (0, 1, 16384, 1 << 20, 4 << 20):
            req = os.urandom(n)
            self.assertEqual(echo(req, timeout=30), req, n)
        with self.assertRaises(grpc.RpcError) as e:
            self.method(ch, "Fail")(b"9:not ready", timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertEqual(e.exception.details(), "not ready")
        got = self.method(ch, "Metadata")(b"", metadata=(("x-k", "v"), ("x-b-bin", b"\x00\x01")), timeout=10)
        self.assertIn(b"x-k=v\n", got)

    def refused(self, ch):
        with self.assertRaises(grpc.RpcError) as e:
            self.method(ch, "Echo")(b"x", timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)

    def test_tls(self):
        self.works(self.channel("tls-port"))

    def test_mtls(self):
        self.works(self.channel("mtls-port", client_cert=True))

    def test_mtls_without_client_certificate_refused(self):
        self.refused(self.channel("mtls-port"))
        self.works(self.channel("mtls-port", client_cert=True))

    def test_wrong_ca_refused(self):
        self.refused(self.channel("tls-port", ca="other-ca.pem"))

    def test_wrong_name_refused(self):
        self.refused(self.channel("tls-port", name="example.com"))

    def test_client_without_alpn_h2_refused(self):
        ctx = ssl.create_default_context(cafile=os.path.join(self.certs, "ca.pem"))
        ctx.set_alpn_protocols(["http/1.1"])
        with socket.create_connection(("127.0.0.1", self.ports["tls-port"]), timeout=10) as s:
            with self.assertRaises(ssl.SSLError) as e:
                ctx.wrap_socket(s, server_hostname="localhost")
            self.assertIn("no application protocol", str(e.exception))
        self.works(self.channel("tls-port"))

    def test_zz_graceful_shutdown(self):
        ch = self.channel("tls-port")
        f = self.method(ch, "Sleep").future(b"500", timeout=30)
        self.assertEqual(self.method(ch, "Echo")(b"up", timeout=10), b"up")
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(f.result(), b"slept")
        self.assertEqual(self.proc.wait(timeout=10), 0)


if __name__ == "__main__":
    SERVER = sys.argv.pop(1)
    MAKE_CERTS = sys.argv.pop(1)
    unittest.main(verbosity=2)
