// SPDX-License-Identifier: Apache-2.0

// ttrpc-go-peer is the Go side of the libttrpc interop tests. It uses the
// real github.com/containerd/ttrpc (Debian's package) so that our C client
// and server are checked against the reference implementation.
//
//	ttrpc-go-peer server --socket PATH
//	ttrpc-go-peer client --socket PATH --test NAME
//	ttrpc-go-peer client --socket PATH --call NAME
//
// --call is the client driver of `ttrpc-conform client`: the named scripted
// calls of ttrpc.bench.v1.Bench/Echo, one "CALL <i> OK <payload>" or
// "CALL <i> ERR <code> <message>" line per call (-1: not a status), exit 0.
//
// The message of every method is gogo's BytesValue, which is wire-identical
// to `message { bytes payload = 1; }`.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/ttrpc"
	"github.com/gogo/protobuf/proto"
	"github.com/gogo/protobuf/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	testService  = "ttrpc.interop.v1.Test"
	benchService = "ttrpc.bench.v1.Bench"
	maxMessage   = 4 << 20 // Go ttrpc's messageLengthMax
)

func usage() {
	fmt.Fprintf(os.Stderr, "usage: %s server --socket PATH\n       %s client --socket PATH --test NAME\n",
		os.Args[0], os.Args[0])
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	socket := fs.String("socket", "", "unix socket path")
	test := fs.String("test", "all", "client scenario")
	call := fs.String("call", "", "ttrpc-conform client driver: call list")
	if err := fs.Parse(os.Args[2:]); err != nil || *socket == "" {
		usage()
	}
	switch mode {
	case "server":
		os.Exit(runServer(*socket))
	case "client":
		if *call != "" {
			os.Exit(runCalls(*socket, *call))
		}
		os.Exit(runClient(*socket, *test))
	default:
		usage()
	}
}

// ---------------------------------------------------------------- server

func payloadOf(unmarshal func(interface{}) error) ([]byte, error) {
	var req types.BytesValue
	if err := unmarshal(&req); err != nil {
		return nil, err
	}
	return req.Value, nil
}

func answer(s string) *types.BytesValue { return &types.BytesValue{Value: []byte(s)} }

func echo(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
	p, err := payloadOf(unmarshal)
	if err != nil {
		return nil, err
	}
	return &types.BytesValue{Value: p}, nil
}

func fail(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
	p, err := payloadOf(unmarshal)
	if err != nil {
		return nil, err
	}
	parts := strings.SplitN(string(p), ":", 2)
	code, err := strconv.Atoi(parts[0])
	if err != nil || len(parts) != 2 {
		return nil, status.Errorf(codes.InvalidArgument, "Fail wants \"<code>:<message>\", got %q", p)
	}
	return nil, status.New(codes.Code(code), parts[1]).Err()
}

// metadataText is the request metadata as sorted "key=value\n" lines.
func metadataText(md ttrpc.MD) string {
	var lines []string
	for k, vs := range md {
		for _, v := range vs {
			lines = append(lines, k+"="+v+"\n")
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "")
}

func metadata(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
	if _, err := payloadOf(unmarshal); err != nil {
		return nil, err
	}
	md, _ := ttrpc.GetMetadata(ctx)
	return answer(metadataText(md)), nil
}

func sleep(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
	p, err := payloadOf(unmarshal)
	if err != nil {
		return nil, err
	}
	ms, err := strconv.Atoi(string(p))
	if err != nil || ms < 0 {
		return nil, status.Errorf(codes.InvalidArgument, "Sleep wants milliseconds, got %q", p)
	}
	t := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return answer("slept"), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// deadlineText is "deadline=no" or "deadline=yes remaining_ms=N".
func deadline(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
	if _, err := payloadOf(unmarshal); err != nil {
		return nil, err
	}
	dl, ok := ctx.Deadline()
	if !ok {
		return answer("deadline=no"), nil
	}
	return answer(fmt.Sprintf("deadline=yes remaining_ms=%d", time.Until(dl).Milliseconds())), nil
}

func runServer(path string) int {
	srv, err := ttrpc.NewServer()
	if err != nil {
		fmt.Fprintf(os.Stderr, "ttrpc-go-peer: new server: %v\n", err)
		return 1
	}
	srv.Register(benchService, map[string]ttrpc.Method{"Echo": echo})
	srv.Register(testService, map[string]ttrpc.Method{
		"Echo":     echo,
		"Fail":     fail,
		"Metadata": metadata,
		"Sleep":    sleep,
		"Deadline": deadline,
	})
	_ = os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ttrpc-go-peer: listen %s: %v\n", path, err)
		return 1
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background(), l) }()
	fmt.Println("ready")
	select {
	case sig := <-sigs:
		fmt.Fprintf(os.Stderr, "ttrpc-go-peer: %v, closing\n", sig)
		srv.Close()
		<-served
		_ = os.Remove(path)
		return 0
	case err := <-served:
		fmt.Fprintf(os.Stderr, "ttrpc-go-peer: serve: %v\n", err)
		return 1
	}
}

