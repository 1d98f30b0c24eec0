/* SPDX-License-Identifier: Apache-2.0 */
/* The serving shim: one process, one loop, any number of containers (the
 * containers of one group, or just one). No globals: everything hangs off
 * struct shim. */
#ifndef SHIM_SHIM_H
#define SHIM_SHIM_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include <ev.h>
#include <ttrpc/server.h>

#include "containerd/runtime/sandbox/v1/sandbox.ttrpc-c.h"
#include "containerd/task/v2/shim.ttrpc-c.h"
#include "containerd/task/v3/shim.ttrpc-c.h"
#include "shim/error.h"
#include "shim/log.h"
#include "shim/reaper.h"
#include "shim/runtime.h"
#include "shim/stdio.h"

#define SHIM_RUNTIME_NAME "io.containerd.tiny.v2"
#define SHIM_VERSION "0.1.0"
/* In the bundle: the runtime options Create used, for the `delete` action. */
#define SHIM_RUNTIME_SAVED "shim-runtime.json"

struct shim_events;
struct shim_oom;
struct shim_pod;

/* containerd.v1.types.Status */
enum shim_status {
	SHIM_STATUS_UNKNOWN = 0,
	SHIM_STATUS_CREATED = 1,
	SHIM_STATUS_RUNNING = 2,
	SHIM_STATUS_STOPPED = 3,
	SHIM_STATUS_PAUSED = 4,
	SHIM_STATUS_PAUSING = 5,
	SHIM_STATUS_DELETED = 6, /* ours: never answered (a deleted process is no longer listed) */
};

struct shim_process;
struct shim_waiter;
/* A Wait's callback (process.h): err NULL once the process exited. */
typedef void (*shim_wait_fn)(struct shim_process *p, const struct shim_error *err, void *data);
struct shim_waiter {
	shim_wait_fn fn;
	void *data;
	struct shim_process *proc;
	struct shim_waiter *next;
};

/* The init process of a container (exec_id NULL) or an exec process. */
struct shim_process {
	struct shim_container *container;
	char *exec_id; /* NULL for init */
	pid_t pid;
	enum shim_status status;
	int exit_status;
	struct timespec exited_at; /* CLOCK_REALTIME; zero while running */
	bool watched;		   /* the reaper watches pid */
	bool starting;		   /* its create/start/exec runs: an exit waits for it */
	bool exit_pending;
	struct shim_exit pending_exit;
	char *stdin_path, *stdout_path, *stderr_path;
	bool terminal;
	struct shim_stdio stdio;
	bool stdio_open;
	struct shim_logger *logger; /* binary:// stdout/stderr: the logging binary */
	ev_idle close_idle;	    /* closes stdio once output drained */
	char *spec_json;	    /* exec: the OCI process spec, until started */
	size_t spec_len;
	struct shim_waiter *waiters;
	struct shim_process *next; /* in container->execs */
};

/* One operation on a container (Create, Start, Kill, ...): they run one at a
 * time per container, in arrival order (container->ops; the head is the one
 * running). The RPC layer embeds this in its own state. */
struct shim_op {
	struct shim_container *container;
	ttrpc_call *call;		    /* NULL once answered */
	void (*run)(struct shim_op *op);    /* start the work; it ends with shim_op_done */
	void (*cancel)(struct shim_op *op); /* stop work in flight (shim exiting, container gone) */
	void (*free)(struct shim_op *op);
	struct shim_op *next;
};

struct shim_container;
typedef void (*shim_unmount_fn)(struct shim_container *c, int rc, struct shim_error *err);

struct shim_container {
	struct shim *shim;
	char *id;
	char *bundle;
	char *rootfs; /* <bundle>/rootfs */
	bool rootfs_mounted;
	struct shim_runtime rt;
	struct shim_process init;
	struct shim_process *execs;
	struct shim_oom *oom; /* OOM kills in its memory cgroup, when watchable */
	bool creating;	      /* until its Create is answered */
	struct shim_op *ops, *ops_tail;
	bool op_running, pumping, doomed;
	ev_timer unmount_timer; /* EBUSY retries of the rootfs unmount */
	int unmount_tries, unmount_count;
	shim_unmount_fn unmount_done;
	struct shim_container *next;
};

struct shim {
	struct ev_loop *loop;
	ttrpc_server *server;
	struct shim_reaper *reaper;
	struct shim_log log;
	struct shim_events *events;
	struct shim_offload *offload; /* Stats off the loop; made at the first Stats */
	const char *ns;
	const char *containerd_address;
	const char *ttrpc_address;
	char socket_address[256]; /* unix://... we serve on; removed at exit */
	struct shim_container *containers;
	size_t ncontainers;
	bool exiting;
	struct containerd_task_v2_task_service task_service;		      /* registered on server */
	struct containerd_task_v3_task_service task_v3_service;		      /* the same handlers (task_v3.c) */
	struct containerd_runtime_sandbox_v1_sandbox_service sandbox_service; /* sandbox_service.c */
	struct shim_pod *pod; /* the sandbox CreateSandbox made, until ShutdownSandbox */
	ev_signal sigterm, sigint;
	ev_idle exit_idle;
};

/* Serve on listen_fd until Shutdown or SIGTERM. Returns the process exit code
 * (serve.c, the binary's only). */
int shim_serve(struct shim *s, int listen_fd);

/* Task RPCs: register the Task service on s->server (service.c; it needs
 * s->loop, s->reaper, s->events and s->log). */
int shim_service_register(struct shim *s);
/* containerd.task.v3.Task over the v2 handlers: after shim_service_register. */
int shim_task_v3_register(struct shim *s);
/* containerd.runtime.sandbox.v1.Sandbox on s->server. */
int shim_sandbox_service_register(struct shim *s);
/* The shim is exiting: answer pending WaitSandbox/StopSandbox calls, stop the
 * sandbox's process, free s->pod. Safe when there is none. */
void shim_sandbox_service_close(struct shim *s);
/* Ask the loop to finish (answers already queued still go out): Waits still
 * pending are answered UNAVAILABLE, then s->exit_idle starts; whoever runs
 * the loop (serve.c) initialised it and breaks the loop from it. */
void shim_request_exit(struct shim *s);

#endif
