/*
 * Who may do what on the northbound API (the table in docs/internals/api.md): a client acts for
 * its organ_id, or, without one, for every organisation of [gateway] organ_ids. It sends only as
 * one of those (the From/OrganId of an edoc or a status), and reads and acknowledges only the
 * packages of those: incoming ones addressed to them, outgoing ones sent by them.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "util/error.h"

bool gw_api_may_send(const struct gw_api *api, const struct gw_api_client *client, const char *from)
{
    if (!from || !from[0])
        return false;
    for (size_t i = 0; i < client->scope.n_organs; i++) {
        if (strcmp(client->scope.organs[i], from) == 0)
            return true;
    }
    return false;
}

int gw_api_clients_init(struct gw_api *api)
{
    const struct gw_api_deps *d = &api->deps;
    struct gw_metric_family *acks;

    api->auth = calloc(d->n_clients, sizeof(*api->auth));
    api->clients = calloc(d->n_clients, sizeof(*api->clients));
    if (!api->auth || !api->clients)
        return GW_ENOMEM;
    acks = gw_metrics_counter(d->metrics, "gateway_inbox_ack_total",
                              "inbox packages acked by QLVBĐH, by client", "client", NULL);
    api->n_clients = d->n_clients;
    for (size_t i = 0; i < d->n_clients; i++) {
        const struct gw_config_client *cc = &d->clients[i];
        struct gw_api_client *c = &api->clients[i];

        api->auth[i].name = cc->name;
        memcpy(api->auth[i].token_sha256, cc->token_sha256, sizeof(cc->token_sha256));
        api->auth[i].cert_only = !cc->has_token;
        api->auth[i].has_cert = cc->has_cert;
        memcpy(api->auth[i].cert_sha256, cc->cert_sha256, sizeof(cc->cert_sha256));
        c->name = cc->name;
        c->organ_id = cc->organ_id && cc->organ_id[0] ? cc->organ_id : NULL;
        if (c->organ_id) {
            c->scope.organs = &c->organ_id;
            c->scope.n_organs = 1;
        } else {
            c->scope.organs = d->organ_ids;
            c->scope.n_organs = d->n_organ_ids;
        }
        c->inbox_acks = gw_metric_series(acks, c->name);
    }
    return 0;
}

void gw_api_clients_free(struct gw_api *api)
{
    free(api->auth);
    free(api->clients);
    api->auth = NULL;
    api->clients = NULL;
}
