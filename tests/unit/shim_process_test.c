/* SPDX-License-Identifier: Apache-2.0 */
/* The process state machine (shim/process.c): every (state, event) pair of
 * shim_process_transition and every (state, operation) pair of
 * shim_process_check, against the table containerd relies on. */
#include <criterion/criterion.h>
#include <string.h>

#include "shim/process.h"

TestSuite(shim_process, .timeout = 30);

static struct shim_container c = { .id = "c1" };

static struct shim_process proc(enum shim_status st, const char *exec_id)
{
	struct shim_process p;
	memset(&p, 0, sizeof(p));
	p.container = &c;
	p.exec_id = (char *)exec_id;
	p.status = st;
	p.pid = 42;
	return p;
}

#define NSTATES 7
static const enum shim_status states[NSTATES] = {
	SHIM_STATUS_UNKNOWN, SHIM_STATUS_CREATED, SHIM_STATUS_RUNNING, SHIM_STATUS_STOPPED,
	SHIM_STATUS_PAUSED,  SHIM_STATUS_PAUSING, SHIM_STATUS_DELETED,
};

Test(shim_process, transitions)
{
	/* want[event][state index]: the state after the event */
	static const struct {
		enum shim_process_event ev;
		enum shim_status to[NSTATES];
	} table[] = {
		{ SHIM_PROCESS_STARTED,
		  { SHIM_STATUS_UNKNOWN, SHIM_STATUS_RUNNING, SHIM_STATUS_RUNNING, SHIM_STATUS_STOPPED,
		    SHIM_STATUS_PAUSED, SHIM_STATUS_PAUSING, SHIM_STATUS_DELETED } },
		{ SHIM_PROCESS_PAUSED,
		  { SHIM_STATUS_UNKNOWN, SHIM_STATUS_CREATED, SHIM_STATUS_PAUSED, SHIM_STATUS_STOPPED,
		    SHIM_STATUS_PAUSED, SHIM_STATUS_PAUSED, SHIM_STATUS_DELETED } },
		{ SHIM_PROCESS_RESUMED,
		  { SHIM_STATUS_UNKNOWN, SHIM_STATUS_CREATED, SHIM_STATUS_RUNNING, SHIM_STATUS_STOPPED,
		    SHIM_STATUS_RUNNING, SHIM_STATUS_PAUSING, SHIM_STATUS_DELETED } },
		{ SHIM_PROCESS_EXITED,
		  { SHIM_STATUS_STOPPED, SHIM_STATUS_STOPPED, SHIM_STATUS_STOPPED, SHIM_STATUS_STOPPED,
		    SHIM_STATUS_STOPPED, SHIM_STATUS_STOPPED, SHIM_STATUS_DELETED } },
		{ SHIM_PROCESS_DELETED,
		  { SHIM_STATUS_UNKNOWN, SHIM_STATUS_DELETED, SHIM_STATUS_RUNNING, SHIM_STATUS_DELETED,
		    SHIM_STATUS_PAUSED, SHIM_STATUS_PAUSING, SHIM_STATUS_DELETED } },
	};
	for (size_t e = 0; e < sizeof(table) / sizeof(table[0]); e++) {
		for (size_t i = 0; i < NSTATES; i++) {
			struct shim_process p = proc(states[i], NULL);
			bool changed = shim_process_transition(&p, table[e].ev);
			cr_expect_eq(p.status, table[e].to[i], "event %d from %d: %d, want %d", (int)table[e].ev,
				     (int)states[i], (int)p.status, (int)table[e].to[i]);
			cr_expect_eq(changed, table[e].to[i] != states[i], "event %d from %d: changed %d",
				     (int)table[e].ev, (int)states[i], changed);
		}
	}
}

/* allowed[op][state index] for the init and for an exec; the code when not */
Test(shim_process, checks)
{
	static const struct {
		enum shim_process_op op;
		const char *exec_id;
		bool ok[NSTATES];
		int code; /* when refused */
		const char *msg;
	} table[] = {
		{ SHIM_PROCESS_START,
		  NULL,
		  { 0, 1, 0, 0, 0, 0, 0 },
		  TTRPC_CODE_FAILED_PRECONDITION,
		  "process c1: cannot start: already " },
		{ SHIM_PROCESS_PAUSE,
		  NULL,
		  { 0, 0, 1, 0, 0, 0, 0 },
		  TTRPC_CODE_FAILED_PRECONDITION,
		  "container c1: cannot pause: not running" },
		{ SHIM_PROCESS_RESUME,
		  NULL,
		  { 0, 0, 0, 0, 1, 0, 0 },
		  TTRPC_CODE_FAILED_PRECONDITION,
		  "container c1: cannot resume: not paused" },
		{ SHIM_PROCESS_DELETE,
		  NULL,
		  { 0, 1, 0, 1, 0, 0, 0 },
		  TTRPC_CODE_FAILED_PRECONDITION,
		  "process c1: cannot delete a running process" },
		{ SHIM_PROCESS_DELETE,
		  "x1",
		  { 0, 1, 0, 1, 0, 0, 0 },
		  TTRPC_CODE_FAILED_PRECONDITION,
		  "process x1: cannot delete a running process" },
		{ SHIM_PROCESS_KILL,
		  NULL,
		  { 1, 1, 1, 0, 1, 1, 1 },
		  TTRPC_CODE_NOT_FOUND,
		  "container c1: process already finished" },
		{ SHIM_PROCESS_KILL,
		  "x1",
		  { 0, 0, 1, 0, 0, 0, 0 },
		  TTRPC_CODE_NOT_FOUND,
		  "process x1: process already finished" },
		{ SHIM_PROCESS_EXEC_IN,
		  NULL,
		  { 0, 0, 1, 0, 0, 0, 0 },
		  TTRPC_CODE_FAILED_PRECONDITION,
		  "container c1: not running" },
	};
	for (size_t t = 0; t < sizeof(table) / sizeof(table[0]); t++) {
		for (size_t i = 0; i < NSTATES; i++) {
			struct shim_process p = proc(states[i], table[t].exec_id);
			struct shim_error err = { 0 };
			int rc = shim_process_check(&p, table[t].op, &err);
			if (table[t].ok[i]) {
				cr_expect_eq(rc, 0, "op %d of %s in state %d refused: %s", (int)table[t].op,
					     table[t].exec_id ? table[t].exec_id : "init", (int)states[i], err.msg);
				continue;
			}
			cr_expect_lt(rc, 0, "op %d of %s in state %d allowed", (int)table[t].op,
				     table[t].exec_id ? table[t].exec_id : "init", (int)states[i]);
			cr_expect_eq(err.code, table[t].code, "op %d state %d: code %d", (int)table[t].op,
				     (int)states[i], err.code);
			cr_expect(!strncmp(err.msg, table[t].msg, strlen(table[t].msg)), "op %d state %d: %s",
				  (int)table[t].op, (int)states[i], err.msg);
		}
	}
	/* an exec that has no pid yet cannot be signalled */
	struct shim_process x = proc(SHIM_STATUS_RUNNING, "x1");
	x.pid = 0;
	cr_expect_lt(shim_process_check(&x, SHIM_PROCESS_KILL, NULL), 0);
}
