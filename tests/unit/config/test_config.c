/*
 * Unit tests for the INI configuration loader: a full file, defaults, every error kind with its
 * line number, environment overrides of secrets, and that secret values never reach messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "util/error.h"

#include "config_test.h"

#define TOKEN_B "60303AE22B998861BCE3B28F33EEC1BE758A213C86C93C076DBE9F558C11C752"
#define SECRET  "c2VjcmV0LWtleQ=="

static const char full[] = "; full example\n"
                           "[gateway]\n"
                           "instance_id = gw-1\n"
                           "organ_ids = 000.00.00.H49, 000.01.49.H49 ,H49.DN.001\n"
                           "log_level = debug\n"
                           "\n"
                           "[server]\n"
                           "listen = [::1]:9090\n"
                           "max_connections = 10\n"
                           "max_connections_per_address = 3\n"
                           "max_header_bytes = 8192\n"
                           "max_headers = 50\n"
                           "max_body_bytes = 1048576\n"
                           "header_timeout_ms = 1000\n"
                           "body_timeout_ms = 2000\n"
                           "idle_timeout_ms = 3000\n"
                           "drain_timeout_ms = 0\n"
                           "[database]\n"
                           "conninfo = host=/run/postgresql dbname=gateway\n"
                           "pool_size = 8\n"
                           "max_queue = 100\n"
                           "queue_timeout_ms = 500\n"
                           "query_timeout_ms = 0\n"
                           "reconnect_min_ms = 100\n"
                           "reconnect_max_ms = 100\n"
                           "migrate_on_start = off\n"
                           "migrations_dir = /usr/share/gatewayd/sql\n"
                           "[client.qlvbdh]\n"
                           "token_sha256 = " TOKEN_A "\n"
                           "organ_id = 000.00.00.H49\n"
                           "[client.ops]\n"
                           "token_sha256 = " TOKEN_B "\n"
                           "[axis.national]\n"
                           "adapter = vxp\n"
                           "base_url = https://vxp.example.gov.vn/api\n"
                           "ca_file = " TLS_FIXTURES "/ca.pem\n"
                           "systemid = H49\n"
                           "secret = " SECRET "\n"
                           "poll_interval_ms = 5000\n"
                           "timeout_ms = 10000\n"
                           "max_package_bytes = 2048\n"
                           "[axis.province]\n"
                           "adapter = lgsp_rest\n"
                           "base_url = https://127.0.0.1:9000\n"
                           "ca_file = " TLS_FIXTURES "/ca.pem\n"
                           "systemid = sys\n"
                           "secret = YQ==\n"
                           "enabled = no\n"
                           "[delivery]\n"
                           "max_inflight = 4\n"
                           "batch = 2\n"
                           "lease_ms = 15000\n"
                           "scan_interval_ms = 100\n"
                           "backoff_base_ms = 10\n"
                           "backoff_max_ms = 20\n"
                           "give_up_after_s = 3600\n"
                           "[routing]\n"
                           "default_axis = national\n";

static void test_full(void **state)
{
    struct gw_config *c;
    char err[256];

    assert_int_equal(gw_config_parse_string(full, &c, err, sizeof(err)), 0);
    assert_string_equal(c->instance_id, "gw-1");
    assert_int_equal(c->n_organ_ids, 3);
    assert_string_equal(c->organ_ids[1], "000.01.49.H49");
    assert_string_equal(c->organ_ids[2], "H49.DN.001");
    assert_int_equal(c->log_level, GW_LOG_DEBUG);
    assert_string_equal(c->listen_host, "::1");
    assert_int_equal(c->listen_port, 9090);
    assert_int_equal(c->server.max_connections, 10);
    assert_int_equal(c->server.max_connections_per_address, 3);
    assert_int_equal(c->server.max_header_bytes, 8192);
    assert_int_equal(c->server.max_headers, 50);
    assert_int_equal(c->server.max_body_bytes, 1048576);
    assert_int_equal(c->server.header_timeout_ms, 1000);
    assert_int_equal(c->server.body_timeout_ms, 2000);
    assert_int_equal(c->server.idle_timeout_ms, 3000);
    assert_int_equal(c->drain_timeout_ms, 0);
    assert_string_equal(c->db.conninfo, "host=/run/postgresql dbname=gateway");
    assert_int_equal(c->db.pool_size, 8);
    assert_int_equal(c->db.max_queue, 100);
    assert_int_equal(c->db.queue_timeout_ms, 500);
    assert_int_equal(c->db.query_timeout_ms, 0);
    assert_int_equal(c->db.reconnect_min_ms, 100);
    assert_int_equal(c->db.reconnect_max_ms, 100);
    assert_false(c->migrate_on_start);
    assert_string_equal(c->migrations_dir, "/usr/share/gatewayd/sql");
    assert_int_equal(c->n_clients, 2);
    assert_string_equal(c->clients[0].name, "qlvbdh");
    assert_int_equal(c->clients[0].token_sha256[0], 0x9f);
    assert_int_equal(c->clients[0].token_sha256[31], 0x08);
    assert_string_equal(c->clients[0].organ_id, "000.00.00.H49");
    assert_string_equal(c->clients[1].name, "ops");
    assert_int_equal(c->clients[1].token_sha256[0], 0x60);
    assert_null(c->clients[1].organ_id);
    assert_int_equal(c->n_axes, 2);
    assert_string_equal(c->axes[0].name, "national");
    assert_string_equal(c->axes[0].adapter, "vxp");
    assert_true(c->axes[0].enabled);
    assert_int_equal(c->axes[0].poll_interval_ms, 5000);
    assert_ptr_equal(c->axes[0].axis.name, c->axes[0].name);
    assert_string_equal(c->axes[0].axis.base_url, "https://vxp.example.gov.vn/api");
    assert_string_equal(c->axes[0].axis.systemid, "H49");
    assert_string_equal(c->axes[0].axis.secret, SECRET);
    assert_int_equal(c->axes[0].axis.timeout_ms, 10000);
    assert_int_equal(c->axes[0].axis.max_package_bytes, 2048);
    assert_false(c->axes[1].enabled);
    assert_int_equal(c->axes[1].poll_interval_ms, 2000);
    assert_int_equal(c->delivery.max_inflight, 4);
    assert_int_equal(c->delivery.batch, 2);
    assert_int_equal(c->delivery.lease_ms, 15000);
    assert_int_equal(c->delivery.scan_interval_ms, 100);
    assert_int_equal(c->delivery.backoff_base_ms, 10);
    assert_int_equal(c->delivery.backoff_max_ms, 20);
    assert_int_equal(c->delivery.give_up_after_s, 3600);
    assert_string_equal(c->default_axis, "national");
    assert_ptr_equal(c->default_ax, &c->axes[0]);
    assert_ptr_equal(gw_config_axis_find(c, "province"), &c->axes[1]);
    assert_null(gw_config_axis_find(c, "nope"));
    /* the staged-body janitor's age: an hour at least, twice the longest a body may take */
    assert_int_equal(gw_config_staged_body_age_ms(c), GW_CONFIG_STAGED_BODY_AGE_MIN_MS);
    c->server.body_timeout_ms = 3 * 3600 * 1000;
    assert_int_equal(gw_config_staged_body_age_ms(c), 6ull * 3600 * 1000);
    c->axes[1].axis.timeout_ms = 4 * 3600 * 1000;
    assert_int_equal(gw_config_staged_body_age_ms(c), 8ull * 3600 * 1000);
    gw_config_free(c);
}

