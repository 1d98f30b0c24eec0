/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup statistics into containerd/cgroups' Metrics messages (see metrics.h).
 * The fields and files follow containerd/cgroups, which containerd-shim-runc-v2
 * uses: v1 cpuacct/cpu/memory/pids/blkio/hugetlb/rdma controllers, v2 the
 * unified directory's cpu.stat, memory.*, pids.*, io.stat, hugetlb.*, rdma.*. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "shim/metrics.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

bool shim_cgroup_unified(const char *root)
{
	struct statfs st;
	return statfs(root ? root : "/sys/fs/cgroup", &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

/* The whole of dir/name (at most SHIM_METRICS_FILE_MAX bytes) into a
 * malloc'ed NUL-terminated buffer. -ENOENT when it does not exist. */
static int slurp(const char *dir, const char *name, char **out, size_t *len_out)
{
	char path[PATH_MAX + 256];
	if (snprintf(path, sizeof(path), "%s%s%s", dir, name ? "/" : "", name ? name : "") >= (int)sizeof(path))
		return -ENAMETOOLONG;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (len + 1 == cap) {
			if (cap >= SHIM_METRICS_FILE_MAX)
				break; /* bounded: the rest is ignored */
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	if (len_out)
		*len_out = len;
	return 0;
}

static bool is_missing(int rc)
{
	return rc == -ENOENT || rc == -ENOTDIR || rc == -ENODEV || rc == -EOPNOTSUPP;
}

/* A cgroup number as containerd/cgroups parses it: negative values are 0,
 * "max" is max_value. Returns 0 or -EINVAL. */
static int parse_u64(const char *s, uint64_t max_value, uint64_t *out)
{
	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	size_t n = strcspn(s, " \t\n");
	if (n == 3 && !strncmp(s, "max", 3)) {
		*out = max_value;
		return 0;
	}
	if (n == 0)
		return -EINVAL;
	char *end;
	errno = 0;
	if (*s == '-') {
		long long v = strtoll(s, &end, 10);
		if (end != s + n || (errno && errno != ERANGE) || v > 0)
			return -EINVAL;
		*out = 0;
		return 0;
	}
	unsigned long long v = strtoull(s, &end, 10);
	if (end != s + n || errno)
		return -EINVAL;
	*out = v;
	return 0;
}

static int bad_file(struct shim_error *err, const char *dir, const char *name, const char *what)
{
	return shim_error_set(err, TTRPC_CODE_INTERNAL, -EINVAL, "%s/%s: %s", dir, name, what);
}

/* One number file; *found says whether it exists (a missing file is no error). */
static int read_u64(const char *dir, const char *name, uint64_t max_value, uint64_t *out, bool *found,
		    struct shim_error *err)
{
	char *buf;
	*out = 0;
	if (found)
		*found = false;
	if (!*dir)
		return 0;
	int rc = slurp(dir, name, &buf, NULL);
	if (is_missing(rc))
		return 0;
	if (rc)
		return shim_error_errno(err, TTRPC_CODE_INTERNAL, -rc, "read %s/%s", dir, name);
	rc = parse_u64(buf, max_value, out);
	free(buf);
	if (rc)
		return bad_file(err, dir, name, "not a number");
	if (found)
		*found = true;
	return 0;
}

struct kv_field {
	const char *key;
	uint64_t *value;
};

/* A "key value" per line file (memory.stat, cpu.stat, ...) into the named
 * fields; unknown keys are skipped. Sets *found when the file exists. */
static int read_kv(const char *dir, const char *name, const struct kv_field *fields, size_t nfields, bool *found,
		   struct shim_error *err)
{
	char *buf;
	if (found)
		*found = false;
	if (!*dir)
		return 0;
	int rc = slurp(dir, name, &buf, NULL);
	if (is_missing(rc))
		return 0;
	if (rc)
		return shim_error_errno(err, TTRPC_CODE_INTERNAL, -rc, "read %s/%s", dir, name);
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		if (!sp) {
			free(buf);
			return bad_file(err, dir, name, "a line without a value");
		}
		*sp = '\0';
		for (size_t i = 0; i < nfields; i++) {
			if (strcmp(line, fields[i].key))
				continue;
			if (parse_u64(sp + 1, UINT64_MAX, fields[i].value)) {
				free(buf);
				return bad_file(err, dir, name, "a value that is not a number");
			}
			break;
		}
	}
	free(buf);
	if (found)
		*found = true;
	return 0;
}

/* ---- cgroup resolution ---- */

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
		    r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

struct cg_mount {
	char root[PATH_MAX];
	char point[PATH_MAX];
};

/* Split a mountinfo line in place: "id parent major:minor root mountpoint
 * options [optional...] - fstype source superoptions" into f[0..4], fstype
 * and super (NULL when missing). */
static void mountinfo_split(char *line, char *f[5], char **fstype, char **super)
{
	char *save = NULL, *tok = strtok_r(line, " ", &save);
	for (int i = 0; i < 5; i++, tok = tok ? strtok_r(NULL, " ", &save) : NULL)
		f[i] = tok;
	while (tok && strcmp(tok, "-"))
		tok = strtok_r(NULL, " ", &save);
	*fstype = tok ? strtok_r(NULL, " ", &save) : NULL;
	char *source = *fstype ? strtok_r(NULL, " ", &save) : NULL;
	*super = source ? strtok_r(NULL, " ", &save) : NULL;
}

/* The mount of a v1 controller (name NULL: the cgroup2 mount) in mountinfo. */
static int find_mount(const char *mountinfo_text, const char *controller, struct cg_mount *m)
{
	const char *line = mountinfo_text;
	while (line && *line) {
		const char *eol = strchr(line, '\n');
		size_t n = eol ? (size_t)(eol - line) : strlen(line);
		char buf[3 * PATH_MAX];
		if (n < sizeof(buf)) {
			memcpy(buf, line, n);
			buf[n] = '\0';
			char *f[5], *fstype, *super;
			mountinfo_split(buf, f, &fstype, &super);
			bool match = false;
			if (f[4] && fstype && !controller)
				match = !strcmp(fstype, "cgroup2");
			else if (f[4] && fstype && super && !strcmp(fstype, "cgroup")) {
				char *s2 = NULL;
				for (char *o = strtok_r(super, ",", &s2); o && !match; o = strtok_r(NULL, ",", &s2))
					match = !strcmp(o, controller);
			}
			if (match) {
				unescape(f[3]);
				unescape(f[4]);
				snprintf(m->root, sizeof(m->root), "%s", f[3]);
				snprintf(m->point, sizeof(m->point), "%s", f[4]);
				return 0;
			}
		}
		line = eol ? eol + 1 : NULL;
	}
	return -ENOENT;
}

/* mount point + the cgroup path below the mount's root */
static int join_cgroup(const struct cg_mount *m, const char *path, char *out, size_t size)
{
	size_t rl = strlen(m->root);
	if (strcmp(m->root, "/") && !strncmp(path, m->root, rl) && (path[rl] == '/' || path[rl] == '\0'))
		path += rl;
	if (snprintf(out, size, "%s%s", m->point, strcmp(path, "/") ? path : "") >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}

/* The path of controller (NULL: the unified "0::" line) in /proc/PID/cgroup text. */
static const char *cgroup_path(char *text, const char *controller, char *out, size_t size)
{
	const char *line = text;
	while (line && *line) {
		const char *eol = strchr(line, '\n');
		size_t n = eol ? (size_t)(eol - line) : strlen(line);
		const char *c1 = memchr(line, ':', n);
		const char *c2 = c1 ? memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - line)) : NULL;
		if (c2) {
			size_t clen = (size_t)(c2 - c1 - 1);
			bool match = false;
			if (!controller) {
				match = clen == 0;
			} else {
				const char *c = c1 + 1;
				while (c < c2 && !match) {
					const char *comma = memchr(c, ',', (size_t)(c2 - c));
					const char *end = comma ? comma : c2;
					match = (size_t)(end - c) == strlen(controller) &&
						!strncmp(c, controller, (size_t)(end - c));
					c = end + 1;
				}
			}
			size_t plen = n - (size_t)(c2 + 1 - line);
			if (match && plen < size) {
				memcpy(out, c2 + 1, plen);
				out[plen] = '\0';
				return out;
			}
		}
		line = eol ? eol + 1 : NULL;
	}
	return NULL;
}

int shim_cgroup_resolve(const char *proc_cgroup, const char *mountinfo, bool v2, struct shim_cgroup *cg,
			struct shim_error *err)
{
	char *pc = NULL, *mi = NULL;
	memset(cg, 0, sizeof(*cg));
	cg->v2 = v2;
	int rc = slurp(proc_cgroup, NULL, &pc, NULL);
	if (rc == -ENOENT || rc == -ESRCH)
		return shim_error_set(err, TTRPC_CODE_NOT_FOUND, -ENOENT, "%s: gone (the process exited)", proc_cgroup);
	if (rc)
		return shim_error_errno(err, TTRPC_CODE_INTERNAL, -rc, "read %s", proc_cgroup);
	rc = slurp(mountinfo, NULL, &mi, NULL);
	if (rc) {
		free(pc);
		return shim_error_errno(err, TTRPC_CODE_INTERNAL, -rc, "read %s", mountinfo);
	}
	char path[PATH_MAX];
	struct cg_mount m;
	if (v2) {
		if (!cgroup_path(pc, NULL, path, sizeof(path)) || find_mount(mi, NULL, &m) ||
		    join_cgroup(&m, path, cg->unified, sizeof(cg->unified)))
			rc = shim_error_set(err, TTRPC_CODE_NOT_FOUND, -ENOENT, "%s: no cgroup v2 directory",
					    proc_cgroup);
	} else {
		struct {
			const char *name;
			char *dir;
		} ctl[] = { { "cpu", cg->cpu },	  { "cpuacct", cg->cpuacct }, { "memory", cg->memory },
			    { "pids", cg->pids }, { "blkio", cg->blkio },     { "hugetlb", cg->hugetlb },
			    { "rdma", cg->rdma } };
		int found = 0;
		for (size_t i = 0; i < sizeof(ctl) / sizeof(ctl[0]); i++) {
			if (cgroup_path(pc, ctl[i].name, path, sizeof(path)) && !find_mount(mi, ctl[i].name, &m) &&
			    !join_cgroup(&m, path, ctl[i].dir, PATH_MAX))
				found++;
		}
		if (!found)
			rc = shim_error_set(err, TTRPC_CODE_NOT_FOUND, -ENOENT, "%s: no cgroup v1 controller",
					    proc_cgroup);
	}
	free(pc);
	free(mi);
	return rc;
}

int shim_cgroup_of_pid(pid_t pid, const char *proc, bool v2, struct shim_cgroup *cg, struct shim_error *err)
{
	char pc[PATH_MAX], mi[PATH_MAX];
	if (pid <= 0)
		return shim_error_set(err, TTRPC_CODE_NOT_FOUND, -ESRCH, "no process");
	snprintf(pc, sizeof(pc), "%s/%d/cgroup", proc ? proc : "/proc", (int)pid);
	snprintf(mi, sizeof(mi), "%s/self/mountinfo", proc ? proc : "/proc");
	return shim_cgroup_resolve(pc, mi, v2, cg, err);
}

/* ---- v1 ---- */

typedef Io__Containerd__Cgroups__V1__Metrics V1Metrics;
typedef Io__Containerd__Cgroups__V1__BlkIOEntry V1BlkEntry;

static void *new_msg(size_t size, const void *init)
{
	void *m = malloc(size);
	if (m)
		memcpy(m, init, size);
	return m;
}
/* A heap message of type, initialised with its protobuf-c INIT value. */
#define NEW(type, init) ((type *)new_msg(sizeof(type), &(const type)init))

static int oom(struct shim_error *err)
{
	return shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
}

static int v1_cpu(const struct shim_cgroup *cg, V1Metrics *m, struct shim_error *err)
{
	Io__Containerd__Cgroups__V1__CPUUsage *u = m->cpu->usage;
	Io__Containerd__Cgroups__V1__Throttle *t = m->cpu->throttling;
	bool found;
	int rc = read_u64(cg->cpuacct, "cpuacct.usage", UINT64_MAX, &u->total, &found, err);
	if (rc)
		return rc;
	if (*cg->cpuacct) {
		uint64_t user = 0, sys = 0;
		const struct kv_field f[] = { { "user", &user }, { "system", &sys } };
		if ((rc = read_kv(cg->cpuacct, "cpuacct.stat", f, 2, &found, err)))
			return rc;
		/* USER_HZ ticks to nanoseconds, as containerd/cgroups does */
		long hz = sysconf(_SC_CLK_TCK);
		if (hz <= 0)
			hz = 100;
		u->user = user * 1000000000ull / (uint64_t)hz;
		u->kernel = sys * 1000000000ull / (uint64_t)hz;
		char *buf;
		rc = slurp(cg->cpuacct, "cpuacct.usage_percpu", &buf, NULL);
		if (rc == 0) {
			size_t n = 0;
			for (char *s = buf; *s;) {
				while (*s == ' ' || *s == '\n')
					s++;
				if (!*s)
					break;
				n++;
				s += strcspn(s, " \n");
			}
			u->per_cpu = n ? calloc(n, sizeof(uint64_t)) : NULL;
			if (n && !u->per_cpu) {
				free(buf);
				return oom(err);
			}
			char *save = NULL;
			for (char *tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
				if (parse_u64(tok, UINT64_MAX, &u->per_cpu[u->n_per_cpu])) {
					free(buf);
					return bad_file(err, cg->cpuacct, "cpuacct.usage_percpu", "not a number");
				}
				u->n_per_cpu++;
			}
			free(buf);
		} else if (!is_missing(rc)) {
			return shim_error_errno(err, TTRPC_CODE_INTERNAL, -rc, "read %s/cpuacct.usage_percpu",
						cg->cpuacct);
		}
	}
	const struct kv_field tf[] = { { "nr_periods", &t->periods },
				       { "nr_throttled", &t->throttled_periods },
				       { "throttled_time", &t->throttled_time } };
	return read_kv(cg->cpu, "cpu.stat", tf, 3, &found, err);
}

static int v1_memory_entry(const char *dir, const char *module, Io__Containerd__Cgroups__V1__MemoryEntry *e,
			   struct shim_error *err)
{
	struct {
		const char *name;
		uint64_t *v;
	} f[] = { { "usage_in_bytes", &e->usage },
		  { "max_usage_in_bytes", &e->max },
		  { "failcnt", &e->failcnt },
		  { "limit_in_bytes", &e->limit } };
	for (size_t i = 0; i < 4; i++) {
		char name[96];
		snprintf(name, sizeof(name), "memory.%s%s%s", module, *module ? "." : "", f[i].name);
		int rc = read_u64(dir, name, UINT64_MAX, f[i].v, NULL, err);
		if (rc)
			return rc;
	}
	return 0;
}

static int v1_memory(const struct shim_cgroup *cg, V1Metrics *m, struct shim_error *err)
{
	if (!*cg->memory)
		return 0;
	char probe[PATH_MAX + 32];
	snprintf(probe, sizeof(probe), "%s/memory.stat", cg->memory);
	if (access(probe, F_OK))
		return 0;
	Io__Containerd__Cgroups__V1__MemoryStat *s = m->memory =
		NEW(Io__Containerd__Cgroups__V1__MemoryStat, IO__CONTAINERD__CGROUPS__V1__MEMORY_STAT__INIT);
	if (!s)
		return oom(err);
	Io__Containerd__Cgroups__V1__MemoryEntry **entries[] = { &s->usage, &s->swap, &s->kernel, &s->kernel_tcp };
	for (size_t i = 0; i < 4; i++)
		if (!(*entries[i] = NEW(Io__Containerd__Cgroups__V1__MemoryEntry,
					IO__CONTAINERD__CGROUPS__V1__MEMORY_ENTRY__INIT)))
			return oom(err);
	const struct kv_field f[] = {
		{ "cache", &s->cache },
		{ "rss", &s->rss },
		{ "rss_huge", &s->rss_huge },
		{ "mapped_file", &s->mapped_file },
		{ "dirty", &s->dirty },
		{ "writeback", &s->writeback },
		{ "pgpgin", &s->pg_pg_in },
		{ "pgpgout", &s->pg_pg_out },
		{ "pgfault", &s->pg_fault },
		{ "pgmajfault", &s->pg_maj_fault },
		{ "inactive_anon", &s->inactive_anon },
		{ "active_anon", &s->active_anon },
		{ "inactive_file", &s->inactive_file },
		{ "active_file", &s->active_file },
		{ "unevictable", &s->unevictable },
		{ "hierarchical_memory_limit", &s->hierarchical_memory_limit },
		{ "hierarchical_memsw_limit", &s->hierarchical_swap_limit },
		{ "total_cache", &s->total_cache },
		{ "total_rss", &s->total_rss },
		{ "total_rss_huge", &s->total_rss_huge },
		{ "total_mapped_file", &s->total_mapped_file },
		{ "total_dirty", &s->total_dirty },
		{ "total_writeback", &s->total_writeback },
		{ "total_pgpgin", &s->total_pg_pg_in },
		{ "total_pgpgout", &s->total_pg_pg_out },
		{ "total_pgfault", &s->total_pg_fault },
		{ "total_pgmajfault", &s->total_pg_maj_fault },
		{ "total_inactive_anon", &s->total_inactive_anon },
		{ "total_active_anon", &s->total_active_anon },
		{ "total_inactive_file", &s->total_inactive_file },
		{ "total_active_file", &s->total_active_file },
		{ "total_unevictable", &s->total_unevictable },
	};
	int rc = read_kv(cg->memory, "memory.stat", f, sizeof(f) / sizeof(f[0]), NULL, err);
	if (rc)
		return rc;
	Io__Containerd__Cgroups__V1__MemoryOomControl *o = m->memory_oom_control = NEW(
		Io__Containerd__Cgroups__V1__MemoryOomControl, IO__CONTAINERD__CGROUPS__V1__MEMORY_OOM_CONTROL__INIT);
	if (!o)
		return oom(err);
	const struct kv_field of[] = { { "oom_kill_disable", &o->oom_kill_disable },
				       { "under_oom", &o->under_oom },
				       { "oom_kill", &o->oom_kill } };
	if ((rc = read_kv(cg->memory, "memory.oom_control", of, 3, NULL, err)))
		return rc;
	const char *modules[] = { "", "memsw", "kmem", "kmem.tcp" };
	for (size_t i = 0; i < 4; i++)
		if ((rc = v1_memory_entry(cg->memory, modules[i], *entries[i], err)))
			return rc;
	return 0;
}

static int v1_pids(const struct shim_cgroup *cg, V1Metrics *m, struct shim_error *err)
{
	uint64_t cur, max;
	bool found_cur, found_max;
	int rc = read_u64(cg->pids, "pids.current", UINT64_MAX, &cur, &found_cur, err);
	if (!rc)
		rc = read_u64(cg->pids, "pids.max", 0, &max, &found_max, err); /* "max": no limit, 0 */
	if (rc || !found_cur || !found_max)
		return rc;
	if (!(m->pids = NEW(Io__Containerd__Cgroups__V1__PidsStat, IO__CONTAINERD__CGROUPS__V1__PIDS_STAT__INIT)))
		return oom(err);
	m->pids->current = cur;
	m->pids->limit = max;
	return 0;
}

/* "/dev/<name>" of major:minor in /proc/partitions text, or "" */
static const char *device_name(const char *partitions, uint64_t major, uint64_t minor, char *out, size_t size)
{
	*out = '\0';
	const char *line = partitions;
	while (line && *line) {
		unsigned long long ma, mi, blocks;
		char name[128];
		if (sscanf(line, " %llu %llu %llu %127s", &ma, &mi, &blocks, name) == 4 && ma == major && mi == minor) {
			snprintf(out, size, "/dev/%s", name);
			break;
		}
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	return out;
}

static int append_blk(V1BlkEntry ***arr, size_t *n, const char *op, const char *dev, uint64_t major, uint64_t minor,
		      uint64_t value)
{
	V1BlkEntry **na = realloc(*arr, (*n + 1) * sizeof(**arr));
	if (!na)
		return -ENOMEM;
	*arr = na;
	V1BlkEntry *e = NEW(V1BlkEntry, IO__CONTAINERD__CGROUPS__V1__BLK_IOENTRY__INIT);
	if (!e)
		return -ENOMEM;
	e->op = strdup(op);
	e->device = strdup(dev);
	e->major = major;
	e->minor = minor;
	e->value = value;
	na[(*n)++] = e;
	if (!e->op || !e->device)
		return -ENOMEM;
	return 0;
}

/* blkio.<name>: "major:minor [op] value" lines and a "Total N" line. */
static int v1_blk_file(const char *dir, const char *name, const char *partitions, V1BlkEntry ***arr, size_t *n,
		       struct shim_error *err)
{
	char *buf;
	int rc = slurp(dir, name, &buf, NULL);
	if (is_missing(rc))
		return 0;
	if (rc)
		return shim_error_errno(err, TTRPC_CODE_INTERNAL, -rc, "read %s/%s", dir, name);
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long ma, mi, v;
		char op[32], dev[160];
		int k;
		if (!strncmp(line, "Total ", 6))
			continue;
		bool with_op = sscanf(line, "%llu:%llu %31s %llu%n", &ma, &mi, op, &v, &k) == 4 && !line[k];
		if (!with_op && sscanf(line, "%llu:%llu %llu%n", &ma, &mi, &v, &k) == 3 && !line[k])
			op[0] = '\0';
		else if (!with_op) {
			free(buf);
			return bad_file(err, dir, name, "a line that is not \"major:minor [op] value\"");
		}
		if (append_blk(arr, n, op, device_name(partitions, ma, mi, dev, sizeof(dev)), ma, mi, v)) {
			free(buf);
			return oom(err);
		}
	}
	free(buf);
	return 0;
}

static int v1_blkio(const struct shim_cgroup *cg, const char *partitions_path, V1Metrics *m, struct shim_error *err)
{
	if (!*cg->blkio)
		return 0;
	Io__Containerd__Cgroups__V1__BlkIOStat *b = m->blkio =
		NEW(Io__Containerd__Cgroups__V1__BlkIOStat, IO__CONTAINERD__CGROUPS__V1__BLK_IOSTAT__INIT);
	if (!b)
		return oom(err);
	char *parts = NULL;
	if (partitions_path && slurp(partitions_path, NULL, &parts, NULL))
		parts = NULL;
	int rc = 0;
	char probe[PATH_MAX + 64];
	snprintf(probe, sizeof(probe), "%s/blkio.io_serviced_recursive", cg->blkio);
	size_t total = 0;
	if (access(probe, F_OK) == 0) {
		/* CFQ/BFQ statistics, as containerd/cgroups reads them first */
		struct {
			const char *name;
			V1BlkEntry ***arr;
			size_t *n;
		} f[] = {
			{ "blkio.sectors_recursive", &b->sectors_recursive, &b->n_sectors_recursive },
			{ "blkio.io_service_bytes_recursive", &b->io_service_bytes_recursive,
			  &b->n_io_service_bytes_recursive },
			{ "blkio.io_serviced_recursive", &b->io_serviced_recursive, &b->n_io_serviced_recursive },
			{ "blkio.io_queued_recursive", &b->io_queued_recursive, &b->n_io_queued_recursive },
			{ "blkio.io_service_time_recursive", &b->io_service_time_recursive,
			  &b->n_io_service_time_recursive },
			{ "blkio.io_wait_time_recursive", &b->io_wait_time_recursive, &b->n_io_wait_time_recursive },
			{ "blkio.io_merged_recursive", &b->io_merged_recursive, &b->n_io_merged_recursive },
			{ "blkio.time_recursive", &b->io_time_recursive, &b->n_io_time_recursive },
		};
		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]) && !rc; i++) {
			rc = v1_blk_file(cg->blkio, f[i].name, parts ? parts : "", f[i].arr, f[i].n, err);
			total += *f[i].n;
		}
	}
	/* no CFQ statistics (or none for this cgroup's devices): the throttle files */
	if (!rc && total == 0)
		rc = v1_blk_file(cg->blkio, "blkio.throttle.io_serviced", parts ? parts : "", &b->io_serviced_recursive,
				 &b->n_io_serviced_recursive, err);
	if (!rc && total == 0)
		rc = v1_blk_file(cg->blkio, "blkio.throttle.io_service_bytes", parts ? parts : "",
				 &b->io_service_bytes_recursive, &b->n_io_service_bytes_recursive, err);
	free(parts);
	return rc;
}

