#!/usr/bin/env python3
# Write the committed seed corpus, fuzz/corpus/<target>/<name>: real frames,
# envelopes, Task requests, runtime options and config files, encoded here
# with a minimal protobuf writer (field numbers from ttrpc/proto and
# task/proto). config.json seeds come from `runc spec` when runc is there.
# Regression inputs (crash-*) in the corpus are not touched.
# Usage: make-corpus.py [FUZZ_DIR]
import os
import struct
import subprocess
import sys
import tempfile

fuzz_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
corpus = os.path.join(fuzz_dir, "corpus")


def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, value):
    """One protobuf field: int/bool -> varint, str/bytes -> length-delimited."""
    if isinstance(value, bool) or isinstance(value, int):
        return varint(num << 3) + varint(int(value))
    if isinstance(value, str):
        value = value.encode()
    return varint(num << 3 | 2) + varint(len(value)) + value


def msg(*fields):
    return b"".join(field(n, v) for n, v in fields)


def frame(stream_id, ftype, payload, flags=0):
    return struct.pack(">IIBB", len(payload), stream_id, ftype, flags) + payload


def any_(type_url, value):
    return msg((1, type_url), (2, value))


def request(service, method, payload=b"", timeout=0, md=()):
    fields = [(1, service), (2, method), (3, payload)]
    if timeout:
        fields.append((4, timeout))
    fields += [(5, msg((1, k), (2, v))) for k, v in md]
    return msg(*fields)


def response(payload=b"", code=0, message=""):
    if code:
        return msg((1, msg((1, code), (2, message))))
    return msg((2, payload))