static void test_defaults(void **state)
{
    struct gw_config *c;
    char err[256], host[300];

    assert_int_equal(gw_config_parse_string(MINIMAL, &c, err, sizeof(err)), 0);
    gethostname(host, sizeof(host));
    assert_non_null(strstr(c->instance_id, host));
    assert_non_null(strchr(c->instance_id, ':'));
    assert_int_equal(c->log_level, GW_LOG_INFO);
    assert_string_equal(c->listen_host, "127.0.0.1");
    assert_int_equal(c->listen_port, 8080);
    assert_int_equal(c->server.max_connections, 1024);
    assert_int_equal(c->server.max_connections_per_address, 256);
    assert_int_equal(c->server.max_header_bytes, 16384);
    assert_int_equal(c->server.max_headers, 100);
    assert_int_equal(c->server.max_body_bytes, 67108864);
    assert_int_equal(c->server.header_timeout_ms, 10000);
    assert_int_equal(c->server.body_timeout_ms, 120000);
    assert_int_equal(c->server.idle_timeout_ms, 60000);
    assert_int_equal(c->drain_timeout_ms, 30000);
    assert_int_equal(c->db.pool_size, 4);
    assert_int_equal(c->db.max_queue, 10000);
    assert_int_equal(c->db.queue_timeout_ms, 10000);
    assert_int_equal(c->db.query_timeout_ms, 60000);
    assert_int_equal(c->db.reconnect_min_ms, 200);
    assert_int_equal(c->db.reconnect_max_ms, 10000);
    assert_true(c->migrate_on_start);
    assert_string_equal(c->migrations_dir, "schemas/sql");
    assert_int_equal(c->n_axes, 0);
    assert_null(c->default_axis);
    assert_null(c->default_ax);
    assert_int_equal(c->delivery.max_inflight, 32);
    assert_int_equal(c->delivery.batch, 16);
    assert_int_equal(c->delivery.lease_ms, 60000);
    assert_int_equal(c->delivery.scan_interval_ms, 500);
    assert_int_equal(c->delivery.backoff_base_ms, 1000);
    assert_int_equal(c->delivery.backoff_max_ms, 300000);
    assert_int_equal(c->delivery.give_up_after_s, 86400);
    assert_int_equal(c->delivery.backpressure_age_s, 30);
    gw_config_free(c);
}

