// SPDX-License-Identifier: Apache-2.0

// grpc-go-peer is the grpc-go (Debian's golang-google-grpc-dev) side of the
// libttrpc gRPC interop tests. Messages are raw bytes (a pass-through codec),
// so no generated Go code is needed.
//
//	grpc-go-peer server --socket PATH [--certs DIR]
//	    serve interop.Echo (the methods of python_grpc_peer.py) on unix:PATH
//	    and 127.0.0.1 (h2c), with --certs (make_test_certs.sh's files) also
//	    over TLS and mutual TLS; prints "port N", "tls-port N", "mtls-port N",
//	    "ready". SIGTERM: graceful stop, exit 0. It also answers
//	    ttrpc.bench.v1.Bench/Echo (bench/run.sh's grpc-go server).
//	grpc-go-peer client --server PATH/ttrpc-grpc-c-server --make-certs SCRIPT
//	    start our server (h2c unix and TCP, TLS, mutual TLS) and run the
//	    client matrix against it; one "ok NAME" / "FAIL NAME: why" line per
//	    case, exit 1 when one failed.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const (
	service   = "interop.Echo"
	benchEcho = "/ttrpc.bench.v1.Bench/Echo" // EchoMessage in, the same bytes out
	peerMax   = 16 << 20                     // what this peer accepts and sends
	ourLimit  = 4 << 20                      // TTRPC_MAX_MESSAGE_SIZE, our server's default
)

// raw passes []byte through: both the old grpc.Codec (String) and encoding.Codec (Name).
type raw struct{}

func (raw) Marshal(v interface{}) ([]byte, error) {
	p, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("raw codec: %T", v)
	}
	return *p, nil
}

func (raw) Unmarshal(data []byte, v interface{}) error {
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("raw codec: %T", v)
	}
	*p = append([]byte(nil), data...)
	return nil
}

func (raw) String() string { return "proto" }
func (raw) Name() string   { return "proto" }

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintf(os.Stderr, "usage: %s server|client ...\n", os.Args[0])
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	socket := fs.String("socket", "", "unix socket path (server)")
	certs := fs.String("certs", "", "directory of make_test_certs.sh's files (server)")
	ours := fs.String("server", "", "our ttrpc-grpc-c-server (client)")
	makeCerts := fs.String("make-certs", "", "make_test_certs.sh (client)")
	fs.Parse(os.Args[2:])
	switch {
	case os.Args[1] == "server" && *socket != "":
		serve(*socket, *certs)
	case os.Args[1] == "client" && *ours != "" && *makeCerts != "":
		os.Exit(clientSuite(*ours, *makeCerts))
	default:
		fmt.Fprintf(os.Stderr, "usage: %s server --socket PATH [--certs DIR] | client --server BIN --make-certs SCRIPT\n",
			os.Args[0])
		os.Exit(2)
	}
}

// ---- server

