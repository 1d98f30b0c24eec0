/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the session fuzzers: feeding bytes in input-chosen chunks, and
 * checking that what the engine queued to send is well-formed frames. */
#ifndef FUZZ_SESSION_COMMON_H
#define FUZZ_SESSION_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "session.h"

/* Feed data to s in chunks whose sizes follow chunk_seed: seeds that are a
 * multiple of 4 allow chunks up to the whole input, others at most 64 bytes. */
void fuzz_feed(struct ttrpc__session *s, const uint8_t *data, size_t size, uint8_t chunk_seed);

/* Abort unless s->out holds whole frames of type want_type, each a valid
 * envelope (Request or Response) no bigger than s->max_message. */
void fuzz_check_out(const struct ttrpc__session *s, uint8_t want_type);

#endif
