// SPDX-License-Identifier: Apache-2.0

// ttrpc-bench-go is the Go side of the benchmark: the same Echo service and
// the same client as bench/ttrpc-bench.c, on Debian's containerd/ttrpc 1.1.1,
// so that run.sh can measure every client x server pair.
//
//	ttrpc-bench-go server --socket PATH
//	ttrpc-bench-go client --socket PATH --calls N --concurrency C --size BYTES [--connections K]
//
// The client prints the line ttrpc-bench prints. EchoMessage is wire-identical
// to gogo's BytesValue.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/containerd/ttrpc"
	"github.com/gogo/protobuf/types"
)

const benchService = "ttrpc.bench.v1.Bench"

func usage() {
	fmt.Fprintf(os.Stderr, "usage: %s server --socket PATH\n"+
		"       %s client --socket PATH [--calls N] [--concurrency C] [--size BYTES] [--connections K]\n",
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
	calls := fs.Int("calls", 10000, "calls in total")
	concurrency := fs.Int("concurrency", 1, "calls in flight on each connection")
	size := fs.Int("size", 0, "payload bytes")
	connections := fs.Int("connections", 1, "client connections")
	if err := fs.Parse(os.Args[2:]); err != nil || *socket == "" || *calls < 1 || *concurrency < 1 ||
		*connections < 1 || *size < 0 {
		usage()
	}
	switch mode {
	case "server":
		os.Exit(runServer(*socket))
	case "client":
		os.Exit(runClient(*socket, *calls, *concurrency, *connections, *size))
	default:
		usage()
	}
}

func echo(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
	var req types.BytesValue
	if err := unmarshal(&req); err != nil {
		return nil, err
	}
	return &types.BytesValue{Value: req.Value}, nil
}

func runServer(path string) int {
	srv, err := ttrpc.NewServer()
	if err != nil {
		fmt.Fprintf(os.Stderr, "ttrpc-bench-go: new server: %v\n", err)
		return 1
	}
	srv.Register(benchService, map[string]ttrpc.Method{"Echo": echo})
	_ = os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ttrpc-bench-go: listen %s: %v\n", path, err)
		return 1
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background(), l) }()
	fmt.Println("ready")
	select {
	case <-sigs:
		srv.Close()
		<-served
		_ = os.Remove(path)
		return 0
	case err := <-served:
		fmt.Fprintf(os.Stderr, "ttrpc-bench-go: serve: %v\n", err)
		return 1
	}
}

// runClient keeps concurrency calls in flight on each connection (one
// goroutine per call in flight, as Go callers do) and prints one line.
func runClient(path string, calls, concurrency, connections, size int) int {
	clients := make([]*ttrpc.Client, connections)
	for i := range clients {
		conn, err := net.Dial("unix", path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "ttrpc-bench-go: connect %s: %v\n", path, err)
			return 1
		}
		clients[i] = ttrpc.NewClient(conn)
	}
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = 0xab
	}
	lat := make([]time.Duration, calls)
	var next, failed int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := 0; w < concurrency*connections; w++ {
		wg.Add(1)
		go func(c *ttrpc.Client) {
			defer wg.Done()
			for {
				i := atomic.AddInt64(&next, 1) - 1
				if i >= int64(calls) {
					return
				}
				start := time.Now()
				var resp types.BytesValue
				err := c.Call(context.Background(), benchService, "Echo", &types.BytesValue{Value: payload}, &resp)
				lat[i] = time.Since(start)
				if err != nil || len(resp.Value) != size {
					if atomic.AddInt64(&failed, 1) == 1 {
						fmt.Fprintf(os.Stderr, "ttrpc-bench-go: call failed: %v (%d bytes back)\n", err, len(resp.Value))
					}
				}
			}
		}(clients[w%connections])
	}
	wg.Wait()
	secs := time.Since(t0).Seconds()
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	var sum float64
	for _, d := range lat {
		sum += float64(d.Nanoseconds())
	}
	p99 := int(float64(calls) * 0.99)
	if p99 >= calls {
		p99 = calls - 1
	}
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	fmt.Printf("calls=%d concurrency=%d connections=%d size=%d calls/s=%.0f mean_us=%.2f p50_us=%.2f "+
		"p99_us=%.2f MB/s=%.1f failed=%d\n",
		calls, concurrency, connections, size, float64(calls)/secs, sum/float64(calls)/1e3,
		us(lat[calls/2]), us(lat[p99]), 2*float64(size)*float64(calls)/secs/1e6, failed)
	for _, c := range clients {
		c.Close()
	}
	if failed > 0 {
		return 1
	}
	return 0
}
