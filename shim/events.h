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
#define SHIM_EVENTS_BACKOFF_FIRST 0.1 /* seconds before the first retry */
#define SHIM_EVENTS_BACKOFF_MAX 2.0   /* the pause between tries never grows past this */

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

/* Stop (an event on the wire is given up), free what is queued. NULL is a no-op. */
void shim_events_free(struct shim_events *ev);

/* The pause before the next try when the last one was prev_s (0: none yet):
 * first_s, then doubling, never more than max_s. Pure. */
double shim_events_backoff(double prev_s, double first_s, double max_s);

/* Replace the default backoff (SHIM_EVENTS_BACKOFF_FIRST, _MAX); for tests. */
void shim_events_set_backoff(struct shim_events *ev, double first_s, double max_s);

struct shim_events_stats {
	unsigned long long attempts;  /* connects that failed plus Forward calls made */
	unsigned long long delivered; /* answered OK */
	unsigned long long dropped;   /* given up: out of tries, or pushed out of a full queue */
	double backoff_s;	      /* the pause before the latest retry; 0 after a delivery */
};

/* Counters since shim_events_new, for tests and debugging. */
void shim_events_get_stats(const struct shim_events *ev, struct shim_events_stats *out);

#endif
