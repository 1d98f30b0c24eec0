// SPDX-License-Identifier: Apache-2.0

//! ttrpc-rust-peer is the Rust side of the libttrpc interop tests, on Debian's
//! ttrpc 0.5.2 (sync API). It serves and calls the same scripted methods as
//! ttrpc-go-peer and the C interop programs:
//!
//!     ttrpc-rust-peer server --socket PATH
//!     ttrpc-rust-peer client --socket PATH --test NAME
//!     ttrpc-rust-peer client --socket PATH --call NAME
//!
//! --call is the client driver of `ttrpc-conform client`: the named scripted
//! calls of ttrpc.bench.v1.Bench/Echo, one "CALL <i> OK <payload>" or
//! "CALL <i> ERR <code> <message>" line per call (-1: not a status), exit 0.
//!
//! Messages are google.protobuf.BytesValue, wire-identical to
//! `message { bytes payload = 1; }`.
//!
//! Sockets are made with std (a path socket), not with ttrpc 0.5's own
//! "unix://" addresses: on Linux 0.5.2 turns every unix address into an
//! abstract one (common.rs make_addr: UnixAddr::new_abstract) and sets
//! SO_REUSEPORT on it, which current kernels refuse for AF_UNIX (EOPNOTSUPP).
//! The fds go to Server::add_listener and Client::new.

use protobuf::well_known_types::BytesValue;
use protobuf::{Message, ProtobufEnum};
use std::collections::HashMap;
use std::os::unix::io::IntoRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use ttrpc::sync::utils::{response_to_channel, MethodHandler, TtrpcContext};
use ttrpc::{Code, Request, Response, Status};

const TEST_SERVICE: &str = "ttrpc.interop.v1.Test";
const BENCH_SERVICE: &str = "ttrpc.bench.v1.Bench";
const MAX_MESSAGE: usize = 4 << 20;

fn usage() -> ! {
    eprintln!("usage: ttrpc-rust-peer server --socket PATH\n       ttrpc-rust-peer client --socket PATH --test NAME");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 2 {
        usage();
    }
    let mut socket = None;
    let mut test = "all".to_string();
    let mut call = None;
    let mut i = 2;
    while i < args.len() {
        match args[i].as_str() {
            "--socket" if i + 1 < args.len() => socket = Some(args[i + 1].clone()),
            "--test" if i + 1 < args.len() => test = args[i + 1].clone(),
            "--call" if i + 1 < args.len() => call = Some(args[i + 1].clone()),
            _ => usage(),
        }
        i += 2;
    }
    let socket = socket.unwrap_or_else(|| usage());
    let rc = match args[1].as_str() {
        "server" => run_server(&socket),
        "client" => match call {
            Some(c) => run_calls(&socket, &c),
            None => run_client(&socket, &test),
        },
        _ => usage(),
    };
    std::process::exit(rc);
}

fn encode(payload: &[u8]) -> Vec<u8> {
    let mut m = BytesValue::new();
    m.value = payload.to_vec();
    m.write_to_bytes().expect("encode BytesValue")
}

fn decode(buf: &[u8]) -> protobuf::ProtobufResult<Vec<u8>> {
    BytesValue::parse_from_bytes(buf).map(|m| m.value)
}

fn status(code: Code, msg: &str) -> Status {
    ttrpc::get_status(code, msg)
}

// ---------------------------------------------------------------- server

/// What a method answers: a payload or a status.
type Answer = std::result::Result<Vec<u8>, Status>;

/// One method: gets the request payload (already decoded) and the context.
struct Method {
    f: fn(&TtrpcContext, &[u8], Instant) -> Answer,
}

impl MethodHandler for Method {
    fn handler(&self, ctx: TtrpcContext, req: Request) -> ttrpc::Result<()> {
        let start = Instant::now();
        let answer = match decode(&req.payload) {
            Ok(p) => (self.f)(&ctx, &p, start),
            Err(e) => Err(status(Code::INVALID_ARGUMENT, &format!("unmarshal request: {}", e))),
        };
        let mut res = Response::new();
        match answer {
            Ok(p) => {
                res.set_status(status(Code::OK, ""));
                res.set_payload(encode(&p));
            }
            Err(s) => res.set_status(s),
        }
        response_to_channel(ctx.mh.stream_id, res, ctx.res_tx.clone())
    }
}

