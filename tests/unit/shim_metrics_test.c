/* SPDX-License-Identifier: Apache-2.0 */
/* Task.Stats' reading side (metrics.c) against fake cgroup trees: resolving
 * a process's cgroup from /proc/PID/cgroup and mountinfo texts (host and
 * nested mount roots, v1 and v2), and the v1 and v2 files read into the
 * Metrics messages containerd-shim-runc-v2 answers with. The e2e stats
 * scenario compares the same messages with runc-v2's on a real cgroup. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim/metrics.h"

static char root[64];

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/shim-metrics-test.XXXXXX");
	cr_assert_not_null(mkdtemp(root));
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(metrics, .init = setup, .fini = teardown, .timeout = 30);

static void put(const char *rel, const char *text)
{
	char path[512], dir[600];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(dir, sizeof(dir), "mkdir -p \"$(dirname '%s')\"", path);
	cr_assert_eq(system(dir), 0);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

static const char *at(const char *rel)
{
	static char buf[4][512];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", root, rel);
	return buf[i];
}

/* A hybrid host: v1 controllers (cpu and cpuacct co-mounted), a cgroup2 at
 * unified, an escaped space in one mount point. */
static void hybrid_mountinfo(void)
{
	char text[2048];
	snprintf(text, sizeof(text),
		 "22 1 0:20 / /proc rw - proc proc rw\n"
		 "30 25 0:26 / %s/cg/unified rw - cgroup2 cgroup2 rw,nsdelegate\n"
		 "31 25 0:27 / %s/cg/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
		 "32 25 0:28 / %s/cg/memory\\040x rw shared:9 - cgroup cgroup rw,memory\n"
		 "33 25 0:29 /nested %s/cg/pids rw - cgroup cgroup rw,pids\n",
		 root, root, root, root);
	put("mountinfo", text);
	put("proc-cgroup", "12:pids:/nested/ns/c1\n"
			   "4:cpu,cpuacct:/ns/c1\n"
			   "3:memory:/ns/c1\n"
			   "1:name=systemd:/ns/c1\n"
			   "0::/ns/c1\n");
}

Test(metrics, resolve_v1_hybrid_with_nested_root_and_escapes)
{
	struct shim_cgroup *cg = malloc(sizeof(*cg));
	struct shim_error err = { 0 };
	hybrid_mountinfo();
	cr_assert_eq(shim_cgroup_resolve(at("proc-cgroup"), at("mountinfo"), false, cg, &err), 0, "%s", err.msg);
	cr_assert_str_eq(cg->cpu, at("cg/cpu,cpuacct/ns/c1"));
	cr_assert_str_eq(cg->cpuacct, at("cg/cpu,cpuacct/ns/c1"));
	cr_assert_str_eq(cg->memory, at("cg/memory x/ns/c1"));
	/* the pids hierarchy is mounted from /nested: the path below it */
	cr_assert_str_eq(cg->pids, at("cg/pids/ns/c1"));
	cr_assert_str_eq(cg->blkio, "");
	cr_assert_eq(shim_cgroup_resolve(at("proc-cgroup"), at("mountinfo"), true, cg, &err), 0, "%s", err.msg);
	cr_assert_str_eq(cg->unified, at("cg/unified/ns/c1"));
	free(cg);
}

Test(metrics, resolve_errors)
{
	struct shim_cgroup *cg = malloc(sizeof(*cg));
	struct shim_error err = { 0 };
	hybrid_mountinfo();
	cr_assert_lt(shim_cgroup_resolve(at("gone"), at("mountinfo"), false, cg, &err), 0);
	cr_assert_eq(err.code, TTRPC_CODE_NOT_FOUND);
	cr_assert(strstr(err.msg, "gone"), "%s", err.msg);
	put("proc-cgroup", "7:freezer:/ns/c1\n");
	err = (struct shim_error){ 0 };
	cr_assert_lt(shim_cgroup_resolve(at("proc-cgroup"), at("mountinfo"), false, cg, &err), 0);
	cr_assert_eq(err.code, TTRPC_CODE_NOT_FOUND);
	cr_assert(strstr(err.msg, "no cgroup v1 controller"), "%s", err.msg);
	err = (struct shim_error){ 0 };
	cr_assert_lt(shim_cgroup_of_pid(0, NULL, false, cg, &err), 0);
	cr_assert_eq(err.code, TTRPC_CODE_NOT_FOUND);
	free(cg);
}