/* Lines 1..6 are MINIMAL; the extra text starts on line 7. */
static const struct {
    const char *extra;
    const char *want; /* exact prefix of the message */
} errors[] = {
    {"this is not a key\n", "<string>:7: syntax error"},
    {"[gateway\n", "<string>:7: syntax error"},
    {"[servre]\nlisten = 1.2.3.4:1\n", "<string>:7: unknown section [servre]"},
    {"[server]\n\nlistne = 1.2.3.4:1\n", "<string>:9: unknown key 'listne' in [server]"},
    {"[server]\nmax_connections = 12a\n", "<string>:8: [server] max_connections = '12a': expected"},
    {"[server]\nmax_connections = -1\n", "<string>:8: [server] max_connections = '-1': expected"},
    {"[server]\nmax_connections = 0\n", "<string>:8: [server] max_connections = '0': out of range"},
    {"[server]\nmax_connections_per_address = 0\n",
     "<string>:8: [server] max_connections_per_address = '0': out of range"},
    {"[server]\nmax_connections_per_address = 1000001\n",
     "<string>:8: [server] max_connections_per_address = '1000001': out of range"},
    {"[server]\nmax_body_bytes = 99999999999999999999999\n", "<string>:8: [server] max_body_bytes"},
    {"[database]\n", "<string>:7: duplicate section [database] (first at line 3)"},
    {"[server]\nlisten = ::1:80\n", "<string>:8: [server] listen = '::1:80': IPv6 addresses"},
    {"[server]\nlisten = 127.0.0.1:65536\n", "<string>:8: [server] listen"},
    {"[server]\nlisten = [zz]:80\n", "<string>:8: [server] listen = '[zz]:80': invalid IPv6"},
    {"[server]\nlisten = localhost\n", "<string>:8: [server] listen"},
    {"[server]\nmax_headers = 5\nmax_headers = 6\n", "<string>:9: key 'max_headers' set twice"},
    {"[database]x\n", "<string>:7: "},
    {"[delivery]\nbackoff_base_ms = 100\nbackoff_max_ms = 50\n",
     "<string>:9: [delivery] backoff_max_ms (50) is below backoff_base_ms (100)"},
    {"[client.qlvbdh]\ntoken_sha256 = " TOKEN_B "\n",
     "<string>:7: duplicate section [client.qlvbdh]"},
    {"[client.QLVBDH]\ntoken_sha256 = " TOKEN_B "\n",
     "<string>:7: duplicate client name: [client.QLVBDH] clashes with [client.qlvbdh] at line 5"},
    {"[client.two]\ntoken_sha256 = " TOKEN_A "\n",
     "<string>:8: [client.two] token_sha256 is the same as [client.qlvbdh]'s"},
    {"[client.two]\ntoken_sha256 = abcd\n",
     "<string>:8: [client.two] token_sha256: expected 64 hex characters"},
    {"[client.two]\ntoken_sha256 = " TOKEN_B "\norgan_id = bad id\n",
     "<string>:9: [client.two] organ_id = 'bad id': expected an organisation id"},
    {"[client.two]\norgan_id = A.B\n",
     "<string>:7: [client.two] token_sha256 or cert_sha256 is required"},
    {"[client]\n", "<string>:7: section [client]: name after 'client.'"},
    {"[client.a.b]\n", "<string>:7: section [client.a.b]: name after 'client.'"},
    {"[client.abcdefghijklmnopqrstuvwxyz0123456789]\n", "<string>:7: section name [client.abcd"},
    {"[axis.national]\nadapter = vxp\nbase_url = http://x\nsystemid = s\nsecret = YQ==\n",
     "<string>: [routing] default_axis is required"},
    {"[axis.national]\nadapter = vxp\nbase_url = http://x\nsystemid = s\nsecret = YQ==\n"
     "[routing]\ndefault_axis = nationl\n",
     "<string>:13: [routing] default_axis 'nationl' names no [axis.nationl] section"},
    {"[routing]\ndefault_axis = national\n", "<string>:8: [routing] default_axis 'national'"},
    {"[axis.national]\nadapter = vxp\nbase_url = ftp://x\n",
     "<string>:9: [axis.national] base_url"},
    {"[axis.national]\nadapter = vxp\nbase_url = http://x\nsystemid = s\n",
     "<string>:7: [axis.national] secret is required"},
    {"[axis.national]\nenabled = maybe\n",
     "<string>:8: [axis.national] enabled = 'maybe': expected a "
     "boolean"},
    {"[gateway]\n", "<string>:7: duplicate section [gateway]"},
    {"[axis.national]\nadapter = vxp\nbase_url = http://x\nsystemid = s\nsecret = YQ==\n"
     "timeout_ms = 60000\n[routing]\ndefault_axis = national\n",
     "<string>: [delivery] lease_ms (60000) must exceed [axis.national] timeout_ms (60000)"},
    {"[server]\nmax_body_bytes = 1073741824\n", "<string>:8: [server] max_body_bytes"},
    {"[server]\nmax_header_bytes = 100000\n",
     "<string>:8: [server] max_header_bytes = '100000': out of range (1024..81920)"},
    {"[server]\nlisten = 1.2.3.4:80 ; inline comment\nmax_headers = 1\n[delivery]\nbatch = 0\n",
     "<string>:11: [delivery] batch = '0': out of range (1..10000)"},
    {"[axis.national]\nadapter = vxp\nbase_url = http://x\nsystemid = s\nsecret = YQ==\n"
     "role = regional\n[routing]\ndefault_axis = national\n",
     "<string>:12: [axis.national] role must be national or provincial"},
    {"[routing]\ndirectory_interval_ms = 999\n",
     "<string>:8: [routing] directory_interval_ms = '999': out of range (1000..604800000)"},
    {"[routing]\ndirectory_interval_ms = 10000\ndirectory_retry_ms = 20000\n",
     "<string>:9: [routing] directory_retry_ms (20000) is above directory_interval_ms (10000)"},
    {"[server]\ntls_cert = /nonexistent/c.pem\n",
     "<string>:8: [server] tls_cert and tls_key go together"},
    {"[server]\ntls_key = /nonexistent/k.pem\n",
     "<string>:8: [server] tls_cert and tls_key go together"},
    {"[server]\ntls_client_ca = /nonexistent/ca.pem\n",
     "<string>:8: [server] tls_client_ca needs tls_cert and tls_key"},
    {"[server]\ntls_client_auth = none\n",
     "<string>:8: [server] tls_client_auth needs tls_cert and tls_key"},
    {"[server]\ntls_client_auth = sometimes\n",
     "<string>:8: [server] tls_client_auth = 'sometimes': expected none, optional or required"},
    {"[server]\ntls_cert = /nonexistent/c.pem\ntls_key = /nonexistent/k.pem\n",
     "<string>:8: [server] tls_cert /nonexistent/c.pem: No such file or directory"},
    {"[server]\ntls_cert = /nonexistent/c.pem\ntls_key = /nonexistent/k.pem\n"
     "tls_client_auth = required\n",
     "<string>:10: [server] tls_client_auth = required needs tls_client_ca"},
    {"[client.two]\ncert_sha256 = " TOKEN_B "\n[client.three]\ncert_sha256 = " TOKEN_B "\n",
     "<string>:10: [client.three] cert_sha256 is the same as [client.two]'s"},
    {"[client.two]\ncert_sha256 = 12\n",
     "<string>:8: [client.two] cert_sha256 = '12': expected 64 hex characters"},
};

/* [server] tls_* and clients known by a certificate pin, a token or both. */
static void test_listener_tls(void **state)
{
    static const char text[] =
        MINIMAL "[server]\ntls_cert = " GW_SOURCE_DIR "/README.md\ntls_key = " GW_SOURCE_DIR
                "/README.md\ntls_client_ca = " GW_SOURCE_DIR "/README.md\n"
                "[client.bycert]\ncert_sha256 = " TOKEN_B "\n"
                "[client.both]\ntoken_sha256 = " TOKEN_B "\ncert_sha256 = " TOKEN_A "\n";
    static const char no_ca[] = MINIMAL "[server]\ntls_cert = " GW_SOURCE_DIR
                                        "/README.md\ntls_key = " GW_SOURCE_DIR "/README.md\n";
    struct gw_config *c = NULL;
    char err[256] = "";

    (void)state;
    assert_int_equal(gw_config_parse_string(text, &c, err, sizeof(err)), 0);
    assert_string_equal(c->tls.cert_file, GW_SOURCE_DIR "/README.md");
    assert_string_equal(c->tls.client_ca_file, GW_SOURCE_DIR "/README.md");
    assert_int_equal(c->tls.client_auth, GW_TLS_CLIENT_OPTIONAL); /* the default with a CA */
    assert_true(c->clients[0].has_token && !c->clients[0].has_cert);
    assert_true(!c->clients[1].has_token && c->clients[1].has_cert);
    assert_int_equal(c->clients[1].cert_sha256[0], 0x60);
    assert_true(c->clients[2].has_token && c->clients[2].has_cert);
    assert_int_equal(c->clients[2].cert_sha256[0], 0x9f);
    gw_config_free(c);
    c = NULL;
    assert_int_equal(gw_config_parse_string(no_ca, &c, err, sizeof(err)), 0);
    assert_int_equal(c->tls.client_auth, GW_TLS_CLIENT_NONE);
    assert_null(c->tls.client_ca_file);
    gw_config_free(c);
    c = NULL;
    assert_int_equal(gw_config_parse_string(MINIMAL, &c, err, sizeof(err)), 0);
    assert_null(c->tls.cert_file);
    assert_int_equal(c->tls.client_auth, GW_TLS_CLIENT_NONE);
    gw_config_free(c);
}