fn echo(_: &TtrpcContext, p: &[u8], _: Instant) -> Answer {
    Ok(p.to_vec())
}

fn fail(_: &TtrpcContext, p: &[u8], _: Instant) -> Answer {
    let text = String::from_utf8_lossy(p).to_string();
    let mut parts = text.splitn(2, ':');
    let code = parts.next().and_then(|c| c.parse::<i32>().ok());
    match (code, parts.next()) {
        (Some(c), Some(msg)) => match Code::from_i32(c) {
            Some(code) => Err(status(code, msg)),
            None => Err(status(Code::INVALID_ARGUMENT, &format!("no code {}", c))),
        },
        _ => Err(status(
            Code::INVALID_ARGUMENT,
            &format!("Fail wants \"<code>:<message>\", got {:?}", text),
        )),
    }
}

/// The request metadata as sorted "key=value\n" lines.
fn metadata(ctx: &TtrpcContext, _: &[u8], _: Instant) -> Answer {
    let mut lines: Vec<String> = Vec::new();
    for (k, vs) in ctx.metadata.iter() {
        for v in vs {
            lines.push(format!("{}={}\n", k, v));
        }
    }
    lines.sort();
    Ok(lines.concat().into_bytes())
}

/// The call's deadline from timeout_nano (0: none), relative to start.
/// ttrpc 0.5 enforces none on the server: the handlers honour it themselves,
/// as a Go handler does with its context.
fn deadline_of(ctx: &TtrpcContext, start: Instant) -> Option<Option<Instant>> {
    match ctx.timeout_nano {
        0 => None,
        t if t < 0 => Some(None), // already expired
        t => Some(start.checked_add(Duration::from_nanos(t as u64))),
    }
}

fn sleep(ctx: &TtrpcContext, p: &[u8], start: Instant) -> Answer {
    let ms = match String::from_utf8_lossy(p).parse::<u64>() {
        Ok(ms) => ms,
        Err(_) => {
            return Err(status(
                Code::INVALID_ARGUMENT,
                &format!("Sleep wants milliseconds, got {:?}", String::from_utf8_lossy(p)),
            ))
        }
    };
    let wake = start + Duration::from_millis(ms);
    let expired = || status(Code::DEADLINE_EXCEEDED, "context deadline exceeded");
    let (until, answer) = match deadline_of(ctx, start) {
        Some(None) => return Err(expired()),
        Some(Some(dl)) if dl < wake => (dl, Err(expired())),
        _ => (wake, Ok(b"slept".to_vec())),
    };
    // In slices, so that a shutting-down server does not wait for a sleeper
    // whose client is gone (0.5.2 tells a handler nothing about that).
    while Instant::now() < until {
        if SHUTTING_DOWN.load(Ordering::SeqCst) {
            return Err(status(Code::UNAVAILABLE, "server shutting down"));
        }
        thread::sleep(until.saturating_duration_since(Instant::now()).min(Duration::from_millis(50)));
    }
    answer
}

static SHUTTING_DOWN: AtomicBool = AtomicBool::new(false);

fn deadline(ctx: &TtrpcContext, _: &[u8], start: Instant) -> Answer {
    match deadline_of(ctx, start) {
        None => Ok(b"deadline=no".to_vec()),
        Some(dl) => {
            let left = dl.map(|d| d.saturating_duration_since(Instant::now()).as_millis()).unwrap_or(0);
            Ok(format!("deadline=yes remaining_ms={}", left).into_bytes())
        }
    }
}

