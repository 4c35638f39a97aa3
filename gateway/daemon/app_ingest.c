/*
 * How the daemon reads every package it receives, from QLVBĐH or from an axis: the streaming
 * reader's limits, the header schema compiled once at start (edxml_conform.h), conformance and
 * the JSON form stored with the package, as one struct gw_ingest_deps handed to the API and the
 * pollers.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/app.h"
#include "edxml/edxml_conform.h"
#include "util/error.h"
#include "util/log.h"

/* On a worker: the conformance report (XSD on the header, then the checks an XSD cannot make). */
static int gw_app_ingest_check(struct gw_edxml_doc *doc, void *ud)
{
    const struct gw_edxml_xsd *xsd = ud;
    return gw_edxml_check(doc, xsd, (int64_t)time(NULL));
}

/* The schema's path: configured; else edxml/edxml.xsd beside the migrations directory when it is
 * there; else the source tree's (a build run in place). */
static int gw_app_schema_path(const struct gw_config *cfg, char *buf, size_t n)
{
    int w;

    if (cfg->edxml_schema && cfg->edxml_schema[0]) {
        w = snprintf(buf, n, "%s", cfg->edxml_schema);
        return w < 0 || (size_t)w >= n ? GW_ERANGE : 0;
    }
    w = snprintf(buf, n, "%s/../edxml/edxml.xsd", cfg->migrations_dir);
    if (w < 0 || (size_t)w >= n)
        return GW_ERANGE;
#ifdef GW_SOURCE_DIR
    if (access(buf, R_OK) != 0) {
        w = snprintf(buf, n, "%s/schemas/edxml/edxml.xsd", GW_SOURCE_DIR);
        if (w < 0 || (size_t)w >= n)
            return GW_ERANGE;
    }
#endif
    return 0;
}

int gw_app_ingest_init(struct gw_app *app)
{
    char path[PATH_MAX];
    int rc = gw_app_schema_path(app->cfg, path, sizeof(path));

    if (rc == 0)
        rc = gw_edxml_xsd_load(path, &app->xsd);
    if (rc != 0) {
        gw_log(GW_LOG_ERROR, "edxml.schema", "cannot load the edXML header schema %s: %s", path,
               gw_strerror(rc));
        return rc;
    }
    gw_edxml_reader_opts_default(&app->ingest.reader);
    /* A submission is bounded by the HTTP server's body limit, a fetched package by its axis's
     * max_package_bytes (the poller sets its own copy). */
    app->ingest.reader.limits.max_bytes = app->cfg->server.max_body_bytes + 1;
    app->ingest.check = gw_app_ingest_check;
    app->ingest.check_ud = app->xsd;
    app->ingest.to_json = NULL; /* gw_ingest_doc_json: the JSON form of edxml_json.h */
    /* Every chunk stored is kept a while for the signature check and the copies that follow it
     * (store/body_cache.h): at most 60 s, within [database] body_cache_bytes. */
    app->body_cache =
        gw_body_cache_new(app->loop, app->cfg->db.body_cache_bytes, 60000, app->metrics);
    if (!app->body_cache)
        return GW_ENOMEM;
    app->ingest.cache = app->body_cache;
    return 0;
}

void gw_app_ingest_close(struct gw_app *app)
{
    gw_body_cache_close(app->body_cache);
}

void gw_app_ingest_free(struct gw_app *app)
{
    gw_body_cache_free(app->body_cache);
    app->body_cache = NULL;
    app->ingest.cache = NULL;
    gw_edxml_xsd_free(app->xsd);
    app->xsd = NULL;
}
