// ttrpc-task-gopeer: containerd's own Go Task and Events types on a ttrpc
// connection, to prove our generated C stubs wire-identical.
//
//	ttrpc-task-gopeer client SOCKET  calls every Task RPC and Events/Forward on a
//	                                 C server, compares every response; exit 0 if all match
//	ttrpc-task-gopeer server SOCKET  serves Task and Events with containerd's
//	                                 Register*Service; answers a request that differs
//	                                 from the expected one with InvalidArgument
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"reflect"
	"syscall"

	events "github.com/containerd/containerd/api/services/ttrpc/events/v1"
	"github.com/containerd/containerd/runtime/v2/task"
	"github.com/containerd/ttrpc"
	ptypes "github.com/gogo/protobuf/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

type message interface{ String() string }

// same reports how got differs from want: field by field through String(),
// and unknown fields (which String() leaves out) must be absent.
func same(what string, got, want message) error {
	if got == nil || reflect.ValueOf(got).IsNil() {
		return fmt.Errorf("%s: got nil", what)
	}
	if u := reflect.ValueOf(got).Elem().FieldByName("XXX_unrecognized"); u.IsValid() && u.Len() != 0 {
		return fmt.Errorf("%s: %d bytes of unknown fields", what, u.Len())
	}
	if got.String() != want.String() {
		return fmt.Errorf("%s:\n  got  %s\n  want %s", what, got.String(), want.String())
	}
	return nil
}

func check(what string, got, want message) error {
	if err := same(what, got, want); err != nil {
		fmt.Fprintln(os.Stderr, "gopeer server:", err)
		return status.Error(codes.InvalidArgument, err.Error())
	}
	return nil
}

type taskService struct{}

func (taskService) State(ctx context.Context, r *task.StateRequest) (*task.StateResponse, error) {
	return wantStateR, check("StateRequest", r, wantState)
}
func (taskService) Create(ctx context.Context, r *task.CreateTaskRequest) (*task.CreateTaskResponse, error) {
	return wantCreateR, check("CreateTaskRequest", r, wantCreate)
}
func (taskService) Start(ctx context.Context, r *task.StartRequest) (*task.StartResponse, error) {
	return wantStartR, check("StartRequest", r, wantStart)
}
func (taskService) Delete(ctx context.Context, r *task.DeleteRequest) (*task.DeleteResponse, error) {
	return wantDeleteR, check("DeleteRequest", r, wantDelete)
}
func (taskService) Pids(ctx context.Context, r *task.PidsRequest) (*task.PidsResponse, error) {
	return wantPidsR, check("PidsRequest", r, wantPids)
}
func (taskService) Pause(ctx context.Context, r *task.PauseRequest) (*ptypes.Empty, error) {
	return empty, check("PauseRequest", r, wantPause)
}
func (taskService) Resume(ctx context.Context, r *task.ResumeRequest) (*ptypes.Empty, error) {
	return empty, check("ResumeRequest", r, wantResume)
}
func (taskService) Checkpoint(ctx context.Context, r *task.CheckpointTaskRequest) (*ptypes.Empty, error) {
	return empty, check("CheckpointTaskRequest", r, wantCheckpoint)
}
func (taskService) Kill(ctx context.Context, r *task.KillRequest) (*ptypes.Empty, error) {
	return empty, check("KillRequest", r, wantKill)
}
func (taskService) Exec(ctx context.Context, r *task.ExecProcessRequest) (*ptypes.Empty, error) {
	return empty, check("ExecProcessRequest", r, wantExec)
}
func (taskService) ResizePty(ctx context.Context, r *task.ResizePtyRequest) (*ptypes.Empty, error) {
	return empty, check("ResizePtyRequest", r, wantResize)
}
func (taskService) CloseIO(ctx context.Context, r *task.CloseIORequest) (*ptypes.Empty, error) {
	return empty, check("CloseIORequest", r, wantCloseIO)
}
func (taskService) Update(ctx context.Context, r *task.UpdateTaskRequest) (*ptypes.Empty, error) {
	return empty, check("UpdateTaskRequest", r, wantUpdate)
}
func (taskService) Wait(ctx context.Context, r *task.WaitRequest) (*task.WaitResponse, error) {
	return wantWaitR, check("WaitRequest", r, wantWait)
}
func (taskService) Stats(ctx context.Context, r *task.StatsRequest) (*task.StatsResponse, error) {
	return wantStatsR, check("StatsRequest", r, wantStats)
}
func (taskService) Connect(ctx context.Context, r *task.ConnectRequest) (*task.ConnectResponse, error) {
	return wantConnectR, check("ConnectRequest", r, wantConnect)
}
func (taskService) Shutdown(ctx context.Context, r *task.ShutdownRequest) (*ptypes.Empty, error) {
	return empty, check("ShutdownRequest", r, wantShutdown)
}