func handle(method string, req []byte, ctx context.Context) ([]byte, error) {
	switch method {
	case "Echo":
		return req, nil
	case "Fail":
		parts := strings.SplitN(string(req), ":", 2)
		code, _ := strconv.Atoi(parts[0])
		msg := ""
		if len(parts) == 2 {
			msg = parts[1]
		}
		return nil, status.Error(codes.Code(code), msg)
	case "Metadata":
		md, _ := metadata.FromIncomingContext(ctx)
		keys := make([]string, 0, len(md))
		for k := range md {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for _, k := range keys {
			for _, v := range md[k] {
				if strings.HasSuffix(k, "-bin") {
					v = hex.EncodeToString([]byte(v))
				}
				fmt.Fprintf(&b, "%s=%s\n", k, v)
			}
		}
		return []byte(b.String()), nil
	case "Deadline":
		d, ok := ctx.Deadline()
		if !ok {
			return []byte("none"), nil
		}
		return []byte(fmt.Sprintf("%.3f", time.Until(d).Seconds())), nil
	case "Sleep":
		ms, _ := strconv.Atoi(string(req))
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
			return []byte("slept"), nil
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	case "Size":
		n, _ := strconv.Atoi(string(req))
		return []byte(strings.Repeat("z", n)), nil
	}
	return nil, status.Errorf(codes.Unimplemented, "unknown method %s", method)
}

// Streams, as ttrpc-grpc-c-server's: Download "COUNT SIZE [CODE]" (byte j of
// message i is (i + j) & 0xff, then CODE or OK), Upload ("MESSAGES BYTES
// CHECKSUM", the checksum the sum of position (from 1) times byte sum), Chat
// (echoes each message).
func handleStream(method string, stream grpc.ServerStream) error {
	switch method {
	case "Download":
		var req []byte
		if err := stream.RecvMsg(&req); err != nil {
			return err
		}
		var count, size, code int
		fmt.Sscan(string(req), &count, &size, &code)
		for i := 0; i < count; i++ {
			m := make([]byte, size)
			for j := range m {
				m[j] = byte(i + j)
			}
			if err := stream.SendMsg(&m); err != nil {
				return err
			}
		}
		if code != 0 {
			return status.Errorf(codes.Code(code), "after %d messages", count)
		}
		return nil
	case "Upload":
		var n, total, sum uint64
		for {
			var m []byte
			if err := stream.RecvMsg(&m); err == io.EOF {
				break
			} else if err != nil {
				return err
			}
			n++
			total += uint64(len(m))
			var s uint64
			for _, b := range m {
				s += uint64(b)
			}
			sum += n * s
		}
		resp := []byte(fmt.Sprintf("%d %d %d", n, total, sum))
		return stream.SendMsg(&resp)
	default: // Chat
		for {
			var m []byte
			if err := stream.RecvMsg(&m); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			if err := stream.SendMsg(&m); err != nil {
				return err
			}
		}
	}
}

func unknownHandler(srv interface{}, stream grpc.ServerStream) error {
	full, _ := grpc.MethodFromServerStream(stream)
	if full == benchEcho { // bench/run.sh's grpc-go server: the message back as it came
		var msg []byte
		if err := stream.RecvMsg(&msg); err != nil {
			return err
		}
		return stream.SendMsg(&msg)
	}
	if !strings.HasPrefix(full, "/"+service+"/") {
		return status.Errorf(codes.Unimplemented, "unknown service in %s", full)
	}
	switch strings.TrimPrefix(full, "/"+service+"/") {
	case "Download", "Upload", "Chat":
		return handleStream(strings.TrimPrefix(full, "/"+service+"/"), stream)
	case "Echo", "Fail", "Metadata", "Deadline", "Sleep", "Size":
	default: // before reading: a stream may never send a request
		return status.Errorf(codes.Unimplemented, "unknown method %s", full)
	}
	var req []byte
	if err := stream.RecvMsg(&req); err != nil {
		return err
	}
	resp, err := handle(strings.TrimPrefix(full, "/"+service+"/"), req, stream.Context())
	if err != nil {
		return err
	}
	return stream.SendMsg(&resp)
}

func tlsConfig(dir string, mutual bool) *tls.Config {
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key"))
	if err != nil {
		fatal(err)
	}
	c := &tls.Config{Certificates: []tls.Certificate{pair}}
	if mutual {
		c.ClientCAs = pool(filepath.Join(dir, "ca.pem"))
		c.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return c
}

func pool(file string) *x509.CertPool {
	pem, err := ioutil.ReadFile(file)
	if err != nil {
		fatal(err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		fatal(fmt.Errorf("no certificate in %s", file))
	}
	return p
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "grpc-go-peer:", err)
	os.Exit(1)
}

func newServer(opts ...grpc.ServerOption) *grpc.Server {
	opts = append(opts, grpc.CustomCodec(raw{}), grpc.UnknownServiceHandler(unknownHandler),
		grpc.MaxRecvMsgSize(peerMax), grpc.MaxSendMsgSize(peerMax))
	return grpc.NewServer(opts...)
}

func listenTCP() net.Listener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal(err)
	}
	return l
}