static struct shim_cgroup *v1_tree(void)
{
	struct shim_cgroup *cg = calloc(1, sizeof(*cg));
	snprintf(cg->cpu, sizeof(cg->cpu), "%s", at("cpu"));
	snprintf(cg->cpuacct, sizeof(cg->cpuacct), "%s", at("cpu"));
	snprintf(cg->memory, sizeof(cg->memory), "%s", at("mem"));
	snprintf(cg->pids, sizeof(cg->pids), "%s", at("pids"));
	put("cpu/cpuacct.usage", "123456789\n");
	put("cpu/cpuacct.usage_percpu", "100 200 300 \n");
	put("cpu/cpuacct.stat", "user 5\nsystem 7\n");
	put("cpu/cpu.stat", "nr_periods 10\nnr_throttled 2\nthrottled_time 3000\n");
	put("mem/memory.stat", "cache 4096\nrss 8192\ninactive_file 1024\ntotal_inactive_file 2048\n"
			       "hierarchical_memory_limit 67108864\ntotal_rss 8192\nunknown_key 5\n");
	put("mem/memory.usage_in_bytes", "696320\n");
	put("mem/memory.max_usage_in_bytes", "2756608\n");
	put("mem/memory.limit_in_bytes", "67108864\n");
	put("mem/memory.failcnt", "3\n");
	put("mem/memory.memsw.usage_in_bytes", "700000\n");
	put("mem/memory.kmem.usage_in_bytes", "299008\n");
	put("mem/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
	put("pids/pids.current", "2\n");
	put("pids/pids.max", "max\n");
	return cg;
}

Test(metrics, v1_values)
{
	struct shim_cgroup *cg = v1_tree();
	struct shim_error err = { 0 };
	Io__Containerd__Cgroups__V1__Metrics *m = NULL;
	cr_assert_eq(shim_metrics_v1_read(cg, NULL, &m, &err), 0, "%s", err.msg);
	cr_assert_not_null(m->cpu);
	cr_assert_eq(m->cpu->usage->total, 123456789);
	cr_assert_eq(m->cpu->usage->n_per_cpu, 3);
	cr_assert_eq(m->cpu->usage->per_cpu[2], 300);
	long hz = sysconf(_SC_CLK_TCK);
	cr_assert_eq(m->cpu->usage->user, 5 * 1000000000ull / (uint64_t)hz);
	cr_assert_eq(m->cpu->usage->kernel, 7 * 1000000000ull / (uint64_t)hz);
	cr_assert_eq(m->cpu->throttling->periods, 10);
	cr_assert_eq(m->cpu->throttling->throttled_periods, 2);
	cr_assert_eq(m->cpu->throttling->throttled_time, 3000);
	cr_assert_not_null(m->memory);
	cr_assert_eq(m->memory->cache, 4096);
	cr_assert_eq(m->memory->rss, 8192);
	cr_assert_eq(m->memory->inactive_file, 1024);
	cr_assert_eq(m->memory->total_inactive_file, 2048);
	cr_assert_eq(m->memory->hierarchical_memory_limit, 67108864);
	cr_assert_eq(m->memory->usage->usage, 696320);
	cr_assert_eq(m->memory->usage->max, 2756608);
	cr_assert_eq(m->memory->usage->limit, 67108864);
	cr_assert_eq(m->memory->usage->failcnt, 3);
	cr_assert_eq(m->memory->swap->usage, 700000);
	cr_assert_eq(m->memory->kernel->usage, 299008);
	cr_assert_eq(m->memory->kernel_tcp->usage, 0); /* file missing: zero, as IgnoreNotExist */
	cr_assert_eq(m->memory_oom_control->oom_kill, 1);
	cr_assert_not_null(m->pids);
	cr_assert_eq(m->pids->current, 2);
	cr_assert_eq(m->pids->limit, 0); /* "max": no limit */
	/* what runc-v2 sends is what we send: the message survives the wire */
	size_t len = io__containerd__cgroups__v1__metrics__get_packed_size(m);
	uint8_t *buf = malloc(len);
	io__containerd__cgroups__v1__metrics__pack(m, buf);
	Io__Containerd__Cgroups__V1__Metrics *back = io__containerd__cgroups__v1__metrics__unpack(NULL, len, buf);
	cr_assert_not_null(back);
	cr_assert_eq(back->memory->usage->limit, 67108864);
	io__containerd__cgroups__v1__metrics__free_unpacked(back, NULL);
	free(buf);
	shim_metrics_v1_free(m);
	free(cg);
}

Test(metrics, v1_bad_file_is_an_error_naming_it)
{
	struct shim_cgroup *cg = v1_tree();
	struct shim_error err = { 0 };
	Io__Containerd__Cgroups__V1__Metrics *m = NULL;
	put("mem/memory.usage_in_bytes", "lots\n");
	cr_assert_neq(shim_metrics_v1_read(cg, NULL, &m, &err), 0);
	cr_assert_null(m);
	cr_assert(strstr(err.msg, "memory.usage_in_bytes"), "%s", err.msg);
	put("mem/memory.usage_in_bytes", "1\n");
	put("cpu/cpuacct.usage_percpu", "1 x 3\n");
	err = (struct shim_error){ 0 };
	cr_assert_neq(shim_metrics_v1_read(cg, NULL, &m, &err), 0);
	cr_assert(strstr(err.msg, "cpuacct.usage_percpu"), "%s", err.msg);
	free(cg);
}

Test(metrics, v1_missing_controllers_leave_fields_unset)
{
	struct shim_cgroup *cg = calloc(1, sizeof(*cg));
	struct shim_error err = { 0 };
	Io__Containerd__Cgroups__V1__Metrics *m = NULL;
	snprintf(cg->pids, sizeof(cg->pids), "%s", at("pids"));
	put("pids/pids.current", "4\n");
	put("pids/pids.max", "100\n");
	cr_assert_eq(shim_metrics_v1_read(cg, NULL, &m, &err), 0, "%s", err.msg);
	cr_assert_eq(m->pids->current, 4);
	cr_assert_eq(m->pids->limit, 100);
	cr_assert_null(m->memory);
	shim_metrics_v1_free(m);
	free(cg);
}

Test(metrics, v2_values)
{
	struct shim_error err = { 0 };
	Io__Containerd__Cgroups__V2__Metrics *m = NULL;
	put("u/pids.current", "3\n");
	put("u/pids.max", "max\n");
	put("u/cpu.stat", "usage_usec 5000\nuser_usec 3000\nsystem_usec 2000\nnr_periods 4\nnr_throttled 1\n"
			  "throttled_usec 77\n");
	put("u/memory.current", "1048576\n");
	put("u/memory.max", "67108864\n");
	put("u/memory.stat", "anon 4096\nfile 8192\ninactive_file 2048\npgfault 9\n");
	put("u/memory.swap.current", "0\n");
	put("u/memory.swap.max", "max\n");
	put("u/memory.events", "low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n");
	cr_assert_eq(shim_metrics_v2_read(at("u"), &m, &err), 0, "%s", err.msg);
	cr_assert_eq(m->pids->current, 3);
	cr_assert_eq(m->cpu->usage_usec, 5000);
	cr_assert_eq(m->cpu->user_usec, 3000);
	cr_assert_eq(m->cpu->system_usec, 2000);
	cr_assert_eq(m->cpu->throttled_usec, 77);
	cr_assert_eq(m->memory->usage, 1048576);
	cr_assert_eq(m->memory->usage_limit, 67108864);
	cr_assert_eq(m->memory->anon, 4096);
	cr_assert_eq(m->memory->inactive_file, 2048);
	cr_assert_eq(m->memory->pgfault, 9);
	cr_assert_eq(m->memory->swap_limit, UINT64_MAX); /* "max", as containerd/cgroups reads it */
	cr_assert_not_null(m->memory_events);
	cr_assert_eq(m->memory_events->oom_kill, 1);
	cr_assert_eq(m->memory_events->max, 2);
	shim_metrics_v2_free(m);
	/* negative values read as 0, as containerd/cgroups' parseUint does */
	put("u/memory.current", "-1\n");
	cr_assert_eq(shim_metrics_v2_read(at("u"), &m, &err), 0, "%s", err.msg);
	cr_assert_eq(m->memory->usage, 0);
	shim_metrics_v2_free(m);
	put("u/memory.current", "12k\n");
	err = (struct shim_error){ 0 };
	m = NULL;
	cr_assert_neq(shim_metrics_v2_read(at("u"), &m, &err), 0);
	cr_assert(strstr(err.msg, "memory.current"), "%s", err.msg);
}

Test(metrics, of_pid_of_this_process)
{
	/* This process has a cgroup on every host: Stats of it packs an Any
	 * of the host's type that decodes. */
	struct shim_error err = { 0 };
	Google__Protobuf__Any any;
	cr_assert_eq(shim_metrics_of_pid(getpid(), &any, &err), 0, "%s", err.msg);
	cr_assert_str_eq(any.type_url, shim_cgroup_unified(NULL) ? SHIM_METRICS_V2_TYPE : SHIM_METRICS_V1_TYPE);
	cr_assert_gt(any.value.len, 0);
	free(any.value.data);
	err = (struct shim_error){ 0 };
	cr_assert_lt(shim_metrics_of_pid(999999999, &any, &err), 0);
	cr_assert_eq(err.code, TTRPC_CODE_NOT_FOUND, "%s", err.msg);
}

/* ---- the pod's cgroup ---- */

static bool exists(const char *rel)
{
	struct stat st;
	return stat(at(rel), &st) == 0;
}

/* hybrid_mountinfo's hierarchies, the cpu one mounted a second time */
static void pod_tree(void)
{
	hybrid_mountinfo();
	char text[2048];
	FILE *f = fopen(at("mountinfo"), "a");
	cr_assert_not_null(f);
	snprintf(text, sizeof(text), "34 25 0:27 / %s/cg/cpu-again rw - cgroup cgroup rw,cpu,cpuacct\n", root);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
	put("cg/unified/cgroup.procs", "");
	put("cg/cpu,cpuacct/cgroup.procs", "");
	put("cg/memory x/cgroup.procs", "");
	put("cg/pids/cgroup.procs", "");
}

Test(metrics, podcg_every_hierarchy_once_then_removed)
{
	pod_tree();
	struct shim_podcg cg;
	struct shim_error err = { 0 };
	cr_assert_eq(shim_podcg_create(at("mountinfo"), root, "/ns/pods", "sb", &cg, &err), 0, "%s", err.msg);
	cr_assert_eq(cg.n, 4, "one directory per hierarchy (the second cpu mount skipped): %zu", cg.n);
	cr_assert(exists("cg/unified/ns/pods/sb") && exists("cg/cpu,cpuacct/ns/pods/sb") &&
		  exists("cg/memory x/ns/pods/sb") && exists("cg/pids/ns/pods/sb"));
	cr_assert(!exists("cg/cpu-again/ns"));
	cr_assert_str_eq(cg.procs[2], at("cg/memory x/ns/pods/sb/cgroup.procs"));

	struct shim_podcg again;
	cr_assert_eq(shim_podcg_create(at("mountinfo"), root, "/ns/pods", "sb", &again, &err), -EEXIST);
	cr_assert_eq(err.code, TTRPC_CODE_ALREADY_EXISTS);
	cr_assert(exists("cg/unified/ns/pods/sb"), "a directory that was there is not removed");

	put("cg/pids/ns/pods/sb/busy", ""); /* rmdir fails there (a cgroupfs says EBUSY) */
	cr_assert_lt(shim_podcg_remove(&cg, &err), 0);
	cr_assert_eq(cg.n, 1, "the removed ones are dropped: %zu left", cg.n);
	cr_assert_str_eq(cg.dirs[0], at("cg/pids/ns/pods/sb"));
	cr_assert(!exists("cg/unified/ns/pods/sb") && !exists("cg/memory x/ns/pods/sb"));
	cr_assert_eq(unlink(at("cg/pids/ns/pods/sb/busy")), 0);
	cr_assert_eq(shim_podcg_remove(&cg, &err), 0, "%s", err.msg);
	cr_assert_eq(cg.n, 0);
	cr_assert(!exists("cg/pids/ns/pods/sb") && exists("cg/pids/ns/pods"), "the parent stays");
	shim_podcg_free(&cg);
}

Test(metrics, podcg_refusals_and_rollback)
{
	pod_tree();
	struct shim_podcg cg;
	struct shim_error err = { 0 };
	static const char *const bad[] = { "ns/pods", "/ns/../x", "/ns//pods", "/ns/pods/", "/ns/./pods", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(shim_podcg_create(at("mountinfo"), root, bad[i], "sb", &cg, &err), -EINVAL, "%s", bad[i]);
		cr_assert_eq(err.code, TTRPC_CODE_INVALID_ARGUMENT);
		cr_assert(!shim_cgroup_path_clean(bad[i]), "%s", bad[i]);
	}
	cr_assert(shim_cgroup_path_clean("/") && shim_cgroup_path_clean("/kubepods/besteffort/pod1"));
	/* a hierarchy whose mount point is gone: nothing is left in the others */
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/cg/pids'", root);
	cr_assert_eq(system(cmd), 0);
	cr_assert_lt(shim_podcg_create(at("mountinfo"), root, "/ns/pods", "sb", &cg, &err), 0);
	cr_assert_eq(cg.n, 0);
	cr_assert(!exists("cg/unified/ns/pods/sb") && !exists("cg/memory x/ns/pods/sb"));
}