fn run_server(path: &str) -> i32 {
    // Block SIGTERM/SIGINT in every thread; main waits for them with sigwait.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    let _ = std::fs::remove_file(path);
    let listener = match UnixListener::bind(path) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("ttrpc-rust-peer: listen {}: {}", path, e);
            return 1;
        }
    };
    let mut methods: HashMap<String, Box<dyn MethodHandler + Send + Sync>> = HashMap::new();
    let table: [(&str, &str, fn(&TtrpcContext, &[u8], Instant) -> Answer); 6] = [
        (BENCH_SERVICE, "Echo", echo),
        (TEST_SERVICE, "Echo", echo),
        (TEST_SERVICE, "Fail", fail),
        (TEST_SERVICE, "Metadata", metadata),
        (TEST_SERVICE, "Sleep", sleep),
        (TEST_SERVICE, "Deadline", deadline),
    ];
    for (svc, m, f) in table.iter() {
        methods.insert(format!("/{}/{}", svc, m), Box::new(Method { f: *f }));
    }
    // Handlers block their thread (Sleep): enough threads per connection for
    // the concurrent scenario (17 sleeping calls at once).
    let server = ttrpc::Server::new()
        .add_listener(listener.into_raw_fd())
        .and_then(|s| Ok(s.register_service(methods)))
        .map(|s| s.set_thread_count_min(8).set_thread_count_default(16).set_thread_count_max(128));
    let mut server = match server {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ttrpc-rust-peer: server: {}", e);
            return 1;
        }
    };
    if let Err(e) = server.start() {
        eprintln!("ttrpc-rust-peer: start: {}", e);
        return 1;
    }
    println!("ready");
    let mut sig: libc::c_int = 0;
    unsafe { libc::sigwait(&set, &mut sig) };
    eprintln!("ttrpc-rust-peer: signal {}, closing", sig);
    SHUTTING_DOWN.store(true, Ordering::SeqCst);
    server.shutdown();
    let _ = std::fs::remove_file(path);
    0
}

// ---------------------------------------------------------------- client

struct Checker {
    passed: Mutex<(u32, u32)>,
}

impl Checker {
    fn check(&self, ok: bool, msg: String) -> bool {
        let mut c = self.passed.lock().unwrap();
        if ok {
            c.0 += 1;
            println!("PASS {}", msg);
        } else {
            c.1 += 1;
            println!("FAIL {}", msg);
        }
        ok
    }
}

struct Peer {
    ck: Checker,
    client: ttrpc::Client,
}

/// The outcome of a call: payload, or (code, message) of a status, or a
/// local error of the client (code -1).
#[derive(Debug)]
enum Outcome {
    Ok(Vec<u8>),
    Status(Code, String),
    Local(String),
}

impl Outcome {
    fn describe(&self) -> String {
        match self {
            Outcome::Ok(p) => format!("OK ({} bytes)", p.len()),
            Outcome::Status(c, m) => format!("{:?} {:?}", c, m),
            Outcome::Local(e) => format!("error {}", e),
        }
    }
    fn is_payload(&self, want: &[u8]) -> bool {
        matches!(self, Outcome::Ok(p) if p.as_slice() == want)
    }
    fn is_status(&self, code: Code, msg: &str) -> bool {
        matches!(self, Outcome::Status(c, m) if *c == code && m == msg)
    }
}

fn call_on(
    client: &ttrpc::Client,
    service: &str,
    method: &str,
    payload: &[u8],
    timeout_nano: i64,
    md: &[(&str, &str)],
) -> Outcome {
    let mut req = Request::new();
    req.set_service(service.to_string());
    req.set_method(method.to_string());
    req.set_payload(encode(payload));
    req.set_timeout_nano(timeout_nano);
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in md {
        map.entry(k.to_string()).or_default().push(v.to_string());
    }
    req.set_metadata(ttrpc::context::to_pb(map));
    match client.request(req) {
        Ok(res) => match decode(&res.payload) {
            Ok(p) => Outcome::Ok(p),
            Err(e) => Outcome::Local(format!("undecodable answer: {}", e)),
        },
        Err(ttrpc::Error::RpcStatus(s)) => Outcome::Status(s.get_code(), s.get_message().to_string()),
        Err(e) => Outcome::Local(e.to_string()),
    }
}

/// The bound of calls that do not test deadlines: 0.5.2's client has no other
/// way to give up on an answer that never comes (a desynchronised server).
const CALL_TIMEOUT_NS: i64 = 10_000_000_000;

impl Peer {
    fn call(&self, method: &str, payload: &[u8]) -> Outcome {
        call_on(&self.client, TEST_SERVICE, method, payload, CALL_TIMEOUT_NS, &[])
    }
}

fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| ((i * 7 + i / 251) as u8) ^ seed).collect()
}