/* hugetlb.<size>.usage_in_bytes: one HugetlbStat per page size present */
static int v1_hugetlb(const struct shim_cgroup *cg, V1Metrics *m, struct shim_error *err)
{
	if (!*cg->hugetlb)
		return 0;
	DIR *d = opendir(cg->hugetlb);
	if (!d)
		return 0;
	struct dirent *e;
	int rc = 0;
	while (!rc && (e = readdir(d))) {
		const char *suffix = ".usage_in_bytes";
		size_t nl = strlen(e->d_name), sl = strlen(suffix);
		if (strncmp(e->d_name, "hugetlb.", 8) || nl <= 8 + sl || strcmp(e->d_name + nl - sl, suffix))
			continue;
		char size[64];
		size_t zl = nl - 8 - sl;
		if (zl >= sizeof(size) || memchr(e->d_name + 8, '.', zl))
			continue; /* hugetlb.<size>.rsvd.usage_in_bytes and the like */
		memcpy(size, e->d_name + 8, zl);
		size[zl] = '\0';
		Io__Containerd__Cgroups__V1__HugetlbStat **na =
			realloc(m->hugetlb, (m->n_hugetlb + 1) * sizeof(*m->hugetlb));
		if (!na) {
			rc = oom(err);
			break;
		}
		m->hugetlb = na;
		Io__Containerd__Cgroups__V1__HugetlbStat *h =
			NEW(Io__Containerd__Cgroups__V1__HugetlbStat, IO__CONTAINERD__CGROUPS__V1__HUGETLB_STAT__INIT);
		if (!h || !(h->pagesize = strdup(size))) {
			free(h);
			rc = oom(err);
			break;
		}
		na[m->n_hugetlb++] = h;
		char name[128];
		snprintf(name, sizeof(name), "hugetlb.%s.usage_in_bytes", size);
		rc = read_u64(cg->hugetlb, name, UINT64_MAX, &h->usage, NULL, err);
		snprintf(name, sizeof(name), "hugetlb.%s.max_usage_in_bytes", size);
		if (!rc)
			rc = read_u64(cg->hugetlb, name, UINT64_MAX, &h->max, NULL, err);
		snprintf(name, sizeof(name), "hugetlb.%s.failcnt", size);
		if (!rc)
			rc = read_u64(cg->hugetlb, name, UINT64_MAX, &h->failcnt, NULL, err);
	}
	closedir(d);
	return rc;
}

