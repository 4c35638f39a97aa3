#ifndef GW_CLI_EDXML_H
#define GW_CLI_EDXML_H

#include <stdbool.h>
#include <stddef.h>

/*
 * `gatewayctl edxml check FILE [--json] [--schema XSD]`: reads one package offline as the gateway
 * would (streaming reader, XSD on the header, conformance) and prints the header, the attachments
 * and every finding, or with --json the package's JSON form (edxml_json.h). argv[0] is "edxml".
 * Returns the exit status: 0 acceptable in lenient mode, 1 refused (or not processed: a local
 * limit), 2 usage error (bad arguments, unreadable file or schema).
 */
int gw_cli_edxml(int argc, char **argv);

struct gw_edxml_doc;

/* Reads the package at path through the streaming reader, as the daemon does. 0 with *out; 1
 * refused (the reason printed, as JSON with json); 2 unreadable. */
int gw_cli_edxml_read(const char *path, bool json, struct gw_edxml_doc **out);

/* A file shipped under rel ("schemas/..."): ./rel, next to the executable (bin/../rel or
 * bin/../share/gatewayd/rel), then the source tree it was built from; NULL when none is
 * readable. */
const char *gw_cli_find_share(const char *rel, char *buf, size_t n);

#endif