/// The largest payload whose Request for service/method with timeout_nano
/// fits in one frame (0.5.2 checks nothing before sending, like Go 1.1.1).
fn largest_echo(service: &str, method: &str, timeout_nano: i64) -> usize {
    let size = |n: usize| {
        let mut req = Request::new();
        req.set_service(service.to_string());
        req.set_method(method.to_string());
        req.set_timeout_nano(timeout_nano);
        req.set_payload(encode(&vec![0u8; n]));
        req.compute_size() as usize
    };
    let mut n = MAX_MESSAGE;
    while n > 0 && size(n) > MAX_MESSAGE {
        n -= size(n) - MAX_MESSAGE;
    }
    while size(n + 1) <= MAX_MESSAGE {
        n += 1;
    }
    n
}

fn test_echo(p: &Peer) {
    let max = largest_echo(TEST_SERVICE, "Echo", CALL_TIMEOUT_NS);
    println!("INFO largest echo payload for {}/Echo: {} bytes", TEST_SERVICE, max);
    for (i, n) in [0usize, 1, 1000, 65536, 1 << 20, max].iter().enumerate() {
        let want = pattern(*n, i as u8);
        let got = p.call("Echo", &want);
        p.ck.check(got.is_payload(&want), format!("echo {} bytes: {}", n, got.describe()));
    }
    let got = call_on(&p.client, BENCH_SERVICE, "Echo", b"bench", CALL_TIMEOUT_NS, &[]);
    p.ck.check(got.is_payload(b"bench"), format!("{}/Echo: {}", BENCH_SERVICE, got.describe()));

    // One byte more does not fit in a frame: the server discards it and
    // answers RESOURCE_EXHAUSTED on that stream, keeping the connection.
    let got = p.call("Echo", &vec![0u8; max + 1]);
    let ok = matches!(&got, Outcome::Status(Code::RESOURCE_EXHAUSTED, m)
        if m.contains("exceed maximum message size of 4194304"));
    p.ck.check(ok, format!("echo {} bytes (one too many): want ResourceExhausted, got {}", max + 1, got.describe()));
    let got = p.call("Echo", b"still here");
    p.ck.check(got.is_payload(b"still here"), format!("connection usable after oversized request: {}", got.describe()));
}

const CODE_NAMES: [&str; 17] = [
    "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists",
    "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented",
    "Internal", "Unavailable", "DataLoss", "Unauthenticated",
];

fn test_errors(p: &Peer) {
    for code in 1..=16 {
        let msg = format!("failure {}: {}, 100% ünïcødé %s", code, CODE_NAMES[code as usize]);
        let got = p.call("Fail", format!("{}:{}", code, msg).as_bytes());
        let want = Code::from_i32(code).unwrap();
        p.ck.check(got.is_status(want, &msg), format!("Fail code {} ({}): got {}", code, CODE_NAMES[code as usize], got.describe()));
    }
    let got = p.call("Fail", b"3:");
    p.ck.check(got.is_status(Code::INVALID_ARGUMENT, ""), format!("Fail with empty message: got {}", got.describe()));
}

fn test_metadata(p: &Peer) {
    // The pairs the Go client puts on the wire (it lowercases keys).
    let md = [
        ("containerd-namespace-ttrpc", "k8s.io"),
        ("x-mixed-case", "Value Keeps Case"),
        ("repeated", "one"),
        ("repeated", "two"),
        ("repeated", "three"),
        ("empty", ""),
        ("utf8", "ünïcødé=and=equals"),
    ];
    let want = "containerd-namespace-ttrpc=k8s.io\nempty=\nrepeated=one\nrepeated=three\nrepeated=two\n\
                utf8=ünïcødé=and=equals\nx-mixed-case=Value Keeps Case\n";
    let got = call_on(&p.client, TEST_SERVICE, "Metadata", b"", CALL_TIMEOUT_NS, &md);
    if !p.ck.check(got.is_payload(want.as_bytes()), format!("metadata round trip (a repeated key): {}", got.describe())) {
        if let Outcome::Ok(b) = &got {
            println!("---- got\n{}---- want\n{}----", String::from_utf8_lossy(b), want);
        }
    }
    let got = p.call("Metadata", b"");
    p.ck.check(got.is_payload(b""), format!("no metadata: {}", got.describe()));
}

