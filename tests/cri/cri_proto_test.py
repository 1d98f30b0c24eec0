#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Wire identity of our CRI subset (task/proto/runtime/v1/api.proto) with the
runtime.v1 CRI that containerd serves.

containerd's Go binary carries the gzipped FileDescriptorProto of every .proto
it was built with (gogo/golang protobuf registration). We take the runtime.v1
one out of the binary and compare, for everything our file declares: every
message and map entry exists there, every field has the same number, type,
label and message/enum type; every enum value the same number; every method
of RuntimeService the same request and response types and no streaming.
A copy of our descriptor with one field number changed must be refused (the
comparison itself is tested).

usage: cri_proto_test.py PROTOC PROTO_DIR CONTAINERD_BINARY
"""
import copy
import re
import subprocess
import sys
import tempfile
import zlib

from google.protobuf import descriptor_pb2

PROTO = "runtime/v1/api.proto"


def ours(protoc, proto_dir):
    with tempfile.NamedTemporaryFile(suffix=".pb") as out:
        subprocess.run([protoc, "-I", proto_dir, "--descriptor_set_out=" + out.name, PROTO], check=True)
        fds = descriptor_pb2.FileDescriptorSet.FromString(out.read())
    (fd,) = [f for f in fds.file if f.name == PROTO]
    return fd


def theirs(binary):
    data = open(binary, "rb").read()
    found = []
    for m in re.finditer(rb"\x1f\x8b\x08\x00\x00\x00\x00\x00", data):
        try:
            raw = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data[m.start() : m.start() + (4 << 20)])
            fd = descriptor_pb2.FileDescriptorProto.FromString(raw)
        except Exception:
            continue
        if fd.package == "runtime.v1" and any(s.name == "RuntimeService" for s in fd.service):
            found.append(fd)
    if len(found) != 1:
        sys.exit("FAIL: %d runtime.v1 descriptors with RuntimeService in %s (want 1)" % (len(found), binary))
    return found[0]


def messages(fd):
    """Every message, nested ones too, by full name (.runtime.v1.X.Y)."""
    out = {}

    def walk(prefix, msgs):
        for m in msgs:
            name = prefix + "." + m.name
            out[name] = m
            walk(name, m.nested_type)

    walk("." + fd.package, fd.message_type)
    return out


def enums(fd):
    out = {}

    def walk(prefix, msgs):
        for m in msgs:
            for e in m.enum_type:
                out[prefix + "." + m.name + "." + e.name] = e
            walk(prefix + "." + m.name, m.nested_type)

    for e in fd.enum_type:
        out["." + fd.package + "." + e.name] = e
    walk("." + fd.package, fd.message_type)
    return out


def compare(a, b):
    """Differences of a (ours) from b (containerd's); returns (errors, counts)."""
    errors = []
    n = {"messages": 0, "fields": 0, "enum values": 0, "methods": 0}
    if a.package != b.package:
        errors.append("package %s != %s" % (a.package, b.package))
    ma, mb = messages(a), messages(b)
    for name, m in ma.items():
        n["messages"] += 1
        if name not in mb:
            errors.append("message %s: not in containerd's" % name)
            continue
        o = mb[name]
        if m.options.map_entry != o.options.map_entry:
            errors.append("message %s: map_entry %s != %s" % (name, m.options.map_entry, o.options.map_entry))
        fields = {f.name: f for f in o.field}
        for f in m.field:
            n["fields"] += 1
            g = fields.get(f.name)
            if g is None:
                errors.append("%s.%s: no such field in containerd's" % (name, f.name))
                continue
            for attr in ("number", "type", "label", "type_name"):
                if getattr(f, attr) != getattr(g, attr):
                    errors.append("%s.%s: %s %r != %r" % (name, f.name, attr, getattr(f, attr), getattr(g, attr)))
            if f.options.packed != g.options.packed and f.label == f.LABEL_REPEATED:
                errors.append("%s.%s: packed %s != %s" % (name, f.name, f.options.packed, g.options.packed))
    ea, eb = enums(a), enums(b)
    for name, e in ea.items():
        if name not in eb:
            errors.append("enum %s: not in containerd's" % name)
            continue
        values = {v.name: v.number for v in eb[name].value}
        for v in e.value:
            n["enum values"] += 1
            if values.get(v.name) != v.number:
                errors.append("enum %s.%s = %d, containerd's %r" % (name, v.name, v.number, values.get(v.name)))
    sb = {s.name: s for s in b.service}
    for s in a.service:
        if s.name not in sb:
            errors.append("service %s: not in containerd's" % s.name)
            continue
        methods = {x.name: x for x in sb[s.name].method}
        for x in s.method:
            n["methods"] += 1
            y = methods.get(x.name)
            if y is None:
                errors.append("%s/%s: not in containerd's" % (s.name, x.name))
                continue
            for attr in ("input_type", "output_type", "client_streaming", "server_streaming"):
                if getattr(x, attr) != getattr(y, attr):
                    errors.append("%s/%s: %s %r != %r" % (s.name, x.name, attr, getattr(x, attr), getattr(y, attr)))
    return errors, n


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    a = ours(sys.argv[1], sys.argv[2])
    b = theirs(sys.argv[3])
    errors, n = compare(a, b)
    for e in errors:
        print("FAIL:", e)
    if errors:
        sys.exit(1)
    # What we need must be there (a file that lost its service would compare clean).
    want = {"Version", "RunPodSandbox", "StopPodSandbox", "RemovePodSandbox", "PodSandboxStatus",
            "CreateContainer", "StartContainer", "StopContainer", "RemoveContainer", "ListContainers",
            "ContainerStatus", "UpdateContainerResources", "ExecSync", "ContainerStats", "ListContainerStats"}
    have = {x.name for s in a.service if s.name == "RuntimeService" for x in s.method}
    if have != want:
        sys.exit("FAIL: RuntimeService methods %s, want %s" % (sorted(have), sorted(want)))
    # The comparison refuses a changed field number, type and a missing enum value.
    for what, mutate in (
        ("field number", lambda fd: setattr(messages(fd)[".runtime.v1.ExecSyncRequest"].field[2], "number", 4)),
        ("field type", lambda fd: setattr(messages(fd)[".runtime.v1.MemoryUsage"].field[0], "type", 5)),
        ("enum value", lambda fd: setattr(enums(fd)[".runtime.v1.ContainerState"].value[2], "number", 7)),
    ):
        bad = copy.deepcopy(a)
        mutate(bad)
        if not compare(bad, b)[0]:
            sys.exit("FAIL: a descriptor with a changed %s compared clean" % what)
    print("ok: runtime.v1 subset matches containerd's (%s): %s" % (
        sys.argv[3], ", ".join("%d %s" % (v, k) for k, v in n.items())))


if __name__ == "__main__":
    main()