type eventsService struct{}

func (eventsService) Forward(ctx context.Context, r *events.ForwardRequest) (*ptypes.Empty, error) {
	return empty, check("ForwardRequest", r, wantForward)
}

func serve(path string) error {
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return err
	}
	s, err := ttrpc.NewServer()
	if err != nil {
		return err
	}
	task.RegisterTaskService(s, taskService{})
	events.RegisterEventsService(s, eventsService{})
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		s.Close()
	}()
	if err := s.Serve(context.Background(), l); err != nil && err != ttrpc.ErrServerClosed {
		return err
	}
	return nil
}

func callAll(path string) error {
	conn, err := net.Dial("unix", path)
	if err != nil {
		return err
	}
	c := ttrpc.NewClient(conn)
	defer c.Close()
	t := task.NewTaskClient(c)
	ev := events.NewEventsClient(c)
	ctx := context.Background()
	var failed []error
	note := func(what string, got, want message, err error) {
		if err == nil {
			err = same(what, got, want)
		} else {
			err = fmt.Errorf("%s: %v", what, err)
		}
		if err != nil {
			failed = append(failed, err)
		}
	}
	{
		r, err := t.State(ctx, wantState)
		note("State", r, wantStateR, err)
	}
	{
		r, err := t.Create(ctx, wantCreate)
		note("Create", r, wantCreateR, err)
	}
	{
		r, err := t.Start(ctx, wantStart)
		note("Start", r, wantStartR, err)
	}
	{
		r, err := t.Delete(ctx, wantDelete)
		note("Delete", r, wantDeleteR, err)
	}
	{
		r, err := t.Pids(ctx, wantPids)
		note("Pids", r, wantPidsR, err)
	}
	{
		r, err := t.Pause(ctx, wantPause)
		note("Pause", r, empty, err)
	}
	{
		r, err := t.Resume(ctx, wantResume)
		note("Resume", r, empty, err)
	}
	{
		r, err := t.Checkpoint(ctx, wantCheckpoint)
		note("Checkpoint", r, empty, err)
	}
	{
		r, err := t.Kill(ctx, wantKill)
		note("Kill", r, empty, err)
	}
	{
		r, err := t.Exec(ctx, wantExec)
		note("Exec", r, empty, err)
	}
	{
		r, err := t.ResizePty(ctx, wantResize)
		note("ResizePty", r, empty, err)
	}
	{
		r, err := t.CloseIO(ctx, wantCloseIO)
		note("CloseIO", r, empty, err)
	}
	{
		r, err := t.Update(ctx, wantUpdate)
		note("Update", r, empty, err)
	}
	{
		r, err := t.Wait(ctx, wantWait)
		note("Wait", r, wantWaitR, err)
	}
	{
		r, err := t.Stats(ctx, wantStats)
		note("Stats", r, wantStatsR, err)
	}
	{
		r, err := t.Connect(ctx, wantConnect)
		note("Connect", r, wantConnectR, err)
	}
	{
		r, err := t.Shutdown(ctx, wantShutdown)
		note("Shutdown", r, empty, err)
	}
	{
		r, err := ev.Forward(ctx, wantForward)
		note("Forward", r, empty, err)
	}
	for _, e := range failed {
		fmt.Fprintln(os.Stderr, "gopeer client:", e)
	}
	if len(failed) != 0 {
		return fmt.Errorf("%d of 18 calls differ", len(failed))
	}
	fmt.Println("gopeer client: 18 calls, all responses as expected")
	return nil
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: ttrpc-task-gopeer client|server SOCKET")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "client":
		err = callAll(os.Args[2])
	case "server":
		err = serve(os.Args[2])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gopeer:", err)
		os.Exit(1)
	}
}