void shim_metrics_v1_free(V1Metrics *m)
{
	if (m)
		protobuf_c_message_free_unpacked(&m->base, NULL);
}

int shim_metrics_v1_read(const struct shim_cgroup *cg, const char *partitions, V1Metrics **out, struct shim_error *err)
{
	*out = NULL;
	V1Metrics *m = NEW(V1Metrics, IO__CONTAINERD__CGROUPS__V1__METRICS__INIT);
	if (!m)
		return oom(err);
	/* containerd/cgroups always sends cpu with usage and throttling */
	int rc = 0;
	if (!(m->cpu = NEW(Io__Containerd__Cgroups__V1__CPUStat, IO__CONTAINERD__CGROUPS__V1__CPUSTAT__INIT)) ||
	    !(m->cpu->usage =
		      NEW(Io__Containerd__Cgroups__V1__CPUUsage, IO__CONTAINERD__CGROUPS__V1__CPUUSAGE__INIT)) ||
	    !(m->cpu->throttling =
		      NEW(Io__Containerd__Cgroups__V1__Throttle, IO__CONTAINERD__CGROUPS__V1__THROTTLE__INIT)))
		rc = oom(err);
	if (!rc)
		rc = v1_cpu(cg, m, err);
	if (!rc)
		rc = v1_memory(cg, m, err);
	if (!rc)
		rc = v1_pids(cg, m, err);
	if (!rc)
		rc = v1_blkio(cg, partitions, m, err);
	if (!rc)
		rc = v1_hugetlb(cg, m, err);
	if (rc) {
		shim_metrics_v1_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

/* ---- v2 ---- */

typedef Io__Containerd__Cgroups__V2__Metrics V2Metrics;

static int v2_io(const char *dir, V2Metrics *m, struct shim_error *err)
{
	char *buf;
	int rc = slurp(dir, "io.stat", &buf, NULL);
	if (is_missing(rc))
		return 0;
	if (rc)
		return shim_error_errno(err, TTRPC_CODE_INTERNAL, -rc, "read %s/io.stat", dir);
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line && !rc; line = strtok_r(NULL, "\n", &save)) {
		/* "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" */
		unsigned long long ma, mi;
		int k;
		if (sscanf(line, "%llu:%llu%n", &ma, &mi, &k) != 2) {
			rc = bad_file(err, dir, "io.stat", "a line without major:minor");
			break;
		}
		Io__Containerd__Cgroups__V2__IOEntry **na = realloc(m->io->usage, (m->io->n_usage + 1) * sizeof(*na));
		Io__Containerd__Cgroups__V2__IOEntry *e =
			na ? NEW(Io__Containerd__Cgroups__V2__IOEntry, IO__CONTAINERD__CGROUPS__V2__IOENTRY__INIT) :
			     NULL;
		if (na)
			m->io->usage = na;
		if (!e) {
			rc = oom(err);
			break;
		}
		na[m->io->n_usage++] = e;
		e->major = ma;
		e->minor = mi;
		char *save2 = NULL;
		for (char *kv = strtok_r(line + k, " ", &save2); kv; kv = strtok_r(NULL, " ", &save2)) {
			char *eq = strchr(kv, '=');
			if (!eq)
				continue;
			*eq = '\0';
			uint64_t *dst = !strcmp(kv, "rbytes") ? &e->rbytes :
					!strcmp(kv, "wbytes") ? &e->wbytes :
					!strcmp(kv, "rios")   ? &e->rios :
					!strcmp(kv, "wios")   ? &e->wios :
								NULL;
			if (dst && parse_u64(eq + 1, UINT64_MAX, dst)) {
				rc = bad_file(err, dir, "io.stat", "a value that is not a number");
				break;
			}
		}
	}
	free(buf);
	return rc;
}

static int v2_hugetlb(const char *dir, V2Metrics *m, struct shim_error *err)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *e;
	int rc = 0;
	while (!rc && (e = readdir(d))) {
		const char *suffix = ".current";
		size_t nl = strlen(e->d_name), sl = strlen(suffix);
		if (strncmp(e->d_name, "hugetlb.", 8) || nl <= 8 + sl || strcmp(e->d_name + nl - sl, suffix))
			continue;
		char size[64];
		size_t zl = nl - 8 - sl;
		if (zl >= sizeof(size) || memchr(e->d_name + 8, '.', zl))
			continue; /* hugetlb.<size>.rsvd.current */
		memcpy(size, e->d_name + 8, zl);
		size[zl] = '\0';
		Io__Containerd__Cgroups__V2__HugeTlbStat **na =
			realloc(m->hugetlb, (m->n_hugetlb + 1) * sizeof(*m->hugetlb));
		if (!na) {
			rc = oom(err);
			break;
		}
		m->hugetlb = na;
		Io__Containerd__Cgroups__V2__HugeTlbStat *h =
			NEW(Io__Containerd__Cgroups__V2__HugeTlbStat, IO__CONTAINERD__CGROUPS__V2__HUGE_TLB_STAT__INIT);
		if (!h || !(h->pagesize = strdup(size))) {
			free(h);
			rc = oom(err);
			break;
		}
		na[m->n_hugetlb++] = h;
		char name[128];
		snprintf(name, sizeof(name), "hugetlb.%s.current", size);
		rc = read_u64(dir, name, UINT64_MAX, &h->current, NULL, err);
		snprintf(name, sizeof(name), "hugetlb.%s.max", size);
		if (!rc)
			rc = read_u64(dir, name, UINT64_MAX, &h->max, NULL, err);
	}
	closedir(d);
	return rc;
}

