/* SPDX-License-Identifier: Apache-2.0 */
/* The parts of an OCI bundle's config.json (and of an exec's process spec) the
 * shim needs, read with jansson. Everything else is runc's business. */
#ifndef SHIM_OCI_H
#define SHIM_OCI_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct shim_kv {
	char *key;
	char *value;
};

struct shim_oci_process {
	char **args; /* NULL-terminated; NULL when the spec has no args */
	size_t nargs;
	bool terminal;
};

struct shim_oci_config {
	struct shim_oci_process process; /* zeroed when config.json has no "process" */
	bool has_process;
	char *root_path;    /* root.path, NULL when absent */
	bool root_readonly; /* root.readonly */
	char *cgroups_path; /* linux.cgroupsPath, NULL when absent */
	struct shim_kv *annotations;
	size_t nannotations;
};

/* Read "<bundle>/config.json". Missing file, bad JSON or fields of the wrong type
 * give -EINVAL (-ENOENT for a missing file) with INVALID_ARGUMENT and the path,
 * line and column. On success free cfg with shim_oci_config_free. */
int shim_oci_config_load(const char *bundle, struct shim_oci_config *cfg, struct shim_error *err);

/* Same from bytes; origin names them in errors. */
int shim_oci_config_parse(const char *data, size_t len, const char *origin, struct shim_oci_config *cfg,
			  struct shim_error *err);

void shim_oci_config_free(struct shim_oci_config *cfg);

/* Value of annotation key, or NULL. */
const char *shim_oci_annotation(const struct shim_oci_config *cfg, const char *key);

/* An exec's process spec (the JSON in ExecProcessRequest.spec's Any value). */
int shim_oci_process_parse(const char *data, size_t len, const char *origin, struct shim_oci_process *proc,
			   struct shim_error *err);

void shim_oci_process_free(struct shim_oci_process *proc);

#endif