func serve(socket, certs string) {
	os.Remove(socket)
	ul, err := net.Listen("unix", socket)
	if err != nil {
		fatal(err)
	}
	plain := newServer()
	servers := []*grpc.Server{plain}
	tl := listenTCP()
	go plain.Serve(ul)
	go plain.Serve(tl)
	fmt.Printf("port %d\n", tl.Addr().(*net.TCPAddr).Port)
	if certs != "" {
		for i, name := range []string{"tls-port", "mtls-port"} {
			s := newServer(grpc.Creds(credentials.NewTLS(tlsConfig(certs, i == 1))))
			l := listenTCP()
			go s.Serve(l)
			servers = append(servers, s)
			fmt.Printf("%s %d\n", name, l.Addr().(*net.TCPAddr).Port)
		}
	}
	fmt.Println("ready")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	for _, s := range servers {
		s.GracefulStop()
	}
}

// ---- client matrix against our server

type suite struct {
	failed int
}

func (s *suite) check(name string, err error) {
	if err != nil {
		s.failed++
		fmt.Printf("FAIL %s: %v\n", name, err)
	} else {
		fmt.Printf("ok %s\n", name)
	}
}

func call(conn *grpc.ClientConn, ctx context.Context, method string, req []byte, opts ...grpc.CallOption) ([]byte, error) {
	var resp []byte
	opts = append(opts, grpc.ForceCodec(raw{}), grpc.MaxCallRecvMsgSize(peerMax), grpc.MaxCallSendMsgSize(peerMax))
	err := conn.Invoke(ctx, method, &req, &resp, opts...)
	return resp, err
}

// Download, Upload and Chat of ttrpc-grpc-c-server through grpc-go's
// client: messages in order and intact (empty ones too), a status after
// messages, 2 MiB messages past the windows, echoes in turn.
func streamChecks(conn *grpc.ClientConn) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	open := func(method string, server, client bool) (grpc.ClientStream, error) {
		return conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: server, ClientStreams: client},
			"/"+service+"/"+method, grpc.ForceCodec(raw{}), grpc.MaxCallRecvMsgSize(peerMax),
			grpc.MaxCallSendMsgSize(peerMax))
	}
	msg := func(i, size int) []byte {
		m := make([]byte, size)
		for j := range m {
			m[j] = byte(i + j)
		}
		return m
	}
	for _, c := range []struct{ count, size, code int }{{0, 0, 0}, {3, 0, 0}, {20, 1000, 0}, {8, 2 << 20, 0}, {2, 10, 9}} {
		st, err := open("Download", true, false)
		if err != nil {
			return err
		}
		req := []byte(fmt.Sprintf("%d %d %d", c.count, c.size, c.code))
		if err := st.SendMsg(&req); err != nil {
			return err
		}
		st.CloseSend()
		n := 0
		for ; ; n++ {
			var m []byte
			err := st.RecvMsg(&m)
			if err == io.EOF && c.code == 0 {
				break
			}
			if err != nil {
				if s, _ := status.FromError(err); c.code != 0 && s.Code() == codes.Code(c.code) &&
					s.Message() == fmt.Sprintf("after %d messages", c.count) {
					break
				}
				return fmt.Errorf("download %v: message %d: %v", c, n, err)
			}
			if string(m) != string(msg(n, c.size)) {
				return fmt.Errorf("download %v: message %d differs (%d bytes)", c, n, len(m))
			}
		}
		if n != c.count {
			return fmt.Errorf("download %v: %d messages", c, n)
		}
	}
	up, err := open("Upload", false, true)
	if err != nil {
		return err
	}
	sizes := []int{0, 1, 0, 70000, 2 << 20, 2 << 20, 5}
	var total, sum uint64
	for i, size := range sizes {
		m := msg(i, size)
		var s uint64
		for _, b := range m {
			s += uint64(b)
		}
		sum += uint64(i+1) * s
		total += uint64(size)
		if err := up.SendMsg(&m); err != nil {
			return fmt.Errorf("upload: send %d: %v", i, err)
		}
	}
	up.CloseSend()
	var resp []byte
	if err := up.RecvMsg(&resp); err != nil {
		return fmt.Errorf("upload: %v", err)
	}
	if want := fmt.Sprintf("%d %d %d", len(sizes), total, sum); string(resp) != want {
		return fmt.Errorf("upload: %q, want %q", resp, want)
	}
	chat, err := open("Chat", true, true)
	if err != nil {
		return err
	}
	for i, size := range []int{0, 1, 100, 0, 16385, 1 << 20, 0} {
		m := msg(i*3, size)
		if err := chat.SendMsg(&m); err != nil {
			return fmt.Errorf("chat: send %d: %v", i, err)
		}
		var back []byte
		if err := chat.RecvMsg(&back); err != nil || string(back) != string(m) {
			return fmt.Errorf("chat: echo %d: %v (%d bytes)", i, err, len(back))
		}
	}
	chat.CloseSend()
	var m []byte
	if err := chat.RecvMsg(&m); err != io.EOF {
		return fmt.Errorf("chat: end: %v", err)
	}
	return nil
}

