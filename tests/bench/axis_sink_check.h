#ifndef GW_SINK_CHECK_H
#define GW_SINK_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http_server.h"

/*
 * The checks the benchmark's national axis sink (tests/bench/axis_sink.c) makes of a call, the
 * same ones, in the same order and with the same ErrorCodes, as tests/sim/axis_sim.py's verifier
 * (domain.md §5): the signed headers and their HMAC-SHA256, the call's signed keys, timestamp and
 * sender, its Content-Type and body (hash-file for sendEdoc), and for sendEdoc the edXML's
 * recipients. Pure functions over a parsed request: no loop, no I/O.
 */

#define GW_SINK_PREFIX     "XroadVnpt-"
#define GW_SINK_MAX_PAIRS  24   /* signed pairs in one sign-header */
#define GW_SINK_MAX_VALUE  1024 /* one signed value, bytes */
#define GW_SINK_MAX_SECRET 4096
#define GW_SINK_MAX_ID     256 /* a systemid */
#define GW_SINK_MAX_DESC   320

enum gw_sink_op {
    GW_SINK_SEND,
    GW_SINK_RECEIVED_LIST,
    GW_SINK_GET_EDOC,
    GW_SINK_UPDATE_STATUS,
    GW_SINK_SENT_LIST,
    GW_SINK_AGENCIES,
    GW_SINK_AGENCIES_QD20,
    GW_SINK_N_OPS
};

/* The operation named by the last segment of path ("sendEdoc", ...); -1 when none. */
int gw_sink_op_find(const char *name, size_t len);
const char *gw_sink_op_name(enum gw_sink_op op);

struct gw_sink_system {
    char id[GW_SINK_MAX_ID + 1];
    uint8_t secret[GW_SINK_MAX_SECRET]; /* the secret's characters as issued (the HMAC key) */
    size_t secret_len;
};

/* The registered systems the sink knows (at most GW_SINK_MAX_SYSTEMS). */
#define GW_SINK_MAX_SYSTEMS 64
struct gw_sink_systems {
    struct gw_sink_system sys[GW_SINK_MAX_SYSTEMS];
    size_t n;
};

/* The signed pairs of a call that passed the signature check, keys without the prefix. */
struct gw_sink_signed {
    char key[GW_SINK_MAX_PAIRS][64];
    char value[GW_SINK_MAX_PAIRS][GW_SINK_MAX_VALUE + 1];
    size_t n;
};

/* A refusal: HTTP 200 {"status":"FAIL","ErrorCode":code,"ErrorDesc":desc}. auth is set when the
 * signature check refused it (the simulator's auth_fail count). */
struct gw_sink_fail {
    char code[8];
    char desc[GW_SINK_MAX_DESC];
    bool auth;
};

/* The signed value of key (exact spelling), or NULL. */
const char *gw_sink_signed_get(const struct gw_sink_signed *s, const char *key);

/*
 * The signature checks of one call (axis_sim.py verify_signature): required headers (400),
 * systemid registered (404), hash-header == lowercase hex HMAC-SHA256 keyed with the secret over
 * the sign-header bytes as received, compared in constant time (401), sign-header a flat JSON
 * object of strings named XroadVnpt-<k>, sign-header-key listing the <k> in order, each header
 * and the plain Content-Type equal to its signed value, the call's keys signed (402), timestamp
 * ddMMyyyy'T'HHmmss+SSSS (405), from == systemid (403). Then the call's Content-Type and body
 * (400) and for sendEdoc hash-file (23). Returns 0 with *out filled and *sys the caller, or -1
 * with *fail filled.
 */
int gw_sink_check_call(const struct gw_sink_systems *systems, const struct gw_http_req *req,
                       enum gw_sink_op op, struct gw_sink_signed *out,
                       const struct gw_sink_system **sys, struct gw_sink_fail *fail);

/* SHA-256 of data printed byte by byte in lowercase hex without zero padding (the SDK's
 * hash-file); out has room for 65 bytes. */
void gw_sink_hash_file_hex(const uint8_t *data, size_t len, char out[65]);

/*
 * The recipients of an edXML package (axis_sim.py inspect_package): the root {QCVN 102}edXML
 * (or edXMLEnvelope), edXMLEnvelope/edXMLHeader/MessageHeader, and the distinct non-empty
 * To/OrganId (messagetype edoc) or ResponseFor/OrganId (status). Returns their count (>= 1), or
 * -1 with fail filled (ErrorCode 22).
 */
int gw_sink_inspect_package(const uint8_t *xml, size_t len, bool status, struct gw_sink_fail *fail);

#endif
