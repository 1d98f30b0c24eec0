/* SPDX-License-Identifier: Apache-2.0 */
#include "oci.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static int invalid(struct shim_error *err, const char *origin, const char *what, const char *want)
{
	return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL, "%s: %s must be %s", origin, what, want);
}

static int oom(struct shim_error *err)
{
	return shim_error_set(err, TTRPC_CODE_RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
}

/* Optional string member: *out stays NULL when absent. */
static int get_string(json_t *obj, const char *key, const char *origin, const char *what, char **out,
		      struct shim_error *err)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return invalid(err, origin, what, "a string");
	*out = strdup(json_string_value(v));
	return *out ? 0 : oom(err);
}

static int get_bool(json_t *obj, const char *key, const char *origin, const char *what, bool *out,
		    struct shim_error *err)
{
	json_t *v = json_object_get(obj, key);

	*out = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return invalid(err, origin, what, "a boolean");
	*out = json_is_true(v);
	return 0;
}

static int parse_process(json_t *process, const char *origin, struct shim_oci_process *proc, struct shim_error *err)
{
	json_t *args, *arg;
	size_t i;
	int ret;

	memset(proc, 0, sizeof(*proc));
	if (!json_is_object(process))
		return invalid(err, origin, "process", "an object");
	ret = get_bool(process, "terminal", origin, "process.terminal", &proc->terminal, err);
	if (ret < 0)
		return ret;
	args = json_object_get(process, "args");
	if (!args || json_is_null(args))
		return 0;
	if (!json_is_array(args))
		return invalid(err, origin, "process.args", "an array of strings");
	proc->args = calloc(json_array_size(args) + 1, sizeof(char *));
	if (!proc->args)
		return oom(err);
	json_array_foreach(args, i, arg)
	{
		if (!json_is_string(arg)) {
			shim_oci_process_free(proc);
			return invalid(err, origin, "process.args", "an array of strings");
		}
		proc->args[i] = strdup(json_string_value(arg));
		if (!proc->args[i]) {
			shim_oci_process_free(proc);
			return oom(err);
		}
		proc->nargs = i + 1;
	}
	return 0;
}

static int parse_annotations(json_t *ann, const char *origin, struct shim_oci_config *cfg, struct shim_error *err)
{
	const char *key;
	json_t *value;

	if (!ann || json_is_null(ann))
		return 0;
	if (!json_is_object(ann))
		return invalid(err, origin, "annotations", "an object of strings");
	cfg->annotations = calloc(json_object_size(ann) + 1, sizeof(cfg->annotations[0]));
	if (!cfg->annotations)
		return oom(err);
	json_object_foreach(ann, key, value)
	{
		struct shim_kv *kv = &cfg->annotations[cfg->nannotations];

		if (!json_is_string(value))
			return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
					      "%s: annotation \"%s\" must be a string", origin, key);
		kv->key = strdup(key);
		kv->value = strdup(json_string_value(value));
		if (!kv->key || !kv->value) {
			free(kv->key);
			free(kv->value);
			return oom(err);
		}
		cfg->nannotations++;
	}
	return 0;
}

static int parse_config(json_t *root, const char *origin, struct shim_oci_config *cfg, struct shim_error *err)
{
	json_t *process, *rootfs, *linux_;
	int ret;

	if (!json_is_object(root))
		return invalid(err, origin, "the document", "a JSON object");
	process = json_object_get(root, "process");
	if (process && !json_is_null(process)) {
		ret = parse_process(process, origin, &cfg->process, err);
		if (ret < 0)
			return ret;
		cfg->has_process = true;
	}
	rootfs = json_object_get(root, "root");
	if (rootfs && !json_is_null(rootfs)) {
		if (!json_is_object(rootfs))
			return invalid(err, origin, "root", "an object");
		ret = get_string(rootfs, "path", origin, "root.path", &cfg->root_path, err);
		if (ret == 0)
			ret = get_bool(rootfs, "readonly", origin, "root.readonly", &cfg->root_readonly, err);
		if (ret < 0)
			return ret;
	}
	linux_ = json_object_get(root, "linux");
	if (linux_ && !json_is_null(linux_)) {
		if (!json_is_object(linux_))
			return invalid(err, origin, "linux", "an object");
		ret = get_string(linux_, "cgroupsPath", origin, "linux.cgroupsPath", &cfg->cgroups_path, err);
		if (ret < 0)
			return ret;
	}
	return parse_annotations(json_object_get(root, "annotations"), origin, cfg, err);
}

static int json_failed(struct shim_error *err, const char *origin, const json_error_t *jerr)
{
	if (jerr->line > 0)
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL,
				      "%s: invalid JSON at line %d column %d: %s", origin, jerr->line, jerr->column,
				      jerr->text);
	return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL, "%s: invalid JSON: %s", origin, jerr->text);
}

int shim_oci_config_parse(const char *data, size_t len, const char *origin, struct shim_oci_config *cfg,
			  struct shim_error *err)
{
	json_error_t jerr;
	json_t *root;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return json_failed(err, origin, &jerr);
	ret = parse_config(root, origin, cfg, err);
	json_decref(root);
	if (ret < 0)
		shim_oci_config_free(cfg);
	return ret;
}

int shim_oci_config_load(const char *bundle, struct shim_oci_config *cfg, struct shim_error *err)
{
	char path[PATH_MAX];
	json_error_t jerr;
	json_t *root;
	FILE *f;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	if (!bundle || !bundle[0])
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -EINVAL, "bundle path is empty");
	if (snprintf(path, sizeof(path), "%s/config.json", bundle) >= (int)sizeof(path))
		return shim_error_set(err, TTRPC_CODE_INVALID_ARGUMENT, -ENAMETOOLONG, "bundle path too long: %s",
				      bundle);
	/* Open ourselves so a missing file says so, rather than jansson's wording. */
	f = fopen(path, "re");
	if (!f)
		return shim_error_errno(err, TTRPC_CODE_INVALID_ARGUMENT, errno, "open %s", path);
	root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	fclose(f);
	if (!root)
		return json_failed(err, path, &jerr);
	ret = parse_config(root, path, cfg, err);
	json_decref(root);
	if (ret < 0)
		shim_oci_config_free(cfg);
	return ret;
}

void shim_oci_process_free(struct shim_oci_process *proc)
{
	size_t i;

	if (!proc)
		return;
	for (i = 0; proc->args && proc->args[i]; i++)
		free(proc->args[i]);
	free(proc->args);
	memset(proc, 0, sizeof(*proc));
}

void shim_oci_config_free(struct shim_oci_config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	shim_oci_process_free(&cfg->process);
	free(cfg->root_path);
	free(cfg->cgroups_path);
	for (i = 0; i < cfg->nannotations; i++) {
		free(cfg->annotations[i].key);
		free(cfg->annotations[i].value);
	}
	free(cfg->annotations);
	memset(cfg, 0, sizeof(*cfg));
}

const char *shim_oci_annotation(const struct shim_oci_config *cfg, const char *key)
{
	size_t i;

	for (i = 0; i < cfg->nannotations; i++)
		if (!strcmp(cfg->annotations[i].key, key))
			return cfg->annotations[i].value;
	return NULL;
}

int shim_oci_process_parse(const char *data, size_t len, const char *origin, struct shim_oci_process *proc,
			   struct shim_error *err)
{
	json_error_t jerr;
	json_t *root;
	int ret;

	memset(proc, 0, sizeof(*proc));
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return json_failed(err, origin, &jerr);
	ret = parse_process(root, origin, proc, err);
	json_decref(root);
	return ret;
}
