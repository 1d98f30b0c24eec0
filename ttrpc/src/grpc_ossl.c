/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#define TTRPC__OSSL_TABLE /* the real names, for dlsym */
#include "grpc_ossl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <ttrpc/common.h>

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define LIBSSL "libssl.so." STRINGIFY(OPENSSL_SHLIB_VERSION)

struct ttrpc__ossl ttrpc__ossl;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *missing; /* NULL: loaded */
static char dl_error[160];

static void load(void)
{
	/* stays loaded: OpenSSL does not support being unloaded */
	void *lib = dlopen(LIBSSL, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		const char *e = dlerror();
		snprintf(dl_error, sizeof(dl_error), "%s", e ? e : LIBSSL);
		missing = dl_error;
		return;
	}
	/* libssl's dependencies (libcrypto) answer dlsym on its handle too */
#define TTRPC__OSSL_SYM(f)                                            \
	if (!missing && !(*(void **)&ttrpc__ossl.f = dlsym(lib, #f))) \
		missing = #f;
	TTRPC__OSSL_FUNCS(TTRPC__OSSL_SYM)
#undef TTRPC__OSSL_SYM
}

int ttrpc__ossl_load(void)
{
	pthread_once(&once, load);
	if (!missing)
		return 0;
	ttrpc__tls_set_error("tls: cannot load " LIBSSL ": %s", missing);
	return TTRPC_ETLS;
}