void shim_metrics_v2_free(V2Metrics *m)
{
	if (m)
		protobuf_c_message_free_unpacked(&m->base, NULL);
}

int shim_metrics_v2_read(const char *dir, V2Metrics **out, struct shim_error *err)
{
	*out = NULL;
	V2Metrics *m = NEW(V2Metrics, IO__CONTAINERD__CGROUPS__V2__METRICS__INIT);
	if (!m)
		return oom(err);
	int rc = 0;
	/* containerd/cgroups always sends pids, cpu, memory and io */
	if (!(m->pids = NEW(Io__Containerd__Cgroups__V2__PidsStat, IO__CONTAINERD__CGROUPS__V2__PIDS_STAT__INIT)) ||
	    !(m->cpu = NEW(Io__Containerd__Cgroups__V2__CPUStat, IO__CONTAINERD__CGROUPS__V2__CPUSTAT__INIT)) ||
	    !(m->memory =
		      NEW(Io__Containerd__Cgroups__V2__MemoryStat, IO__CONTAINERD__CGROUPS__V2__MEMORY_STAT__INIT)) ||
	    !(m->io = NEW(Io__Containerd__Cgroups__V2__IOStat, IO__CONTAINERD__CGROUPS__V2__IOSTAT__INIT)))
		rc = oom(err);
	if (!rc)
		rc = read_u64(dir, "pids.current", UINT64_MAX, &m->pids->current, NULL, err);
	if (!rc)
		rc = read_u64(dir, "pids.max", UINT64_MAX, &m->pids->limit, NULL, err);
	Io__Containerd__Cgroups__V2__CPUStat *c = m->cpu;
	const struct kv_field cf[] = { { "usage_usec", &c->usage_usec },     { "user_usec", &c->user_usec },
				       { "system_usec", &c->system_usec },   { "nr_periods", &c->nr_periods },
				       { "nr_throttled", &c->nr_throttled }, { "throttled_usec", &c->throttled_usec } };
	if (!rc)
		rc = read_kv(dir, "cpu.stat", cf, sizeof(cf) / sizeof(cf[0]), NULL, err);
	Io__Containerd__Cgroups__V2__MemoryStat *s = m->memory;
	const struct kv_field mf[] = {
		{ "anon", &s->anon },
		{ "file", &s->file },
		{ "kernel_stack", &s->kernel_stack },
		{ "slab", &s->slab },
		{ "sock", &s->sock },
		{ "shmem", &s->shmem },
		{ "file_mapped", &s->file_mapped },
		{ "file_dirty", &s->file_dirty },
		{ "file_writeback", &s->file_writeback },
		{ "anon_thp", &s->anon_thp },
		{ "inactive_anon", &s->inactive_anon },
		{ "active_anon", &s->active_anon },
		{ "inactive_file", &s->inactive_file },
		{ "active_file", &s->active_file },
		{ "unevictable", &s->unevictable },
		{ "slab_reclaimable", &s->slab_reclaimable },
		{ "slab_unreclaimable", &s->slab_unreclaimable },
		{ "pgfault", &s->pgfault },
		{ "pgmajfault", &s->pgmajfault },
		{ "workingset_refault", &s->workingset_refault },
		{ "workingset_activate", &s->workingset_activate },
		{ "workingset_nodereclaim", &s->workingset_nodereclaim },
		{ "pgrefill", &s->pgrefill },
		{ "pgscan", &s->pgscan },
		{ "pgsteal", &s->pgsteal },
		{ "pgactivate", &s->pgactivate },
		{ "pgdeactivate", &s->pgdeactivate },
		{ "pglazyfree", &s->pglazyfree },
		{ "pglazyfreed", &s->pglazyfreed },
		{ "thp_fault_alloc", &s->thp_fault_alloc },
		{ "thp_collapse_alloc", &s->thp_collapse_alloc },
	};
	if (!rc)
		rc = read_kv(dir, "memory.stat", mf, sizeof(mf) / sizeof(mf[0]), NULL, err);
	if (!rc)
		rc = read_u64(dir, "memory.current", UINT64_MAX, &s->usage, NULL, err);
	if (!rc)
		rc = read_u64(dir, "memory.max", UINT64_MAX, &s->usage_limit, NULL, err);
	if (!rc)
		rc = read_u64(dir, "memory.swap.current", UINT64_MAX, &s->swap_usage, NULL, err);
	if (!rc)
		rc = read_u64(dir, "memory.swap.max", UINT64_MAX, &s->swap_limit, NULL, err);
	if (!rc) {
		Io__Containerd__Cgroups__V2__MemoryEvents ev = IO__CONTAINERD__CGROUPS__V2__MEMORY_EVENTS__INIT;
		const struct kv_field ef[] = { { "low", &ev.low },
					       { "high", &ev.high },
					       { "max", &ev.max },
					       { "oom", &ev.oom },
					       { "oom_kill", &ev.oom_kill } };
		bool found;
		rc = read_kv(dir, "memory.events", ef, 5, &found, err);
		if (!rc && found) {
			if (!(m->memory_events = NEW(Io__Containerd__Cgroups__V2__MemoryEvents,
						     IO__CONTAINERD__CGROUPS__V2__MEMORY_EVENTS__INIT)))
				rc = oom(err);
			else
				*m->memory_events = ev;
		}
	}
	if (!rc)
		rc = v2_io(dir, m, err);
	if (!rc)
		rc = v2_hugetlb(dir, m, err);
	if (rc) {
		shim_metrics_v2_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

/* ---- Stats ---- */

int shim_metrics_of_pid(pid_t pid, Google__Protobuf__Any *any, struct shim_error *err)
{
	bool v2 = shim_cgroup_unified(NULL);
	struct shim_cgroup *cg = malloc(sizeof(*cg));
	if (!cg)
		return oom(err);
	int rc = shim_cgroup_of_pid(pid, NULL, v2, cg, err);
	ProtobufCMessage *msg = NULL;
	if (!rc && v2) {
		V2Metrics *m;
		if (!(rc = shim_metrics_v2_read(cg->unified, &m, err)))
			msg = &m->base;
	} else if (!rc) {
		V1Metrics *m;
		if (!(rc = shim_metrics_v1_read(cg, "/proc/partitions", &m, err)))
			msg = &m->base;
	}
	free(cg);
	if (rc)
		return rc;
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *data = malloc(len ? len : 1);
	if (!data) {
		protobuf_c_message_free_unpacked(msg, NULL);
		return oom(err);
	}
	protobuf_c_message_pack(msg, data);
	protobuf_c_message_free_unpacked(msg, NULL);
	google__protobuf__any__init(any);
	any->type_url = (char *)(v2 ? SHIM_METRICS_V2_TYPE : SHIM_METRICS_V1_TYPE);
	any->value.data = data;
	any->value.len = len;
	return 0;
}

/* ---- the pod's cgroup ---- */

void shim_podcg_free(struct shim_podcg *cg)
{
	for (size_t i = 0; i < cg->n; i++) {
		free(cg->dirs[i]);
		free(cg->procs[i]);
	}
	free(cg->dirs);
	free(cg->procs);
	memset(cg, 0, sizeof(*cg));
}

bool shim_cgroup_path_clean(const char *p)
{
	if (p[0] != '/')
		return false;
	for (const char *c = p + 1; *c;) {
		size_t n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += n;
		if (*c == '/' && !*++c)
			return false; /* trailing slash */
	}
	return true;
}

/* A new cpuset directory has empty cpuset.cpus/mems, and nothing can join it
 * until they are set: copy the parent's (what runc's cpuset driver does). */
static int cpuset_inherit(const char *dir)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	for (size_t i = 0; i < 2; i++) {
		char *mine, *theirs;
		int rc = slurp(dir, files[i], &mine, NULL);
		if (is_missing(rc))
			return 0; /* not a cpuset hierarchy */
		if (rc)
			return rc;
		bool empty = mine[strspn(mine, " \n")] == '\0';
		free(mine);
		if (!empty)
			continue;
		char parent[PATH_MAX];
		snprintf(parent, sizeof(parent), "%s", dir);
		char *slash = strrchr(parent, '/');
		if (!slash || slash == parent)
			return -EINVAL;
		*slash = '\0';
		if ((rc = slurp(parent, files[i], &theirs, NULL)))
			return rc;
		char path[PATH_MAX + 32];
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		int fd = open(path, O_WRONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : write(fd, theirs, strlen(theirs));
		rc = n < 0 ? -errno : 0;
		if (fd >= 0)
			close(fd);
		free(theirs);
		if (rc)
			return rc;
	}
	return 0;
}

/* mkdir -p of mount + path; the leaf must be new. */
static int make_cgroup_dirs(const char *mount, const char *path, char *out, size_t size)
{
	if (snprintf(out, size, "%s%s", mount, path) >= (int)size)
		return -ENAMETOOLONG;
	for (char *c = out + strlen(mount) + 1;; c++) {
		if (*c != '/' && *c != '\0')
			continue;
		char save = *c;
		*c = '\0';
		int rc = mkdir(out, 0755) == 0 ? 0 : -errno;
		if (!rc)
			rc = cpuset_inherit(out);
		else if (rc == -EEXIST && save)
			rc = 0; /* a parent there already */
		*c = save;
		if (rc || !save)
			return rc;
	}
}

static int add_dir(struct shim_podcg *cg, const char *dir)
{
	char **d = realloc(cg->dirs, (cg->n + 1) * sizeof(*d));
	if (d)
		cg->dirs = d;
	char **p = d ? realloc(cg->procs, (cg->n + 1) * sizeof(*p)) : NULL;
	if (p)
		cg->procs = p;
	if (!d || !p)
		return -ENOMEM;
	size_t len = strlen(dir) + sizeof("/cgroup.procs");
	cg->dirs[cg->n] = strdup(dir);
	cg->procs[cg->n] = malloc(len);
	if (!cg->dirs[cg->n] || !cg->procs[cg->n]) {
		free(cg->dirs[cg->n]);
		free(cg->procs[cg->n]);
		return -ENOMEM;
	}
	snprintf(cg->procs[cg->n], len, "%s/cgroup.procs", dir);
	cg->n++;
	return 0;
}

int shim_podcg_create(const char *mountinfo, const char *root, const char *parent, const char *id,
		      struct shim_podcg *cg, struct shim_error *err)
{
	memset(cg, 0, sizeof(*cg));
	if (!shim_cgroup_path_clean(parent))
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
				      "cgroup parent %s: not an absolute path of plain components", parent);
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", strcmp(parent, "/") ? parent : "", id) >= (int)sizeof(path))
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -ENAMETOOLONG, "cgroup %s/%s: too long", parent,
				      id);
	bool unified = shim_cgroup_unified(root);
	char *mi;
	int rc = slurp(mountinfo ? mountinfo : "/proc/self/mountinfo", NULL, &mi, NULL);
	if (rc)
		return shim_error_errno(err, TTRPC_CODE_INTERNAL, -rc, "read mountinfo");
	char devs[64][24];
	size_t ndevs = 0;
	char *save = NULL;
	for (char *line = strtok_r(mi, "\n", &save); line && !rc; line = strtok_r(NULL, "\n", &save)) {
		char *f[5], *fstype, *super;
		mountinfo_split(line, f, &fstype, &super);
		if (!f[4] || !fstype || (strcmp(fstype, "cgroup") && strcmp(fstype, "cgroup2")) ||
		    (unified && strcmp(fstype, "cgroup2")))
			continue;
		unescape(f[4]);
		bool seen = false; /* the same hierarchy (superblock) mounted twice */
		for (size_t i = 0; i < ndevs && !seen; i++)
			seen = !strcmp(devs[i], f[2]);
		if (seen || ndevs == sizeof(devs) / sizeof(devs[0]))
			continue;
		snprintf(devs[ndevs++], sizeof(devs[0]), "%s", f[2]);
		char dir[PATH_MAX];
		if ((rc = make_cgroup_dirs(f[4], path, dir, sizeof(dir)))) {
			shim_error_errno(err, rc == -EEXIST ? TTRPC_CODE_ALREADY_EXISTS : TTRPC_CODE_INTERNAL, -rc,
					 "cgroup %s", dir);
			/* a directory that was there already is not ours to remove */
			if (rc != -EEXIST)
				rmdir(dir);
		} else if ((rc = add_dir(cg, dir))) {
			rmdir(dir);
			shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, rc, "out of memory");
		}
	}
	free(mi);
	if (!rc && !cg->n)
		rc = shim_error_set(err, TTRPC_CODE_FAILED_PRECONDITION, -ENOENT, "no cgroup hierarchy is mounted");
	if (rc) {
		for (size_t i = 0; i < cg->n; i++)
			rmdir(cg->dirs[i]);
		shim_podcg_free(cg);
	}
	return rc;
}