/* Roles and the directory settings: defaults, and both roles read back. */
static void test_roles(void **state)
{
    static const char text[] =
        MINIMAL "[axis.prov]\nadapter = vxp\nbase_url = http://p\nsystemid = s\nsecret = YQ==\n"
                "role = provincial\nmax_directory_bytes = 2048\ninsecure = true\n"
                "[axis.national]\nadapter = vxp\nbase_url = http://n\nsystemid = s\nsecret = YQ==\n"
                "insecure = true\n"
                "[routing]\ndefault_axis = national\ndirectory_interval_ms = 60000\n";
    struct gw_config *c = NULL;
    char err[256] = "";

    (void)state;
    assert_int_equal(gw_config_parse_string(text, &c, err, sizeof(err)), 0);
    assert_true(c->axes[0].provincial);
    assert_string_equal(c->axes[0].role, "provincial");
    assert_int_equal(c->axes[0].axis.max_directory_bytes, 2048);
    assert_false(c->axes[1].provincial);
    assert_null(c->axes[1].role);
    assert_int_equal(c->axes[1].axis.max_directory_bytes, 33554432);
    assert_int_equal(c->directory_interval_ms, 60000);
    assert_int_equal(c->directory_retry_ms, 30000);
    gw_config_free(c);
}

/* [verify] and [policy]: defaults, the OID list, actions, and each refusal with its line. */
static void test_paper(void **state)
{
    static const char text[] = MINIMAL "[paper]\nrules_dir = /etc/gatewayd/rules\n"
                                       "due_days_clause1 = 0\ndue_days_no_means = 5\n"
                                       "holidays = 2027-02-12, 2027-01-01 ,2027-02-05\n";
    static const struct {
        const char *extra, *want;
    } bad[] = {
        {"[paper]\nholidays = 2027-02-30\n", "<string>:8: [paper] holidays = '2027-02-30'"},
        {"[paper]\nholidays = 2027-01-01, 2027-01-01\n", "date listed twice"},
        {"[paper]\ndue_days_clause2 = 91\n", "<string>:8: [paper] due_days_clause2"},
        {"[paper]\nmetrics_interval_ms = 10\n", "<string>:8: [paper] metrics_interval_ms"},
        {"[paper]\ndue_days = 3\n", "<string>:8: unknown key"},
    };
    struct gw_config *c = NULL;
    char buf[1024], err[256] = "";

    (void)state;
    assert_int_equal(gw_config_parse_string(MINIMAL, &c, err, sizeof(err)), 0);
    assert_null(c->paper.rules_dir);
    assert_int_equal(c->paper.due_days[1], 1);
    assert_int_equal(c->paper.due_days[2], 3);
    assert_int_equal(c->paper.n_holidays, 0);
    assert_int_equal(c->paper.metrics_interval_ms, 30000);
    gw_config_free(c);
    assert_int_equal(gw_config_parse_string(text, &c, err, sizeof(err)), 0);
    assert_string_equal(c->paper.rules_dir, "/etc/gatewayd/rules");
    assert_int_equal(c->paper.due_days[1], 0);
    assert_int_equal(c->paper.due_days[GW_PAPER_DUE_NO_MEANS], 5);
    assert_int_equal(c->paper.n_holidays, 3);
    /* sorted days since 1970-01-01 (python3: (date(2027,1,1) - date(1970,1,1)).days) */
    assert_int_equal(c->paper.holiday_days[0], 20819);
    assert_int_equal(c->paper.holiday_days[1], 20854);
    assert_int_equal(c->paper.holiday_days[2], 20861);
    gw_config_free(c);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(buf, sizeof(buf), "%s%s", MINIMAL, bad[i].extra);
        c = NULL;
        assert_int_equal(gw_config_parse_string(buf, &c, err, sizeof(err)), GW_ECONFIG);
        if (!strstr(err, bad[i].want))
            fail_msg("case %zu: %s (wanted %s)", i, err, bad[i].want);
        assert_null(c);
    }
}

