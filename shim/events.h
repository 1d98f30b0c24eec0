/* SPDX-License-Identifier: Apache-2.0 */
/* Task events to containerd: Events/Forward on TTRPC_ADDRESS with the
 * namespace in the metadata, sent one at a time in publish order through a
 * bounded queue. Transport failures (containerd restarting) are retried with
 * a capped backoff for as long as the queue holds; an error status from
 * containerd counts as a try, and an event is dropped after
 * SHIM_EVENTS_TRIES of those. When the queue is full the oldest goes. */
#ifndef SHIM_EVENTS_H
#define SHIM_EVENTS_H

#include <stddef.h>

#include <ev.h>
#include <protobuf-c/protobuf-c.h>

#include "shim/log.h"

#define SHIM_EVENTS_QUEUE_MAX 2048
#define SHIM_EVENTS_TRIES 5

struct shim_events;

/* ttrpc_address: a socket path (or unix://path); NULL or "" keeps events in
 * the log only. */
struct shim_events *shim_events_new(struct ev_loop *loop, const char *ttrpc_address, const char *ns,
				    struct shim_log *log);

/* Queue topic ("/tasks/exit") with event, whose full protobuf name
 * (containerd.events.TaskExit) becomes the Any type_url. Stamped now. */
void shim_events_publish(struct shim_events *ev, const char *topic, const ProtobufCMessage *event);

/* Run the loop until the queue is empty or timeout_s passed (at exit). */
void shim_events_flush(struct shim_events *ev, double timeout_s);

/* Events waiting. */
size_t shim_events_pending(const struct shim_events *ev);

void shim_events_free(struct shim_events *ev);

#endif
