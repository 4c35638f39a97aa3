/*
 * gatewayd entry point: parses the command line, loads and checks the configuration (adapter
 * names included) before anything else, applies migrations and exits with --migrate, or runs the
 * daemon on the default libuv loop until a graceful drain completes (migrate_on_start migrations
 * then run inside the daemon, waiting for PostgreSQL: daemon/startup.c).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/adapters.h"
#include "daemon/app.h"
#include "api/auth.h"
#include "config/config.h"
#include "util/error.h"
#include "util/log.h"

#define GW_VERSION "0.1.0"

static void gw_usage(FILE *out)
{
    fprintf(out, "usage: gatewayd [-c FILE] [--migrate] [--port-file FILE]\n"
                 "       gatewayd --hash-token TOKEN\n"
                 "  -c, --config FILE    configuration (default /etc/gatewayd/gatewayd.ini)\n"
                 "      --migrate        apply schemas/sql migrations and exit\n"
                 "      --port-file FILE write the bound HTTP port to FILE once listening\n"
                 "      --hash-token T   print the token_sha256 value for a client token\n"
                 "      --version        print the version\n");
}

static int gw_write_port_file(const char *path, int port)
{
    char tmp[4096];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (!f)
        return GW_EIO;
    fprintf(f, "%d\n", port);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return GW_EIO;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"migrate", no_argument, NULL, 'm'},
                                         {"port-file", required_argument, NULL, 'p'},
                                         {"hash-token", required_argument, NULL, 't'},
                                         {"version", no_argument, NULL, 'V'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *config_path = "/etc/gatewayd/gatewayd.ini", *port_file = NULL;
    bool migrate_only = false;
    struct gw_config *cfg = NULL;
    struct gw_app app;
    char err[512];
    int c, rc;

    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case 'm':
            migrate_only = true;
            break;
        case 'p':
            port_file = optarg;
            break;
        case 't': {
            char hex[65];
            gw_auth_hash_hex(optarg, hex);
            printf("%s\n", hex);
            return 0;
        }
        case 'V':
            printf("gatewayd %s\n", GW_VERSION);
            return 0;
        case 'h':
            gw_usage(stdout);
            return 0;
        default:
            gw_usage(stderr);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    rc = gw_config_load_opts(config_path, &(struct gw_config_opts){.adapters = gw_adapter_names()},
                             &cfg, err, sizeof(err));
    if (rc != 0) {
        gw_log(GW_LOG_ERROR, "config.invalid", "%s", err);
        return 2;
    }
    gw_log_set_level(cfg->log_level);
    for (size_t i = 0; i < cfg->n_warnings; i++)
        gw_log(GW_LOG_WARN, "config.warning", "%s", cfg->warnings[i]);
    if (migrate_only) {
        rc = gw_db_migrate(cfg->db.conninfo, cfg->migrations_dir);
        gw_config_free(cfg);
        return rc == 0 ? 0 : 1;
    }
    rc = gw_app_start(&app, uv_default_loop(), cfg);
    if (rc == 0 && port_file && gw_write_port_file(port_file, gw_http_server_port(app.http)) != 0)
        gw_log(GW_LOG_ERROR, "app.port_file", "cannot write %s", port_file);
    uv_run(uv_default_loop(), UV_RUN_DEFAULT);
    if (uv_loop_close(uv_default_loop()) != 0)
        gw_log(GW_LOG_WARN, "app.exit", "loop closed with handles still open");
    if (rc == 0 && app.exit_status != 0)
        rc = GW_EDB;
    gw_app_free(&app);
    gw_config_free(cfg);
    gw_log(GW_LOG_INFO, "app.exit", "gatewayd exits with status %d", rc == 0 ? 0 : 1);
    return rc == 0 ? 0 : 1;
}
