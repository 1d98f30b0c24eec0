// The messages both sides expect, with every field set. The C side
// (tests/codegen/task_wire_test.c) builds and checks the same values:
// strings are "<Message>.<field>", Any is {type_url: s, value: s + ".value"},
// timestamps are ts(field number), numbers are listed below.
package main

import (
	"time"

	"github.com/containerd/containerd/api/types"
	apitask "github.com/containerd/containerd/api/types/task"
	events "github.com/containerd/containerd/api/services/ttrpc/events/v1"
	"github.com/containerd/containerd/runtime/v2/task"
	ptypes "github.com/gogo/protobuf/types"
)

func ts(n int64) time.Time { return time.Unix(1700000000+n, n*1000+7).UTC() }

func anyOf(s string) *ptypes.Any { return &ptypes.Any{TypeUrl: s, Value: []byte(s + ".value")} }

func mounts() []*types.Mount {
	return []*types.Mount{
		{Type: "mt0", Source: "ms0", Target: "mtg0", Options: []string{"o0a", "o0b"}},
		{Type: "mt1", Source: "ms1", Target: "mtg1", Options: []string{"o1a", "o1b"}},
	}
}

var (
	wantState  = &task.StateRequest{ID: "StateRequest.id", ExecID: "StateRequest.exec_id"}
	wantStateR = &task.StateResponse{ID: "StateResponse.id", Bundle: "StateResponse.bundle", Pid: 4003,
		Status: apitask.StatusPausing, Stdin: "StateResponse.stdin", Stdout: "StateResponse.stdout",
		Stderr: "StateResponse.stderr", Terminal: true, ExitStatus: 4009, ExitedAt: ts(10),
		ExecID: "StateResponse.exec_id"}
	wantCreate = &task.CreateTaskRequest{ID: "CreateTaskRequest.id", Bundle: "CreateTaskRequest.bundle",
		Rootfs: mounts(), Terminal: true, Stdin: "CreateTaskRequest.stdin", Stdout: "CreateTaskRequest.stdout",
		Stderr: "CreateTaskRequest.stderr", Checkpoint: "CreateTaskRequest.checkpoint",
		ParentCheckpoint: "CreateTaskRequest.parent_checkpoint", Options: anyOf("CreateTaskRequest.options")}
	wantCreateR = &task.CreateTaskResponse{Pid: 1001}
	wantStart   = &task.StartRequest{ID: "StartRequest.id", ExecID: "StartRequest.exec_id"}
	wantStartR  = &task.StartResponse{Pid: 5001}
	wantDelete  = &task.DeleteRequest{ID: "DeleteRequest.id", ExecID: "DeleteRequest.exec_id"}
	wantDeleteR = &task.DeleteResponse{Pid: 2001, ExitStatus: 2002, ExitedAt: ts(3)}
	wantPids    = &task.PidsRequest{ID: "PidsRequest.id"}
	wantPidsR   = &task.PidsResponse{Processes: []*apitask.ProcessInfo{
		{Pid: 100, Info: anyOf("pi0")}, {Pid: 101, Info: anyOf("pi1")}}}
	wantPause      = &task.PauseRequest{ID: "PauseRequest.id"}
	wantResume     = &task.ResumeRequest{ID: "ResumeRequest.id"}
	wantCheckpoint = &task.CheckpointTaskRequest{ID: "CheckpointTaskRequest.id", Path: "CheckpointTaskRequest.path",
		Options: anyOf("CheckpointTaskRequest.options")}
	wantKill = &task.KillRequest{ID: "KillRequest.id", ExecID: "KillRequest.exec_id", Signal: 9, All: true}
	wantExec = &task.ExecProcessRequest{ID: "ExecProcessRequest.id", ExecID: "ExecProcessRequest.exec_id",
		Terminal: true, Stdin: "ExecProcessRequest.stdin", Stdout: "ExecProcessRequest.stdout",
		Stderr: "ExecProcessRequest.stderr", Spec: anyOf("ExecProcessRequest.spec")}
	wantResize = &task.ResizePtyRequest{ID: "ResizePtyRequest.id", ExecID: "ResizePtyRequest.exec_id",
		Width: 3003, Height: 3004}
	wantCloseIO = &task.CloseIORequest{ID: "CloseIORequest.id", ExecID: "CloseIORequest.exec_id", Stdin: true}
	wantUpdate  = &task.UpdateTaskRequest{ID: "UpdateTaskRequest.id", Resources: anyOf("UpdateTaskRequest.resources"),
		Annotations: map[string]string{"a": "1", "b": "2"}}
	wantWait     = &task.WaitRequest{ID: "WaitRequest.id", ExecID: "WaitRequest.exec_id"}
	wantWaitR    = &task.WaitResponse{ExitStatus: 6001, ExitedAt: ts(2)}
	wantStats    = &task.StatsRequest{ID: "StatsRequest.id"}
	wantStatsR   = &task.StatsResponse{Stats: anyOf("StatsResponse.stats")}
	wantConnect  = &task.ConnectRequest{ID: "ConnectRequest.id"}
	wantConnectR = &task.ConnectResponse{ShimPid: 7001, TaskPid: 7002, Version: "ConnectResponse.version"}
	wantShutdown = &task.ShutdownRequest{ID: "ShutdownRequest.id", Now: true}
	wantForward  = &events.ForwardRequest{Envelope: &events.Envelope{Timestamp: ts(1),
		Namespace: "Envelope.namespace", Topic: "Envelope.topic", Event: anyOf("Envelope.event")}}
	empty = &ptypes.Empty{}
)
