#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""python3-grpcio peer for the gRPC interop tests (no generated code: raw
bytes in and out through generic handlers).

  server --socket PATH [--certs DIR]
                         serve interop.Echo on unix:PATH and on 127.0.0.1 (an
                         ephemeral port); prints "port N", then "ready"; with
                         --certs (make_test_certs.sh's files) also over TLS
                         ("tls-port N") and mutual TLS ("mtls-port N")

Methods of interop.Echo (request and response are raw bytes):
  Echo      the request
  Fail      request "CODE:message": abort with that status and message
  Metadata  the invocation metadata, "key=value\\n" each, -bin values in hex
  Deadline  "none" or the seconds left as "%.3f", from grpc-timeout
  Sleep     sleeps the request's milliseconds, then "slept"
  Size      a response of the request's decimal size in bytes ('z' each)
"""
import argparse
import sys
import time
from concurrent import futures

import grpc

LIMIT = 16 << 20


def echo(req, ctx):
    return req


def fail(req, ctx):
    code, _, msg = req.decode().partition(":")
    status = next(s for s in grpc.StatusCode if s.value[0] == int(code))
    ctx.abort(status, msg)


def metadata(req, ctx):
    out = []
    for k, v in ctx.invocation_metadata():
        out.append("%s=%s" % (k, v.hex() if isinstance(v, bytes) else v))
    return ("\n".join(out) + "\n").encode()


def deadline(req, ctx):
    left = ctx.time_remaining()
    # grpcio reports a huge time left when there is no deadline
    return b"none" if left is None or left > 1e6 else ("%.3f" % left).encode()


def sleep(req, ctx):
    time.sleep(int(req.decode()) / 1000.0)
    return b"slept"


def size(req, ctx):
    return b"z" * int(req.decode())


METHODS = {"Echo": echo, "Fail": fail, "Metadata": metadata, "Deadline": deadline, "Sleep": sleep, "Size": size}


# Streams, as ttrpc-grpc-c-server's: Download "COUNT SIZE [CODE]" (byte j of
# message i is (i + j) & 0xff, then CODE or OK), Upload ("MESSAGES BYTES
# CHECKSUM", the checksum the sum of position (from 1) times byte sum), Chat
# (echoes each message).
def download(req, ctx):
    f = req.decode().split()
    count, size, code = int(f[0]), int(f[1]), int(f[2]) if len(f) > 2 else 0
    base = bytes(range(256)) * (size // 256 + 2)
    for i in range(count):
        yield base[i & 0xff:(i & 0xff) + size]
    if code:
        ctx.abort(next(c for c in grpc.StatusCode if c.value[0] == code),
                  "after %d messages" % count)


def upload(it, ctx):
    n = total = s = 0
    for m in it:
        n += 1
        total += len(m)
        s += n * sum(m)
    return b"%d %d %d" % (n, total, s & 0xffffffffffffffff)


def chat(it, ctx):
    for m in it:
        yield m


STREAMS = {"Download": grpc.unary_stream_rpc_method_handler(download),
           "Upload": grpc.stream_unary_rpc_method_handler(upload),
           "Chat": grpc.stream_stream_rpc_method_handler(chat)}


def read(path):
    with open(path, "rb") as f:
        return f.read()


def serve(socket, certs):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=80),
                         options=[("grpc.max_receive_message_length", LIMIT),
                                  ("grpc.max_send_message_length", LIMIT)])
    handlers = {name: grpc.unary_unary_rpc_method_handler(fn) for name, fn in METHODS.items()}
    handlers.update(STREAMS)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("interop.Echo", handlers),))
    server.add_insecure_port("unix:" + socket)
    port = server.add_insecure_port("127.0.0.1:0")
    if certs:
        pair = [(read(certs + "/server.key"), read(certs + "/server.pem"))]
        tls = server.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials(pair))
        mtls = server.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials(
            pair, root_certificates=read(certs + "/ca.pem"), require_client_auth=True))
    server.start()
    print("port %d" % port, flush=True)
    if certs:
        print("tls-port %d\nmtls-port %d" % (tls, mtls), flush=True)
    print("ready", flush=True)
    server.wait_for_termination()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["server"])
    ap.add_argument("--socket", required=True)
    ap.add_argument("--certs")
    args = ap.parse_args()
    serve(args.socket, args.certs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