int shim_podcg_join_self(const struct shim_podcg *cg)
{
	for (size_t i = 0; i < cg->n; i++) {
		int fd = open(cg->procs[i], O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return errno;
		ssize_t n;
		do
			n = write(fd, "0", 1); /* "0": the writer itself */
		while (n < 0 && errno == EINTR);
		int e = errno;
		close(fd);
		if (n != 1)
			return n < 0 ? e : EIO;
	}
	return 0;
}

int shim_podcg_remove(struct shim_podcg *cg, struct shim_error *err)
{
	int rc = 0;
	size_t kept = 0;
	for (size_t i = 0; i < cg->n; i++) {
		int r = rmdir(cg->dirs[i]) == 0 || errno == ENOENT ? 0 : -errno;
		if (!r) {
			free(cg->dirs[i]);
			free(cg->procs[i]);
			continue;
		}
		if (r != -EBUSY && rc != -EBUSY && !rc)
			shim_error_errno(err, TTRPC_CODE_INTERNAL, -r, "remove cgroup %s", cg->dirs[i]);
		if (!rc || r == -EBUSY)
			rc = r;
		cg->dirs[kept] = cg->dirs[i];
		cg->procs[kept++] = cg->procs[i];
	}
	cg->n = kept;
	if (rc == -EBUSY)
		shim_error_errno(err, TTRPC_CODE_UNAVAILABLE, EBUSY, "remove cgroup %s", cg->dirs[0]);
	return rc;
}