fn test_timeout(p: &Peer) {
    // 0.5.2's client waits exactly timeout_nano for the answer (recv_timeout),
    // so with 200 ms the server's DEADLINE_EXCEEDED and the client's own
    // timeout race: either is right, but it must end near 200 ms, not 15 s.
    let t0 = Instant::now();
    let got = call_on(&p.client, TEST_SERVICE, "Sleep", b"15000", 200_000_000, &[]);
    let took = t0.elapsed().as_millis();
    let ok = match &got {
        Outcome::Status(Code::DEADLINE_EXCEEDED, _) => true,
        Outcome::Local(e) => e.contains("timeout"),
        _ => false,
    };
    p.ck.check(ok && took < 3000, format!("Sleep 15s, timeout_nano 200ms: {} after {} ms", got.describe(), took));

    // A negative timeout_nano is a deadline already passed. 0.5.2's client
    // then waits without bound (the u64 cast), so only the server ends it.
    let t0 = Instant::now();
    let got = call_on(&p.client, TEST_SERVICE, "Sleep", b"15000", -1_000_000, &[]);
    let took = t0.elapsed().as_millis();
    p.ck.check(
        got.is_status(Code::DEADLINE_EXCEEDED, "context deadline exceeded") && took < 3000,
        format!("Sleep 15s, timeout_nano -1ms: want the server's DeadlineExceeded status, got {} after {} ms", got.describe(), took),
    );

    let got = call_on(&p.client, TEST_SERVICE, "Deadline", b"", 5_000_000_000, &[]);
    let ms = match &got {
        Outcome::Ok(b) => String::from_utf8_lossy(b)
            .strip_prefix("deadline=yes remaining_ms=")
            .and_then(|s| s.parse::<i64>().ok()),
        _ => None,
    };
    p.ck.check(
        matches!(ms, Some(m) if m > 3000 && m <= 5000),
        format!("server saw a 5s deadline: {} {:?}", got.describe(), ms),
    );
    let got = call_on(&p.client, TEST_SERVICE, "Deadline", b"", 0, &[]);
    p.ck.check(got.is_payload(b"deadline=no"), format!("no deadline: {}", got.describe()));

    let got = call_on(&p.client, TEST_SERVICE, "Sleep", b"150", 10_000_000_000, &[]);
    p.ck.check(got.is_payload(b"slept"), format!("Sleep 150ms within a 10s deadline: {}", got.describe()));
    let got = p.call("Echo", b"after");
    p.ck.check(got.is_payload(b"after"), format!("echo after timeout: {}", got.describe()));
}

fn test_unimplemented(p: &Peer) {
    let got = p.call("NoSuchMethod", b"");
    p.ck.check(got.is_status(Code::UNIMPLEMENTED, "method NoSuchMethod"), format!("unknown method: got {}", got.describe()));
    let got = call_on(&p.client, "ttrpc.interop.v1.NoSuchService", "Echo", b"", CALL_TIMEOUT_NS, &[]);
    p.ck.check(
        got.is_status(Code::UNIMPLEMENTED, "service ttrpc.interop.v1.NoSuchService"),
        format!("unknown service: got {}", got.describe()),
    );
}

fn test_concurrent(p: &Peer) {
    const N: usize = 64;
    // A call that sleeps longer than the others may take: every other call
    // must be answered while it is still pending (0.5.2 cannot cancel a call,
    // so it is a fixed 8 s Sleep without deadline, joined at the end).
    let c = p.client.clone();
    let blocker = thread::spawn(move || call_on(&c, TEST_SERVICE, "Sleep", b"8000", 0, &[]));
    let errs = Arc::new(Mutex::new(Vec::new()));
    let mut threads = Vec::new();
    for i in 0..N {
        let c = p.client.clone();
        let errs = errs.clone();
        threads.push(thread::spawn(move || {
            let mut want = format!("call-{}-{}", i, "x".repeat(i * 97)).into_bytes();
            if i % 16 == 1 {
                want = pattern((1 << 20) + i, i as u8); // large: frames written in pieces
            }
            let got = if i % 4 == 0 {
                want = b"slept".to_vec(); // slow ones: answers out of order
                call_on(&c, TEST_SERVICE, "Sleep", (200 + i).to_string().as_bytes(), CALL_TIMEOUT_NS, &[])
            } else {
                call_on(&c, TEST_SERVICE, "Echo", &want, CALL_TIMEOUT_NS, &[])
            };
            if !got.is_payload(&want) {
                errs.lock().unwrap().push(format!("call {}: {}", i, got.describe()));
            }
        }));
    }
    for t in threads {
        let _ = t.join();
    }
    let pending = !blocker.is_finished();
    let errs = errs.lock().unwrap();
    for e in errs.iter() {
        println!("  {}", e);
    }
    p.ck.check(errs.is_empty(), format!("{} concurrent calls on one client: {} wrong", N, errs.len()));
    p.ck.check(pending, format!("all {} calls answered while an 8 s Sleep was still pending", N));
    let got = blocker.join().map(|o| o.describe()).unwrap_or_else(|_| "panicked".to_string());
    p.ck.check(got == "OK (5 bytes)", format!("the 8 s Sleep completes: {}", got));
}