// ---------------------------------------------------------------- client

type checker struct {
	failed int
	passed int
}

func (c *checker) check(ok bool, format string, args ...interface{}) bool {
	msg := fmt.Sprintf(format, args...)
	if ok {
		c.passed++
		fmt.Printf("PASS %s\n", msg)
	} else {
		c.failed++
		fmt.Printf("FAIL %s\n", msg)
	}
	return ok
}

type peer struct {
	*checker
	client *ttrpc.Client
}

func (p *peer) call(ctx context.Context, service, method string, payload []byte) ([]byte, error) {
	var resp types.BytesValue
	err := p.client.Call(ctx, service, method, &types.BytesValue{Value: payload}, &resp)
	return resp.Value, err
}

func describe(err error) string {
	if err == nil {
		return "OK"
	}
	if st, ok := status.FromError(err); ok {
		return fmt.Sprintf("%v %q", st.Code(), st.Message())
	}
	return fmt.Sprintf("error %v", err)
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7+i/251) ^ seed
	}
	return b
}

// largestEcho is the largest BytesValue payload whose Request envelope for
// service/method still fits in one frame. Go 1.1.1 checks nothing before
// sending, so "what Go can send" is what the receiving side accepts.
func largestEcho(service, method string) int {
	size := func(n int) int {
		inner, _ := proto.Marshal(&types.BytesValue{Value: make([]byte, n)})
		return proto.Size(&ttrpc.Request{Service: service, Method: method, Payload: inner})
	}
	n := maxMessage
	for n > 0 && size(n) > maxMessage {
		n -= size(n) - maxMessage
	}
	for size(n+1) <= maxMessage {
		n++
	}
	return n
}

func testEcho(p *peer) {
	ctx := context.Background()
	max := largestEcho(testService, "Echo")
	fmt.Printf("INFO largest echo payload for %s/Echo: %d bytes\n", testService, max)
	for i, n := range []int{0, 1, 1000, 65536, 1 << 20, max} {
		want := pattern(n, byte(i))
		got, err := p.call(ctx, testService, "Echo", want)
		p.check(err == nil && bytes.Equal(got, want), "echo %d bytes: %s, got %d bytes back", n, describe(err),
			len(got))
	}
	got, err := p.call(ctx, benchService, "Echo", []byte("bench"))
	p.check(err == nil && string(got) == "bench", "%s/Echo: %s %q", benchService, describe(err), got)

	// One byte more does not fit in a frame: the C server discards it and
	// answers RESOURCE_EXHAUSTED on that stream, keeping the connection.
	// Bounded: a server that loses the frame (Rust 0.5.2) never answers.
	bctx, bcancel := context.WithTimeout(ctx, 10*time.Second)
	defer bcancel()
	_, err = p.call(bctx, testService, "Echo", make([]byte, max+1))
	p.check(status.Code(err) == codes.ResourceExhausted &&
		strings.Contains(status.Convert(err).Message(), "exceed maximum message size of 4194304"),
		"echo %d bytes (one too many): want ResourceExhausted, got %s", max+1, describe(err))
	uctx, ucancel := context.WithTimeout(ctx, 10*time.Second)
	defer ucancel()
	got, err = p.call(uctx, testService, "Echo", []byte("still here"))
	p.check(err == nil && string(got) == "still here", "connection usable after oversized request: %s",
		describe(err))
}

func testErrors(p *peer) {
	ctx := context.Background()
	for code := 1; code <= 16; code++ {
		msg := fmt.Sprintf("failure %d: %s, 100%% ünïcødé %%s", code, codes.Code(code))
		_, err := p.call(ctx, testService, "Fail", []byte(fmt.Sprintf("%d:%s", code, msg)))
		st, ok := status.FromError(err)
		p.check(err != nil && ok && st.Code() == codes.Code(code) && st.Message() == msg,
			"Fail code %d (%v): got %s", code, codes.Code(code), describe(err))
	}
	_, err := p.call(ctx, testService, "Fail", []byte("3:"))
	p.check(status.Code(err) == codes.InvalidArgument && status.Convert(err).Message() == "",
		"Fail with empty message: got %s", describe(err))
}