func echoCall(conn *grpc.ClientConn, method string, req []byte, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return call(conn, ctx, "/"+service+"/"+method, req)
}

func wantCode(err error, code codes.Code) error {
	if status.Code(err) != code {
		return fmt.Errorf("want %v, got %v", code, err)
	}
	return nil
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + n)
	}
	return b
}

func clientTLS(dir string, withCert bool, ca string) credentials.TransportCredentials {
	c := &tls.Config{RootCAs: pool(filepath.Join(dir, ca)), ServerName: "localhost"}
	if withCert {
		pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key"))
		if err != nil {
			fatal(err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return credentials.NewTLS(c)
}

func dial(target string, opts ...grpc.DialOption) *grpc.ClientConn {
	conn, err := grpc.Dial(target, opts...)
	if err != nil {
		fatal(err)
	}
	return conn
}

func startOurs(bin, makeCerts, dir string) (*exec.Cmd, map[string]int) {
	certs := filepath.Join(dir, "certs")
	os.Mkdir(certs, 0700)
	if out, err := exec.Command("bash", makeCerts, certs).CombinedOutput(); err != nil {
		fatal(fmt.Errorf("%s: %v\n%s", makeCerts, err, out))
	}
	c := func(n string) string { return filepath.Join(certs, n) }
	cmd := exec.Command(bin, "--socket", filepath.Join(dir, "ttrpc.sock"), "--grpc-socket",
		filepath.Join(dir, "grpc.sock"), "--grpc-tcp", "127.0.0.1:0", "--tls-cert", c("server.pem"),
		"--tls-key", c("server.key"), "--tls-client-ca", c("ca.pem"), "--grpc-tls", "127.0.0.1:0",
		"--grpc-mtls", "127.0.0.1:0")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fatal(err)
	}
	if err := cmd.Start(); err != nil {
		fatal(err)
	}
	ports := map[string]int{}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 1 && f[0] == "ready" {
			return cmd, ports
		}
		if len(f) == 2 {
			ports[f[0]], _ = strconv.Atoi(f[1])
		}
	}
	fatal(errors.New("our server exited before ready"))
	return nil, nil
}

func clientSuite(bin, makeCerts string) int {
	dir, err := ioutil.TempDir("", "grpc-go-client-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(dir)
	cmd, ports := startOurs(bin, makeCerts, dir)
	defer cmd.Process.Kill()
	certs := filepath.Join(dir, "certs")
	sock := filepath.Join(dir, "grpc.sock")
	unixDialer := grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	})
	tcp := func(p string) string { return fmt.Sprintf("127.0.0.1:%d", ports[p]) }
	conns := map[string]*grpc.ClientConn{
		"unix": dial("passthrough:///unix", grpc.WithInsecure(), unixDialer),
		"tcp":  dial(tcp("port"), grpc.WithInsecure()),
		"tls":  dial(tcp("tls-port"), grpc.WithTransportCredentials(clientTLS(certs, false, "ca.pem"))),
		"mtls": dial(tcp("mtls-port"), grpc.WithTransportCredentials(clientTLS(certs, true, "ca.pem"))),
	}
	s := &suite{}
	kinds := []string{"unix", "tcp", "tls", "mtls"}
	for _, kind := range kinds {
		conn := conns[kind]
		s.check("echo_0_to_limit_"+kind, func() error {
			for _, n := range []int{0, 1, 5, 16383, 16384, 65536, 1 << 20, ourLimit} {
				req := pattern(n)
				resp, err := echoCall(conn, "Echo", req, 30*time.Second)
				if err != nil || string(resp) != string(req) {
					return fmt.Errorf("%d bytes: %v (%d back)", n, err, len(resp))
				}
			}
			return nil
		}())
		s.check("streams_"+kind, streamChecks(conn))
		s.check("sixty_four_in_flight_"+kind, func() error {
			t0 := time.Now()
			var wg sync.WaitGroup
			errs := make(chan error, 64)
			for i := 0; i < 64; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := echoCall(conn, "Sleep", []byte("300"), 30*time.Second)
					if err != nil || string(resp) != "slept" {
						errs <- fmt.Errorf("%v %q", err, resp)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				return err
			}
			if took := time.Since(t0); took > 5*time.Second {
				return fmt.Errorf("64 calls of 300 ms took %v", took)
			}
			return nil
		}())
	}
	conn := conns["unix"]
	s.check("oversized_request", func() error {
		_, err := echoCall(conn, "Echo", pattern(ourLimit+1), 30*time.Second)
		if e := wantCode(err, codes.ResourceExhausted); e != nil {
			return e
		}
		_, err = echoCall(conn, "Echo", []byte("after"), 10*time.Second)
		return err
	}())
	s.check("oversized_response", func() error {
		resp, err := echoCall(conn, "Size", []byte(strconv.Itoa(ourLimit)), 30*time.Second)
		if err != nil || len(resp) != ourLimit {
			return fmt.Errorf("%d bytes: %v", len(resp), err)
		}
		_, err = echoCall(conn, "Size", []byte(strconv.Itoa(ourLimit+1)), 30*time.Second)
		return wantCode(err, codes.ResourceExhausted)
	}())
	s.check("every_status_code_with_message", func() error {
		for code := codes.Code(1); code <= 16; code++ {
			msg := fmt.Sprintf("failed: 100%% \u00e9t\u00e9\n(%v)", code)
			_, err := echoCall(conn, "Fail", []byte(fmt.Sprintf("%d:%s", code, msg)), 10*time.Second)
			st, _ := status.FromError(err)
			if st.Code() != code || st.Message() != msg {
				return fmt.Errorf("code %d: got %v %q", code, st.Code(), st.Message())
			}
		}
		return nil
	}())
	s.check("metadata_text_and_binary", func() error {
		ctx := metadata.AppendToOutgoingContext(context.Background(), "x-text", "hello world", "x-multi", "one",
			"x-multi", "two", "x-raw-bin", "\x01\x02\xff\x80 z")
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		resp, err := call(conn, ctx, "/"+service+"/Metadata", nil)
		got := string(resp)
		for _, want := range []string{"x-text=hello world\n", "x-multi=one\nx-multi=two\n", "x-raw-bin=0102ff80207a\n"} {
			if err != nil || !strings.Contains(got, want) {
				return fmt.Errorf("%v: %q lacks %q", err, got, want)
			}
		}
		return nil
	}())
	s.check("response_metadata", func() error {
		var hdr, tr metadata.MD
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := call(conn, ctx, "/"+service+"/ResponseMetadata", []byte("0"), grpc.Header(&hdr), grpc.Trailer(&tr))
		if err != nil || string(resp) != "set, reserved refused" {
			return fmt.Errorf("%v %q", err, resp)
		}
		want := func(md metadata.MD, k, v string) error {
			if got := md.Get(k); len(got) != 1 || got[0] != v {
				return fmt.Errorf("%s: %q, want %q (in %v)", k, got, v, md)
			}
			return nil
		}
		for _, e := range []error{want(hdr, "x-h", "head"), want(hdr, "x-h-bin", "\x01\x02\xff"),
			want(tr, "x-t", "tail"), want(tr, "x-t-bin", "\xfe\x80")} {
			if e != nil {
				return e
			}
		}
		hdr, tr = nil, nil
		_, err = call(conn, ctx, "/"+service+"/ResponseMetadata", []byte("9"), grpc.Header(&hdr), grpc.Trailer(&tr))
		if e := wantCode(err, codes.FailedPrecondition); e != nil {
			return e
		}
		// trailers-only: both sets arrive as trailers
		if e := want(tr, "x-h", "head"); e != nil {
			return e
		}
		return want(tr, "x-t-bin", "\xfe\x80")
	}())
	s.check("deadline", func() error {
		resp, err := call(conn, context.Background(), "/"+service+"/Deadline", nil)
		if err != nil || string(resp) != "none" {
			return fmt.Errorf("no deadline: %v %q", err, resp)
		}
		resp, err = echoCall(conn, "Deadline", nil, 5*time.Second)
		left, _ := strconv.ParseFloat(string(resp), 64)
		if err != nil || left <= 3 || left > 5.1 {
			return fmt.Errorf("5 s deadline: %v, server saw %q", err, resp)
		}
		t0 := time.Now()
		_, err = echoCall(conn, "Sleep", []byte("3000"), 200*time.Millisecond)
		if e := wantCode(err, codes.DeadlineExceeded); e != nil {
			return e
		}
		if took := time.Since(t0); took > 1500*time.Millisecond {
			return fmt.Errorf("deadline after %v", took)
		}
		_, err = echoCall(conn, "Echo", []byte("x"), 10*time.Second)
		return err
	}())
	s.check("cancellation", func() error {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		_, err := call(conn, ctx, "/"+service+"/Sleep", []byte("5000"))
		if e := wantCode(err, codes.Canceled); e != nil {
			return e
		}
		_, err = echoCall(conn, "Echo", []byte("y"), 10*time.Second)
		return err
	}())
	s.check("unknown_method_and_service", func() error {
		for _, m := range []string{"/" + service + "/Nope", "/interop.Nope/Echo"} {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := call(conn, ctx, m, nil)
			cancel()
			if e := wantCode(err, codes.Unimplemented); e != nil {
				return fmt.Errorf("%s: %v", m, e)
			}
		}
		return nil
	}())
	s.check("peer_credentials_on_unix", func() error {
		resp, err := echoCall(conn, "Peer", nil, 10*time.Second)
		want := fmt.Sprintf("%d %d", os.Getpid(), os.Getuid())
		if err != nil || string(resp) != want {
			return fmt.Errorf("%v %q, want %q", err, resp, want)
		}
		return nil
	}())
	refused := func(creds credentials.TransportCredentials, port string) error {
		c := dial(tcp(port), grpc.WithTransportCredentials(creds))
		defer c.Close()
		_, err := echoCall(c, "Echo", []byte("x"), 10*time.Second)
		return wantCode(err, codes.Unavailable)
	}
	s.check("mtls_without_client_certificate_refused", refused(clientTLS(certs, false, "ca.pem"), "mtls-port"))
	s.check("wrong_ca_refused", refused(clientTLS(certs, false, "other-ca.pem"), "tls-port"))
	s.check("graceful_shutdown", func() error {
		done := make(chan error, 1)
		go func() {
			resp, err := echoCall(conns["tls"], "Sleep", []byte("500"), 30*time.Second)
			if err == nil && string(resp) != "slept" {
				err = fmt.Errorf("%q", resp)
			}
			done <- err
		}()
		time.Sleep(200 * time.Millisecond)
		cmd.Process.Signal(syscall.SIGTERM)
		if err := <-done; err != nil {
			return fmt.Errorf("call during shutdown: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			return err // non-nil unless exit status 0
		case <-time.After(10 * time.Second):
			return errors.New("our server did not exit within 10 s of SIGTERM")
		}
	}())
	for _, c := range conns {
		c.Close()
	}
	if s.failed > 0 {
		fmt.Printf("%d failed\n", s.failed)
		return 1
	}
	return 0
}