fn run_client(path: &str, test: &str) -> i32 {
    let stream = match UnixStream::connect(path) {
        Ok(s) => s,
        Err(e) => {
            println!("FAIL dial {}: {}", path, e);
            return 1;
        }
    };
    let p = Peer { ck: Checker { passed: Mutex::new((0, 0)) }, client: ttrpc::Client::new(stream.into_raw_fd()) };
    let scenarios: [(&str, fn(&Peer)); 6] = [
        ("echo", test_echo),
        ("errors", test_errors),
        ("metadata", test_metadata),
        ("timeout", test_timeout),
        ("unimplemented", test_unimplemented),
        ("concurrent", test_concurrent),
    ];
    let mut ran = false;
    for (name, f) in scenarios.iter() {
        if test == "all" || test == *name {
            println!("== {}", name);
            f(&p);
            ran = true;
        }
    }
    if !ran {
        println!("FAIL unknown scenario {:?}", test);
        return 2;
    }
    let (passed, failed) = *p.ck.passed.lock().unwrap();
    println!("scenario {}: {} checks passed, {} checks failed", test, passed, failed);
    if failed > 0 {
        1
    } else {
        0
    }
}

// ---------------------------------------------------------------- conform driver

fn print_call(i: usize, got: &Outcome) {
    match got {
        Outcome::Ok(p) => println!("CALL {} OK {}", i, String::from_utf8_lossy(p)),
        Outcome::Status(c, m) => println!("CALL {} ERR {} {}", i, c.value(), m),
        Outcome::Local(e) => println!("CALL {} ERR -1 {}", i, e),
    }
}

fn run_calls(path: &str, name: &str) -> i32 {
    let stream = match UnixStream::connect(path) {
        Ok(s) => s,
        Err(e) => {
            println!("dial {}: {}", path, e);
            return 1;
        }
    };
    let client = ttrpc::Client::new(stream.into_raw_fd());
    let echo = |i: usize, payload: &[u8], timeout_nano: i64, md: &[(&str, &str)]| {
        print_call(i, &call_on(&client, BENCH_SERVICE, "Echo", payload, timeout_nano, md));
    };
    match name {
        "one" => echo(0, b"conform", 0, &[]),
        "three" => {
            echo(0, b"a", 0, &[]);
            echo(1, b"b", 0, &[]);
            echo(2, b"c", 0, &[]);
        }
        "timeout" => echo(0, b"t", 2_000_000_000, &[]),
        "metadata" => echo(0, b"m", 0, &[("k1", "v1"), ("k1", "v2"), ("k2", "v3")]),
        "oversized" => {
            echo(0, &vec![0u8; MAX_MESSAGE], 0, &[]);
            echo(1, b"after", 0, &[]);
        }
        "parallel" => {
            let threads: Vec<_> = (0..4)
                .map(|i| {
                    let c = client.clone();
                    thread::spawn(move || call_on(&c, BENCH_SERVICE, "Echo", format!("p{}", i).as_bytes(), 0, &[]))
                })
                .collect();
            for (i, t) in threads.into_iter().enumerate() {
                match t.join() {
                    Ok(got) => print_call(i, &got),
                    Err(_) => println!("CALL {} ERR -1 the calling thread panicked", i),
                }
            }
        }
        _ => {
            eprintln!("ttrpc-rust-peer: unknown call list {:?}", name);
            return 2;
        }
    }
    0
}