static void test_verify_policy(void **state)
{
    static const char text[] = MINIMAL "[verify]\npolicy_oids = 2.16.704.1.1 , 1.2.3\n"
                                       "sha1_cutoff = 2020-01-01\n"
                                       "[policy]\nin_total_failed = reject\n";
    static const struct {
        const char *extra, *want;
    } bad[] = {
        {"[verify]\npolicy_oids = 1.2,x.3\n",
         "<string>:8: [verify] policy_oids = '1.2,x.3': expected a dotted OID"},
        {"[verify]\npolicy_oids = 1.2, 1.2\n",
         "<string>:8: [verify] policy_oids = '1.2, 1.2': policy OID listed twice"},
        {"[verify]\npolicy_oids = 1.\n",
         "<string>:8: [verify] policy_oids = '1.': expected a dotted OID"},
        {"[policy]\nout_total_passed = send\n", "<string>:8: [policy] out_total_passed = send"},
        {"[verify]\nsha1_cutoff = 2023-02-29\n", "<string>:8: [verify] sha1_cutoff = 2023-02-29"},
        {"[verify]\nrecheck_min_ms = 5000\nrecheck_max_ms = 1000\n",
         "<string>:9: [verify] recheck_max_ms is below"},
    };
    struct gw_config *c = NULL;
    char buf[1024], err[256] = "";

    (void)state;
    assert_int_equal(gw_config_parse_string(MINIMAL, &c, err, sizeof(err)), 0);
    assert_int_equal(c->verify.n_policy_oids, 0);
    assert_int_equal(c->verify.action[0][GW_POLICY_TOTAL_FAILED], GW_POLICY_HOLD);
    assert_int_equal(c->verify.action[1][GW_POLICY_NO_SIGNATURE], GW_POLICY_DELIVER_FLAGGED);
    assert_int_equal(c->verify.sha1_cutoff_t, 1704042000); /* 2024-01-01 00:00 +07:00 */
    gw_config_free(c);
    assert_int_equal(gw_config_parse_string(text, &c, err, sizeof(err)), 0);
    assert_int_equal(c->verify.n_policy_oids, 2);
    assert_string_equal(c->verify.policy_oids[0], "2.16.704.1.1");
    assert_string_equal(c->verify.policy_oids[1], "1.2.3");
    assert_null(c->verify.policy_oids[2]);
    assert_int_equal(c->verify.sha1_cutoff_t, 1577811600); /* 2020-01-01 00:00 +07:00 */
    assert_int_equal(c->verify.action[1][GW_POLICY_TOTAL_FAILED], GW_POLICY_REJECT);
    assert_int_equal(c->verify.action[0][GW_POLICY_TOTAL_FAILED], GW_POLICY_HOLD);
    gw_config_free(c);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(buf, sizeof(buf), "%s%s", MINIMAL, bad[i].extra);
        c = NULL;
        assert_int_equal(gw_config_parse_string(buf, &c, err, sizeof(err)), GW_ECONFIG);
        if (strncmp(err, bad[i].want, strlen(bad[i].want)) != 0)
            fail_msg("case %zu: got '%s', want prefix '%s'", i, err, bad[i].want);
    }
}

static void test_error_lines(void **state)
{
    char text[2048], err[256];
    struct gw_config *c = (struct gw_config *)&c;

    for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
        snprintf(text, sizeof(text), "%s%s", MINIMAL, errors[i].extra);
        err[0] = '\0';
        assert_int_equal(gw_config_parse_string(text, &c, err, sizeof(err)), GW_ECONFIG);
        assert_null(c);
        if (strncmp(err, errors[i].want, strlen(errors[i].want)) != 0)
            fail_msg("case %zu: got '%s', want prefix '%s'", i, err, errors[i].want);
    }
}

static void test_missing_sections(void **state)
{
    struct gw_config *c;
    char err[256];

    assert_int_equal(gw_config_parse_string("[database]\nconninfo = x\n", &c, err, sizeof(err)),
                     GW_ECONFIG);
    assert_string_equal(err, "<string>: missing [gateway] section (organ_ids is required)");
    assert_int_equal(gw_config_parse_string("[gateway]\norgan_ids = A\n[database]\nconninfo = x\n",
                                            &c, err, sizeof(err)),
                     GW_ECONFIG);
    assert_string_equal(err, "<string>: at least one [client.NAME] section is required");
    assert_int_equal(gw_config_parse_string("[gateway]\nlog_level = info\n", &c, err, sizeof(err)),
                     GW_ECONFIG);
    assert_string_equal(err, "<string>:1: [gateway] organ_ids is required");
    assert_int_equal(gw_config_parse_string("organ_ids = A\n", &c, err, sizeof(err)), GW_ECONFIG);
    assert_string_equal(err, "<string>:1: key 'organ_ids' outside of any [section]");
    assert_int_equal(gw_config_parse_string("[gateway]\norgan_ids = A,,B\n", &c, err, sizeof(err)),
                     GW_ECONFIG);
    assert_non_null(strstr(err, ":2: [gateway] organ_ids = 'A,,B': empty item"));
    assert_int_equal(gw_config_parse_string("[gateway]\norgan_ids = A,B,A\n", &c, err, sizeof(err)),
                     GW_ECONFIG);
    assert_non_null(strstr(err, "listed twice"));
}

