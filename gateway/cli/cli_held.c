/*
 * gatewayctl held (cli_held.h): the gateway's own store call (gw_check_decide through
 * store/store_check) on a database pool of one connection, driven by a loop of its own until the
 * answer comes back.
 */
#include "cli/cli_held.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "config/config.h"
#include "db/db.h"
#include "store/store_check.h"
#include "util/error.h"

struct gw_held_call {
    bool done;
    int err;
    bool ok;
};

static int usage(void)
{
    fprintf(stderr, "usage: gatewayctl held release|reject ID [-c CONFIG] [--by NAME] "
                    "[--reason TEXT]\n");
    return 2;
}

static void decided(int err, bool ok, void *ud)
{
    struct gw_held_call *c = ud;
    c->done = true;
    c->err = err;
    c->ok = ok;
}

static int decide(const char *config, int64_t id, bool release, const char *by, const char *reason)
{
    struct gw_config *cfg = NULL;
    char err[512];
    struct gw_config_opts opts = {0};
    if (gw_config_load_opts(config, &opts, &cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "gatewayctl: %s\n", err);
        return 2;
    }
    uv_loop_t loop;
    struct gw_db *db = NULL;
    struct gw_held_call call = {0};
    struct gw_db_config dbc = cfg->db;
    dbc.pool_size = 1;
    int rc = uv_loop_init(&loop) != 0 ? GW_ENOMEM : gw_db_open(&loop, &dbc, &db);
    if (rc == 0)
        rc = gw_store_check_decide(db, id, by, release, reason, decided, &call);
    while (rc == 0 && !call.done)
        uv_run(&loop, UV_RUN_ONCE);
    if (db)
        gw_db_close(db, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    gw_config_free(cfg);
    if (rc == 0)
        rc = call.err;
    if (rc != 0) {
        fprintf(stderr, "gatewayctl: the decision could not be recorded: %s\n", gw_strerror(rc));
        return 2;
    }
    if (!call.ok) {
        printf("package %lld is not held: nothing changed\n", (long long)id);
        return 1;
    }
    printf("package %lld %s by %s\n", (long long)id, release ? "released" : "rejected", by);
    return 0;
}

int gw_cli_held(int argc, char **argv)
{
    const char *config = "/etc/gatewayd/gatewayd.ini", *by = "operator", *reason = NULL;
    if (argc < 3 || (strcmp(argv[1], "release") != 0 && strcmp(argv[1], "reject") != 0))
        return usage();
    char *end;
    long long id = strtoll(argv[2], &end, 10);
    if (*end || id <= 0)
        return usage();
    for (int i = 3; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            config = argv[++i];
        else if (strcmp(argv[i], "--by") == 0 && i + 1 < argc)
            by = argv[++i];
        else if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc)
            reason = argv[++i];
        else
            return usage();
    }
    return decide(config, (int64_t)id, strcmp(argv[1], "release") == 0, by, reason);
}