func testMetadata(p *peer) {
	md := ttrpc.MD{}
	md.Append("containerd-namespace-ttrpc", "k8s.io")
	md.Append("X-Mixed-Case", "Value Keeps Case")
	md.Append("repeated", "one", "two", "three")
	md.Append("empty", "")
	md.Append("utf8", "ünïcødé=and=equals")
	want := "containerd-namespace-ttrpc=k8s.io\nempty=\nrepeated=one\nrepeated=three\nrepeated=two\n" +
		"utf8=ünïcødé=and=equals\nx-mixed-case=Value Keeps Case\n"
	got, err := p.call(ttrpc.WithMetadata(context.Background(), md), testService, "Metadata", nil)
	if !p.check(err == nil && string(got) == want, "metadata round trip (8 pairs, a repeated key): %s",
		describe(err)) {
		fmt.Printf("---- got\n%s---- want\n%s----\n", got, want)
	}

	got, err = p.call(context.Background(), testService, "Metadata", nil)
	p.check(err == nil && string(got) == "", "no metadata: %s %q", describe(err), got)
}

// serverTimeoutKey carries a timeout_nano to put on the wire in place of the
// one Go derives from the context's deadline (see timeoutInterceptor).
type serverTimeoutKey struct{}

func withServerTimeout(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, serverTimeoutKey{}, d)
}

// timeoutInterceptor lets a test send a request whose timeout_nano is much
// shorter than its own context deadline: then only the server can end the
// call early, and it must say so with a status.
func timeoutInterceptor(ctx context.Context, req *ttrpc.Request, resp *ttrpc.Response,
	info *ttrpc.UnaryClientInfo, invoker ttrpc.Invoker) error {
	if d, ok := ctx.Value(serverTimeoutKey{}).(time.Duration); ok {
		req.TimeoutNano = d.Nanoseconds()
	}
	return invoker(ctx, req, resp)
}

// serverDeadlineExceeded: err is the C server's DEADLINE_EXCEEDED status, not
// the client's own context expiring.
func serverDeadlineExceeded(ctx context.Context, err error) bool {
	st, isStatus := status.FromError(err)
	return err != nil && isStatus && st.Code() == codes.DeadlineExceeded &&
		st.Message() == "context deadline exceeded" && ctx.Err() == nil
}

func testTimeout(p *peer) {
	// timeout_nano says 200 ms, our own context allows 20 s, Sleep wants 15 s:
	// only the C server's deadline handling can end the call before 15 s.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := p.call(withServerTimeout(ctx, 200*time.Millisecond), testService, "Sleep", []byte("15000"))
	p.check(serverDeadlineExceeded(ctx, err),
		"Sleep 15s, timeout_nano 200ms, context 20s: want the server's DeadlineExceeded status, got %s (context: %v)",
		describe(err), ctx.Err())

	// A negative timeout_nano is a deadline already passed (what Go sends for a
	// context about to expire): answered at once, not "no deadline".
	_, err = p.call(withServerTimeout(ctx, -time.Millisecond), testService, "Sleep", []byte("15000"))
	p.check(serverDeadlineExceeded(ctx, err),
		"Sleep 15s, timeout_nano -1ms: want the server's DeadlineExceeded status, got %s (context: %v)",
		describe(err), ctx.Err())

	// The C server sees the deadline (timeout_nano) and reports what is left.
	dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer dcancel()
	got, err := p.call(dctx, testService, "Deadline", nil)
	var ms int
	n, _ := fmt.Sscanf(string(got), "deadline=yes remaining_ms=%d", &ms)
	p.check(err == nil && n == 1 && ms > 3000 && ms <= 5000, "C server saw a 5s deadline: %s %q", describe(err),
		got)

	got, err = p.call(context.Background(), testService, "Deadline", nil)
	p.check(err == nil && string(got) == "deadline=no", "no deadline: %s %q", describe(err), got)

	// A sleep shorter than the deadline completes normally.
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	got, err = p.call(sctx, testService, "Sleep", []byte("150"))
	p.check(err == nil && string(got) == "slept", "Sleep 150ms within a 10s deadline: %s %q", describe(err), got)

	// The connection is still fine after the calls the server cut short.
	got, err = p.call(context.Background(), testService, "Echo", []byte("after"))
	p.check(err == nil && string(got) == "after", "echo after timeout: %s", describe(err))
}

func testUnimplemented(p *peer) {
	ctx := context.Background()
	_, err := p.call(ctx, testService, "NoSuchMethod", nil)
	p.check(status.Code(err) == codes.Unimplemented && status.Convert(err).Message() == "method NoSuchMethod",
		"unknown method: got %s", describe(err))
	_, err = p.call(ctx, "ttrpc.interop.v1.NoSuchService", "Echo", nil)
	p.check(status.Code(err) == codes.Unimplemented &&
		status.Convert(err).Message() == "service ttrpc.interop.v1.NoSuchService",
		"unknown service: got %s", describe(err))
}