static void test_long_line(void **state)
{
    char text[1024], err[256], pad[400];
    struct gw_config *c;

    memset(pad, 'x', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    snprintf(text, sizeof(text), "%s[server]\n; %s\nmax_headers = 7\n", MINIMAL, pad);
    assert_int_equal(gw_config_parse_string(text, &c, err, sizeof(err)), GW_ECONFIG);
    assert_non_null(strstr(err, "<string>:8: line longer than"));
}

static void test_env_override(void **state)
{
    static const char axis[] = "[axis.national]\nadapter = vxp\nbase_url = http://x\n"
                               "systemid = s\nsecret = " SECRET "\ninsecure = true\n[routing]\n"
                               "default_axis = national\n[client.no-token]\n";
    char text[2048], err[256];
    struct gw_config *c;

    snprintf(text, sizeof(text), "%s%s", MINIMAL, axis);
    setenv("GATEWAYD_AXIS_NATIONAL_SECRET", "ZnJvbS1lbnY=", 1);
    setenv("GATEWAYD_CLIENT_NO_TOKEN_TOKEN_SHA256", TOKEN_B, 1);
    setenv("GATEWAYD_DATABASE_CONNINFO", "dbname=fromenv password=x", 1);
    setenv("GATEWAYD_DELIVERY_BATCH", "3", 1); /* [delivery] absent: not consulted */
    assert_int_equal(gw_config_parse_string(text, &c, err, sizeof(err)), 0);
    assert_string_equal(c->axes[0].axis.secret, "ZnJvbS1lbnY=");
    assert_string_equal(c->db.conninfo, "dbname=fromenv password=x");
    assert_int_equal(c->clients[1].token_sha256[0], 0x60);
    assert_int_equal(c->delivery.batch, 16);
    gw_config_free(c);

    /* a bad value from the environment names the variable, never the value */
    setenv("GATEWAYD_AXIS_NATIONAL_SECRET", "bad\001TOPSECRET", 1);
    assert_int_equal(gw_config_parse_string(text, &c, err, sizeof(err)), GW_ECONFIG);
    assert_non_null(strstr(err, "<string>:7: [axis.national] secret from environment "
                                "GATEWAYD_AXIS_NATIONAL_SECRET: contains control characters"));
    assert_null(strstr(err, "TOPSECRET"));
    setenv("GATEWAYD_AXIS_NATIONAL_SECRET", " TOPSECRET", 1);
    assert_int_equal(gw_config_parse_string(text, &c, err, sizeof(err)), GW_ECONFIG);
    assert_non_null(strstr(err, "must not begin or end with a blank"));
    assert_null(strstr(err, "TOPSECRET"));
    /* a secret is text as issued: not base64 (domain.md 5's example secret) is fine */
    setenv("GATEWAYD_AXIS_NATIONAL_SECRET", "TEST-ONLY-secret-not-a-real-key", 1);
    assert_int_equal(gw_config_parse_string(text, &c, err, sizeof(err)), 0);
    assert_string_equal(c->axes[0].axis.secret, "TEST-ONLY-secret-not-a-real-key");
    gw_config_free(c);
    assert_null(strstr(err, "TOPSECRET"));
    unsetenv("GATEWAYD_AXIS_NATIONAL_SECRET");
    unsetenv("GATEWAYD_CLIENT_NO_TOKEN_TOKEN_SHA256");
    unsetenv("GATEWAYD_DATABASE_CONNINFO");
    unsetenv("GATEWAYD_DELIVERY_BATCH");

    /* without the environment the client has no token */
    assert_int_equal(gw_config_parse_string(text, &c, err, sizeof(err)), GW_ECONFIG);
    assert_string_equal(err,
                        "<string>:15: [client.no-token] token_sha256 or cert_sha256 is required");
}

static void test_secret_not_echoed(void **state)
{
    char text[1024], err[256];
    struct gw_config *c;

    snprintf(text, sizeof(text),
             "%s[axis.a]\nadapter = vxp\nbase_url = http://x\nsystemid = s\n"
             "secret = TOPSECRET\001!\n",
             MINIMAL);
    assert_int_equal(gw_config_parse_string(text, &c, err, sizeof(err)), GW_ECONFIG);
    assert_non_null(strstr(err, ":11: [axis.a] secret: contains control characters"));
    assert_null(strstr(err, "TOPSECRET"));
    snprintf(text, sizeof(text), "%s[client.x]\ntoken_sha256 = TOPSECRET\n", MINIMAL);
    assert_int_equal(gw_config_parse_string(text, &c, err, sizeof(err)), GW_ECONFIG);
    assert_null(strstr(err, "TOPSECRET"));
}

static const char *const known_adapters[] = {"vxp", NULL};
static const struct gw_config_opts opts = {.adapters = known_adapters};

/* 1-based line of the first occurrence of needle in text. */
static int line_in(const char *text, const char *needle)
{
    const char *at = strstr(text, needle);
    int line = 1;

    assert_non_null(at);
    for (const char *p = text; p < at; p++)
        line += *p == '\n';
    return line;
}

/* Adapter names are checked at load when the program passes its list: an enabled axis with an
 * unknown adapter is refused with its line, a disabled one is accepted with a warning. */
static void test_adapter_names(void **state)
{
    char text[4096], err[256], want[256];
    struct gw_config *c;
    char *p;

    assert_int_equal(gw_config_parse_string_opts(full, &opts, &c, err, sizeof(err)), 0);
    assert_true(c->axes[0].adapter_known);
    assert_false(c->axes[1].adapter_known);
    assert_int_equal(c->n_warnings, 1);
    snprintf(want, sizeof(want), "<string>:%d: [axis.province] adapter 'lgsp_rest' is not built",
             line_in(full, "adapter = lgsp_rest"));
    assert_int_equal(strncmp(c->warnings[0], want, strlen(want)), 0);
    gw_config_free(c);

    /* Without a list nothing is checked (tools, tests). */
    assert_int_equal(gw_config_parse_string(full, &c, err, sizeof(err)), 0);
    assert_true(c->axes[1].adapter_known);
    assert_int_equal(c->n_warnings, 0);
    gw_config_free(c);

    /* The same axis enabled is an error at the adapter line. */
    snprintf(text, sizeof(text), "%s", full);
    p = strstr(text, "enabled = no");
    assert_non_null(p);
    memcpy(p, "enabled = 1 ", 12);
    setenv("GATEWAYD_AXIS_PROVINCE_TIMEOUT_MS", "10000", 1); /* within lease_ms */
    assert_int_equal(gw_config_parse_string_opts(text, &opts, &c, err, sizeof(err)), GW_ECONFIG);
    assert_null(c);
    snprintf(want, sizeof(want),
             "<string>:%d: [axis.province] adapter 'lgsp_rest' is not built into this gatewayd "
             "(known: vxp)",
             line_in(full, "adapter = lgsp_rest"));
    assert_string_equal(err, want);

    /* An enabled axis that names a known adapter through the environment passes. */
    setenv("GATEWAYD_AXIS_PROVINCE_ADAPTER", "vxp", 1);
    assert_int_equal(gw_config_parse_string_opts(text, &opts, &c, err, sizeof(err)), 0);
    assert_true(c->axes[1].adapter_known && c->axes[1].enabled);
    gw_config_free(c);
    unsetenv("GATEWAYD_AXIS_PROVINCE_ADAPTER");
    unsetenv("GATEWAYD_AXIS_PROVINCE_TIMEOUT_MS");
}

/* Every value that reaches PostgreSQL as an integer (int4) is bounded at load so the SQL type
 * can never refuse it later (finding 6: backoff_max_ms up to 30 days used to pass). */
static void test_int4_bounds(void **state)
{
    static const struct {
        const char *sect, *key;
        unsigned long long max; /* largest accepted value */
    } keys[] = {
        {"delivery", "backoff_max_ms", 2147483647ull},
        {"delivery", "backoff_base_ms", 86400000ull},
        {"delivery", "lease_ms", 86400000ull},
        {"delivery", "give_up_after_s", 366ull * 86400},
        {"delivery", "batch", 10000},
        {"delivery", "backpressure_age_s", 86400}, /* not SQL, but one day bounds it too */
        {"database", "query_timeout_ms", 86400000ull},
        {"axis.national", "poll_interval_ms", 86400000ull},
    };
    char text[4096], err[256];
    struct gw_config *c;

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char env[96];
        char val[32];

        assert_true(keys[i].max <=
                    2147483647ull / (strcmp(keys[i].key, "poll_interval_ms") ? 1 : 5));
        snprintf(env, sizeof(env), "GATEWAYD_%s_%s",
                 strcmp(keys[i].sect, "axis.national") == 0 ? "AXIS_NATIONAL" : keys[i].sect,
                 keys[i].key);
        for (char *p = env; *p; p++)
            *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        snprintf(val, sizeof(val), "%llu", keys[i].max + 1);
        setenv(env, val, 1);
        assert_int_equal(gw_config_parse_string(full, &c, err, sizeof(err)), GW_ECONFIG);
        if (!strstr(err, "out of range"))
            fail_msg("%s=%s: %s", env, val, err);
        snprintf(val, sizeof(val), "%llu", keys[i].max);
        setenv(env, val, 1);
        if (strcmp(keys[i].key, "backoff_base_ms") == 0)
            setenv("GATEWAYD_DELIVERY_BACKOFF_MAX_MS", val, 1);
        err[0] = '\0';
        if (gw_config_parse_string(full, &c, err, sizeof(err)) != 0)
            fail_msg("%s=%s refused: %s", env, val, err);
        gw_config_free(c);
        unsetenv(env);
        unsetenv("GATEWAYD_DELIVERY_BACKOFF_MAX_MS");
    }
    /* The old ceiling, 30 days, is refused with its line. */
    snprintf(text, sizeof(text), "%s[delivery]\nbackoff_max_ms = 2592000000\n", MINIMAL);
    assert_int_equal(gw_config_parse_string(text, &c, err, sizeof(err)), GW_ECONFIG);
    assert_string_equal(err, "<string>:8: [delivery] backoff_max_ms = '2592000000': out of range "
                             "(1..2147483647)");
}