def write(target, name, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


TASK = "containerd.task.v2.Task"
RUNC_OPTS = any_("containerd.runc.v1.Options", msg((6, "crun"), (7, "/run/crun"), (9, True)))
RUNC_OPTS_CRI = any_("type.googleapis.com/containerd.runc.v1.Options", msg((9, True)))
RT_OPTS = any_("runtimeoptions.v1.Options", msg((2, "/tmp/ttrpc-fuzz/crun.json")))
mount = msg((1, "overlay"), (2, "overlay"), (4, "lowerdir=/l"), (4, "upperdir=/u"), (4, "workdir=/w"))
create = msg((1, "c1"), (2, "/run/containerd/io.containerd.runtime.v2.task/default/c1"), (3, mount),
             (5, "/run/containerd/fifo/1/c1-stdin"), (6, "/run/containerd/fifo/1/c1-stdout"),
             (10, RUNC_OPTS))
exec_spec = '{"args":["sh","-c","echo hi"],"cwd":"/","terminal":false,"env":["PATH=/bin"]}'
exec_req = msg((1, "c1"), (2, "exec-1"), (4, "/fifo/in"), (7, any_("types.containerd.io/opencontainers/runtime-spec/1/Process", exec_spec)))
kill = msg((1, "c1"), (3, 9), (4, True))
update = msg((1, "c1"), (2, any_("types.containerd.io/opencontainers/runtime-spec/1/LinuxResources", '{"memory":{"limit":16777216}}')),
             (3, msg((1, "k"), (2, "v"))))

# frame: headers (plus, after them, a size limit to test against)
write("frame", "request", frame(1, 1, b"")[:10])
write("frame", "response-limit", frame(3, 2, b"x" * 4)[:10] + struct.pack(">I", 4))
write("frame", "data-flags", struct.pack(">IIBB", 1, 5, 3, 1))
write("frame", "oversized", struct.pack(">IIBB", 0x400001, 7, 1, 0) + struct.pack(">I", 0x400000))
write("frame", "short", b"\x00\x00\x00\x0e\x00")

# session_server: a chunking byte (0: big chunks, 1: small), then a client's bytes
create_req = frame(1, 1, request(TASK, "Create", create, timeout=2_000_000_000,
                                 md=[("containerd-namespace", "default"), ("X-Trace", "a")]))
state_req = frame(3, 1, request(TASK, "State", msg((1, "c1"))))
write("session_server", "create-state", b"\x00" + create_req + state_req)
write("session_server", "create-state-small-chunks", b"\x01" + create_req + state_req)
write("session_server", "even-stream", b"\x00" + frame(2, 1, request(TASK, "Pids", msg((1, "c1")))))
write("session_server", "reused-stream", b"\x00" + state_req + state_req)
write("session_server", "data-frame", b"\x00" + state_req + frame(3, 3, b"z", flags=1))
write("session_server", "bad-protobuf", b"\x02" + frame(5, 1, b"\x0a\xff"))
write("session_server", "oversized", b"\x00" + struct.pack(">IIBB", 0x10001, 7, 1, 0) + b"abc")
write("session_server", "empty-payload-echo", b"\x04" + frame(9, 1, request("s", "m", b"pq")))

# session_client: streams 1..15 are open (5 forgotten); the server's answers
write("session_client", "responses", b"\x00" + frame(1, 2, response(b"xy")) + frame(3, 2, response(code=5, message="not found")))
write("session_client", "small-chunks", b"\x03" + frame(7, 2, response(msg((1, 42)))) + frame(9, 2, response()))
write("session_client", "forgotten-and-unknown", b"\x00" + frame(5, 2, response(b"late")) + frame(17, 2, response(b"?")))
write("session_client", "twice", b"\x00" + frame(11, 2, response(b"a")) + frame(11, 2, response(b"b")))
write("session_client", "undecodable", b"\x00" + frame(13, 2, b"\x12\x05ab"))
write("session_client", "oversized", b"\x00" + struct.pack(">IIBB", 0x10001, 15, 2, 0) + b"abc")
write("session_client", "request-frame-ignored", b"\x00" + frame(1, 1, request("s", "m")))

# client_streams: streams 1 (server-stream), 3 (client-stream), 5 (bidi), 9 (bidi,
# paused), 11 (server-stream) and unary 7; seed byte, then the server's frames
# (Data = 3; flags 1 remote-closed, 4 no-data). From on_msg, (seed + first byte) % 8
# picks: 0 cancel, 1 pause, 2 resume the others, 3 send back, 4 close send, 5 "xC": close.
write("client_streams", "every-end", b"\x07" + frame(1, 3, b"a") + frame(1, 3, b"", 4) + frame(1, 3, b"", 5)
      + frame(3, 2, response(b"sum")) + frame(5, 3, b"b") + frame(5, 3, b"z", 1) + frame(7, 2, response(b"u"))
      + frame(9, 3, b"held") + frame(9, 2, response(code=5, message="gone")) + frame(11, 3, b"", 1))
write("client_streams", "callbacks", b"\x00" + frame(1, 3, b"\x01pause") + frame(1, 3, b"x") + frame(5, 3, b"\x02resume")
      + frame(9, 3, b"\x03echo") + frame(11, 3, b"\x04closesend") + frame(5, 3, b"\x00cancel"))
write("client_streams", "overrun-and-close", b"\x01" + frame(1, 3, b"\x00p") + frame(1, 3, b"y" * 300) + frame(1, 3, b"y" * 300)
      + frame(3, 3, b"data on a client stream") + frame(11, 3, b"\x04C") + frame(5, 3, b"after"))
write("client_streams", "oversized", b"\x07" + struct.pack(">IIBB", 5000, 11, 3, 0) + b"abc")

# envelope: selector (even: Request, odd: Response), then the message
write("envelope", "request", b"\x00" + request(TASK, "Create", create, 1_000_000, [("containerd-namespace", "k8s.io")]))
write("envelope", "request-negative-timeout", b"\x00" + request("s", "m", b"", -1))
write("envelope", "response", b"\x01" + response(b"payload"))
write("envelope", "response-status", b"\x01" + msg((1, msg((1, 5), (2, "container c1: not found"), (3, b"detail")))))

# task_requests: selector = index in fuzz_task_requests.c's requests[], then the message
for i, (name, m) in enumerate([
        ("create", create), ("delete", msg((1, "c1"))), ("exec", exec_req),
        ("resize-pty", msg((1, "c1"), (2, "exec-1"), (3, 80), (4, 24))), ("state", msg((1, "c1"), (2, "e"))),
        ("kill", kill), ("close-io", msg((1, "c1"), (3, True))), ("pids", msg((1, "c1"))),
        ("checkpoint", msg((1, "c1"), (2, "/ck"))), ("update", update), ("start", msg((1, "c1"))),
        ("wait", msg((1, "c1"))), ("stats", msg((1, "c1"))), ("connect", msg((1, "c1"))),
        ("shutdown", msg((1, "c1"), (2, True))), ("pause", msg((1, "c1"))), ("resume", msg((1, "c1")))]):
    write("task_requests", name, bytes([i]) + m)
write("task_requests", "create-runtimeoptions", b"\x00" + msg((1, "c.2-x_y"), (2, "/b"), (10, RT_OPTS)))
write("task_requests", "create-bad-id", b"\x00" + msg((1, "../etc"), (2, "/b")))

# runtime_options: a google.protobuf.Any
write("runtime_options", "runc-options", RUNC_OPTS)
write("runtime_options", "runc-options-cri", RUNC_OPTS_CRI)
write("runtime_options", "runtimeoptions-crun", RT_OPTS)
for f in ("systemd", "relative-root", "unknown-key", "not-json", "missing"):
    write("runtime_options", "runtimeoptions-" + f, any_("runtimeoptions.v1.Options", msg((2, "/tmp/ttrpc-fuzz/%s.json" % f))))
write("runtime_options", "unsupported-type", any_("io.containerd.runhcs.v1.Options", b""))

# runtime_config: the file
write("runtime_config", "crun", '{"binary_name": "crun", "root": "/run/crun", "systemd_cgroup": false,\n'
      ' "global_args": ["--cgroup-manager=disabled"]}\n')
write("runtime_config", "saved", '{\n "binary_name": "runc",\n "systemd_cgroup": true,\n "global_args": []\n}')
write("runtime_config", "relative-root", '{"root": "run"}')
write("runtime_config", "too-many-args", '{"global_args": ["a","b","c","d","e","f","g","h","i"]}')
write("runtime_config", "duplicate", '{"root": "/a", "root": "/b"}')

# flags: NUL-separated argv words
for name, argv in [("start", ["-namespace", "default", "-address", "/run/containerd/containerd.sock",
                               "-publish-binary", "/usr/bin/containerd", "-id", "c1", "start"]),
                   ("delete", ["--namespace=k8s.io", "-id=c1", "-bundle", "/b", "-debug=true", "delete"]),
                   ("serve", ["-namespace", "default", "-socket", "/s", "-debug"]),
                   ("bad", ["-x", "--", "start"]), ("version", ["-v"])]:
    write("flags", name, "\0".join(argv))

# oci_config (selector: even config.json, odd process spec) and sandbox (id, newline, config.json)
write("oci_config", "process", b"\x01" + exec_spec.encode())
sandbox_ann = [
    ("runc-group", "c1", {"io.containerd.runc.v2.group": "g1"}),
    ("cri-sandbox", "s1", {"io.kubernetes.cri.container-type": "sandbox", "io.kubernetes.cri.sandbox-id": "s1"}),
    ("cri-container", "c2", {"io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-id": "s1"}),
    ("cri-sandbox-id", "c3", {"io.kubernetes.cri.sandbox-id": "s1"}),
    ("bad-group", "c4", {"io.containerd.runc.v2.group": "a/../b"}),
]
with tempfile.TemporaryDirectory() as d:
    specs = {}
    for name, args in [("runc-spec", []), ("runc-spec-rootless", ["--rootless"])]:
        try:
            subprocess.run(["runc", "spec", "-b", d] + args, check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError):
            print("make-corpus: runc spec failed: config.json seeds kept as they are", file=sys.stderr)
            specs = None
            break
        with open(os.path.join(d, "config.json")) as f:
            specs[name] = f.read()
        os.unlink(os.path.join(d, "config.json"))
if specs:
    import json
    for name, text in specs.items():
        write("oci_config", name, b"\x00" + text.encode())
    base = json.loads(specs["runc-spec"])
    for name, cid, ann in sandbox_ann:
        spec = dict(base, annotations=ann)
        write("sandbox", name, cid + "\n" + json.dumps(spec, indent=1))
    write("sandbox", "no-annotations", "c5\n" + specs["runc-spec"])
    write("oci_config", "annotated", b"\x00" + json.dumps(dict(base, annotations=sandbox_ann[1][2])).encode())
