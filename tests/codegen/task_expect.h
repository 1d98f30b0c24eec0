/* SPDX-License-Identifier: Apache-2.0 */
/* Expected Task/Events messages with every field set, built and checked by
 * walking protobuf-c descriptors, so no field can be forgotten. The Go peer
 * (go/taskpeer/expect.go) spells out the same values:
 *   string            "<Message>.<field>"
 *   bool              true
 *   uint32            the table in task_expect.c
 *   enum              the largest value (Status PAUSING)
 *   Any               type_url "<Message>.<field>", value "<Message>.<field>.value"
 *   Timestamp         seconds 1700000000 + field number, nanos field number * 1000 + 7
 *   repeated Mount    mt<i>/ms<i>/mtg<i>, options o<i>a o<i>b, i = 0, 1
 *   repeated ProcessInfo  pid 100 + i, info Any "pi<i>"
 *   map<string,string>    {"a": "1", "b": "2"}
 *   other messages    filled recursively */
#ifndef TTRPC_TEST_TASK_EXPECT_H
#define TTRPC_TEST_TASK_EXPECT_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

/* A new message of type desc with every field set; freed by expect_free_all(). */
ProtobufCMessage *expect_fill(const ProtobufCMessageDescriptor *desc);

/* Compare msg against the expected values; returns NULL when equal, else a
 * description of every difference (static storage, overwritten next call). */
const char *expect_check(const ProtobufCMessage *msg);

/* Free everything expect_fill() allocated. */
void expect_free_all(void);

#endif