/* A body budget below one largest body would refuse every such request at run time. */
static void test_body_budget(void **state)
{
    char text[4096], err[256];
    struct gw_config *c;

    snprintf(text, sizeof(text),
             "%s[server]\nmax_body_bytes = 2097152\nmax_inflight_body_bytes = 1048576\n", MINIMAL);
    assert_int_equal(gw_config_parse_string(text, &c, err, sizeof(err)), GW_ECONFIG);
    assert_string_equal(err, "<string>:9: [server] max_inflight_body_bytes (1048576) is below "
                             "max_body_bytes (2097152): a largest request could never be accepted");
    /* Equal is not enough: a body is buffered with one more byte. */
    snprintf(text, sizeof(text),
             "%s[server]\nmax_body_bytes = 2097152\nmax_inflight_body_bytes = 2097152\n", MINIMAL);
    assert_int_equal(gw_config_parse_string(text, &c, err, sizeof(err)), GW_ECONFIG);
    assert_non_null(strstr(err, "is not above (a body is held with one more byte) max_body_bytes"));
    snprintf(text, sizeof(text),
             "%s[delivery]\nbreaker_backoff_ms = 5000\nbreaker_backoff_max_ms = 1000\n", MINIMAL);
    assert_int_equal(gw_config_parse_string(text, &c, err, sizeof(err)), GW_ECONFIG);
    assert_non_null(
        strstr(err, "breaker_backoff_max_ms (1000) is below breaker_backoff_ms (5000)"));
    snprintf(text, sizeof(text),
             "%s[server]\nmax_body_bytes = 2097152\nmax_inflight_body_bytes = 0\n", MINIMAL);
    assert_int_equal(gw_config_parse_string(text, &c, err, sizeof(err)), 0);
    gw_config_free(c);
}

/* [axis.NAME] TLS: plain HTTP only with insecure (warned), https with a pinned CA file, the client
 * certificate with its own key; every file read at load, named in the message, never shown. */
static void tls_case(const char *keys, const char *want)
{
    char text[4096], err[512] = "";
    struct gw_config *c = NULL;
    int rc;

    snprintf(text, sizeof(text),
             "%s[axis.national]\nadapter = vxp\nsystemid = s\nsecret = YQ==\n%s"
             "[routing]\ndefault_axis = national\n",
             MINIMAL, keys);
    rc = gw_config_parse_string(text, &c, err, sizeof(err));
    if (!want) {
        if (rc != 0)
            fail_msg("%s: refused: %s", keys, err);
        gw_config_free(c);
        return;
    }
    if (rc != GW_ECONFIG || !strstr(err, want))
        fail_msg("%s: rc %d, got '%s', want '%s'", keys, rc, err, want);
    assert_null(strstr(err, "BEGIN"));
    assert_null(strstr(err, "PRIVATE"));
}