func testConcurrent(p *peer) {
	const n = 64
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A call that sleeps longer than the whole scenario may take: every other
	// call must be answered while it is still pending, or the server
	// serializes calls.
	blocker, unblock := context.WithCancel(ctx)
	blocked := make(chan error, 1)
	go func() {
		_, err := p.call(blocker, testService, "Sleep", []byte("60000"))
		blocked <- err
	}()
	var wg sync.WaitGroup
	errs := make([]string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var err error
			var got []byte
			want := []byte(fmt.Sprintf("call-%d-", i) + strings.Repeat("x", i*97))
			if i%16 == 1 {
				// a few large ones, so that frames are written in pieces
				want = pattern(1<<20+i, byte(i))
			}
			if i%4 == 0 {
				// slow ones, so that answers come back out of order
				got, err = p.call(ctx, testService, "Sleep", []byte(strconv.Itoa(200+i)))
				want = []byte("slept")
			} else {
				got, err = p.call(ctx, testService, "Echo", want)
			}
			if err != nil || !bytes.Equal(got, want) {
				errs[i] = fmt.Sprintf("call %d: %s, got %d bytes", i, describe(err), len(got))
			}
		}(i)
	}
	wg.Wait()
	var pending bool
	select {
	case err := <-blocked:
		fmt.Printf("  the 60 s Sleep ended early: %s\n", describe(err))
	default:
		pending = true
	}
	unblock()
	bad := 0
	for _, e := range errs {
		if e != "" {
			bad++
			fmt.Printf("  %s\n", e)
		}
	}
	p.check(bad == 0, "%d concurrent calls on one client: %d wrong", n, bad)
	p.check(pending, "all %d calls answered while a 60 s Sleep was still pending", n)
	err := <-blocked
	p.check(errors.Is(err, context.Canceled), "the pending Sleep ends when cancelled: %s", describe(err))
}

var scenarios = []struct {
	name string
	fn   func(*peer)
}{
	{"echo", testEcho},
	{"errors", testErrors},
	{"metadata", testMetadata},
	{"timeout", testTimeout},
	{"unimplemented", testUnimplemented},
	{"concurrent", testConcurrent},
}

func runClient(path, test string) int {
	conn, err := net.Dial("unix", path)
	if err != nil {
		fmt.Printf("FAIL dial %s: %v\n", path, err)
		return 1
	}
	client := ttrpc.NewClient(conn, ttrpc.WithUnaryClientInterceptor(timeoutInterceptor))
	defer client.Close()
	p := &peer{checker: &checker{}, client: client}
	ran := false
	for _, s := range scenarios {
		if test == "all" || test == s.name {
			fmt.Printf("== %s\n", s.name)
			s.fn(p)
			ran = true
		}
	}
	if !ran {
		fmt.Printf("FAIL unknown scenario %q\n", test)
		return 2
	}
	fmt.Printf("scenario %s: %d checks passed, %d checks failed\n", test, p.passed, p.failed)
	if p.failed > 0 {
		return 1
	}
	return 0
}

// ---------------------------------------------------------------- conform driver

func printCall(i int, got []byte, err error) {
	if err == nil {
		fmt.Printf("CALL %d OK %s\n", i, got)
	} else if st, ok := status.FromError(err); ok {
		fmt.Printf("CALL %d ERR %d %s\n", i, st.Code(), st.Message())
	} else {
		fmt.Printf("CALL %d ERR -1 %v\n", i, err)
	}
}

func runCalls(path, name string) int {
	conn, err := net.Dial("unix", path)
	if err != nil {
		fmt.Printf("dial %s: %v\n", path, err)
		return 1
	}
	client := ttrpc.NewClient(conn)
	defer client.Close()
	p := &peer{checker: &checker{}, client: client}
	echo := func(ctx context.Context, i int, payload []byte) {
		got, err := p.call(ctx, benchService, "Echo", payload)
		printCall(i, got, err)
	}
	bg := context.Background()
	switch name {
	case "one":
		echo(bg, 0, []byte("conform"))
	case "three":
		for i, s := range []string{"a", "b", "c"} {
			echo(bg, i, []byte(s))
		}
	case "timeout":
		ctx, cancel := context.WithTimeout(bg, 2*time.Second)
		defer cancel()
		echo(ctx, 0, []byte("t"))
	case "metadata":
		md := ttrpc.MD{}
		md.Append("k1", "v1", "v2")
		md.Append("k2", "v3")
		echo(ttrpc.WithMetadata(bg, md), 0, []byte("m"))
	case "oversized":
		echo(bg, 0, make([]byte, maxMessage))
		echo(bg, 1, []byte("after"))
	case "parallel":
		type result struct {
			got []byte
			err error
		}
		results := make([]result, 4)
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				got, err := p.call(bg, benchService, "Echo", []byte(fmt.Sprintf("p%d", i)))
				results[i] = result{got, err}
			}(i)
		}
		wg.Wait()
		for i, r := range results {
			printCall(i, r.got, r.err)
		}
	default:
		fmt.Fprintf(os.Stderr, "ttrpc-go-peer: unknown call list %q\n", name)
		return 2
	}
	return 0
}