static void test_axis_tls(void **state)
{
    struct gw_config *c = NULL;
    char text[4096], err[512] = "";

    tls_case("base_url = http://127.0.0.1:9000\n",
             "<string>:11: [axis.national] plain HTTP to axis national needs insecure = true "
             "(tests only)");
    tls_case("base_url = HTTP://127.0.0.1:9000\ninsecure = false\n", "needs insecure = true");
    tls_case("base_url = https://vxp.example\n",
             "<string>:11: [axis.national] an https:// base_url needs ca_file");
    tls_case("base_url = https://vxp.example\nca_file = /nonexistent/ca.pem\n",
             "<string>:12: [axis.national] ca_file: CA file /nonexistent/ca.pem cannot be opened");
    tls_case("base_url = https://vxp.example\nca_file = " TLS_FIXTURES "/client.key\n",
             "ca_file: " TLS_FIXTURES "/client.key holds no PEM certificate");
    tls_case("base_url = https://vxp.example\nca_file = " TLS_FIXTURES "/ca.pem\n"
             "client_cert = " TLS_FIXTURES "/client.pem\n",
             "<string>:13: [axis.national] client_cert and client_key go together");
    tls_case("base_url = https://vxp.example\nca_file = " TLS_FIXTURES "/ca.pem\n"
             "client_key = " TLS_FIXTURES "/client.key\n",
             "client_cert and client_key go together");
    tls_case("base_url = https://vxp.example\nca_file = " TLS_FIXTURES "/ca.pem\n"
             "client_cert = " TLS_FIXTURES "/client.key\nclient_key = " TLS_FIXTURES
             "/client.key\n",
             "client_cert: " TLS_FIXTURES "/client.key holds no PEM certificate");
    tls_case("base_url = https://vxp.example\nca_file = " TLS_FIXTURES "/ca.pem\n"
             "client_cert = /nonexistent/c.pem\nclient_key = " TLS_FIXTURES "/client.key\n",
             "client_cert: client_cert /nonexistent/c.pem cannot be opened");
    tls_case("base_url = https://vxp.example\nca_file = " TLS_FIXTURES "/ca.pem\n"
             "client_cert = " TLS_FIXTURES "/client.pem\nclient_key = " TLS_FIXTURES "/other.key\n",
             "<string>:14: [axis.national] client_key: " TLS_FIXTURES
             "/other.key is not the private key of " TLS_FIXTURES "/client.pem");
    tls_case("base_url = https://vxp.example\nca_file = " TLS_FIXTURES "/ca.pem\n"
             "client_cert = " TLS_FIXTURES "/client.pem\nclient_key = " TLS_FIXTURES
             "/encrypted.key\n",
             "encrypted.key holds no unencrypted PEM private key");
    tls_case("base_url = https://vxp.example\nca_file = " TLS_FIXTURES "/ca.pem\n"
             "client_cert = " TLS_FIXTURES "/client.pem\nclient_key = /nonexistent/k.pem\n",
             "client_key: client_key /nonexistent/k.pem cannot be opened");
    tls_case("base_url = https://vxp.example\nca_file = " TLS_FIXTURES "/ca.pem\n"
             "client_cert = " TLS_FIXTURES "/client.pem\nclient_key = " TLS_FIXTURES
             "/client.key\n",
             NULL);

    /* read back; insecure defaults to false and is warned about when set */
    snprintf(text, sizeof(text),
             "%s[axis.national]\nadapter = vxp\nsystemid = s\nsecret = YQ==\n"
             "base_url = https://vxp.example\nca_file = " TLS_FIXTURES "/ca.pem\n"
             "client_cert = " TLS_FIXTURES "/client.pem\nclient_key = " TLS_FIXTURES
             "/client.key\n[axis.test]\nadapter = vxp\nsystemid = s\nsecret = YQ==\n"
             "base_url = http://127.0.0.1:1\ninsecure = true\n[routing]\ndefault_axis = national\n",
             MINIMAL);
    assert_int_equal(gw_config_parse_string(text, &c, err, sizeof(err)), 0);
    assert_string_equal(c->axes[0].axis.tls.ca_file, TLS_FIXTURES "/ca.pem");
    assert_string_equal(c->axes[0].axis.tls.client_cert, TLS_FIXTURES "/client.pem");
    assert_string_equal(c->axes[0].axis.tls.client_key, TLS_FIXTURES "/client.key");
    assert_false(c->axes[0].axis.tls.insecure);
    assert_true(c->axes[1].axis.tls.insecure);
    assert_null(c->axes[1].axis.tls.ca_file);
    assert_int_equal(c->n_warnings, 1);
    assert_non_null(strstr(c->warnings[0], "<string>:20: [axis.test] insecure = true: plain HTTP "
                                           "to axis test is allowed (tests only)"));
    gw_config_free(c);
    /* the environment sets them too */
    setenv("GATEWAYD_AXIS_NATIONAL_INSECURE", "true", 1);
    tls_case("base_url = http://127.0.0.1:9000\n", NULL);
    unsetenv("GATEWAYD_AXIS_NATIONAL_INSECURE");
    (void)state;
}

/* The shipped example must always load. */
static void test_example_file(void **state)
{
    struct gw_config *c;
    char err[256];

    assert_int_equal(
        gw_config_load(GW_SOURCE_DIR "/deploy/gatewayd.ini.example", &c, err, sizeof(err)), 0);
    assert_int_equal(c->n_axes, 2);
    assert_string_equal(c->default_ax->name, "national");
    gw_config_free(c);
    /* Also with the adapter check gatewayd applies: the disabled lgsp_rest axis is a warning. */
    assert_int_equal(gw_config_load_opts(GW_SOURCE_DIR "/deploy/gatewayd.ini.example", &opts, &c,
                                         err, sizeof(err)),
                     0);
    assert_int_equal(c->n_warnings, 1);
    assert_non_null(strstr(c->warnings[0], "[axis.province] adapter 'lgsp_rest'"));
    gw_config_free(c);
}

static void test_load_file(void **state)
{
    char path[] = "/tmp/gw_config_test_XXXXXX", want[128], err[256];
    struct gw_config *c;
    int fd = mkstemp(path);
    FILE *f;

    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(full, f);
    fputs("[bogus]\nx = 1\n", f);
    fclose(f);
    assert_int_equal(gw_config_load(path, &c, err, sizeof(err)), GW_ECONFIG);
    snprintf(want, sizeof(want), "%s:59: unknown section [bogus]", path);
    assert_string_equal(err, want);

    f = fopen(path, "w");
    assert_non_null(f);
    fputs("\xEF\xBB\xBF", f); /* BOM */
    fputs(full, f);
    fclose(f);
    assert_int_equal(gw_config_load(path, &c, err, sizeof(err)), 0);
    assert_int_equal(c->n_axes, 2);
    gw_config_free(c);
    unlink(path);
    assert_int_equal(gw_config_load(path, &c, err, sizeof(err)), GW_ECONFIG);
    assert_non_null(strstr(err, "cannot open"));
    gw_config_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_error_lines),
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_listener_tls),
        cmocka_unit_test(test_missing_sections),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_env_override),
        cmocka_unit_test(test_secret_not_echoed),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_example_file),
        cmocka_unit_test(test_axis_tls),
        cmocka_unit_test(test_adapter_names),
        cmocka_unit_test(test_int4_bounds),
        cmocka_unit_test(test_body_budget),
        cmocka_unit_test(test_verify_policy),
        cmocka_unit_test(test_paper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
