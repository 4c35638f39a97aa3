#ifndef GW_CLI_EDXML_H
#define GW_CLI_EDXML_H

/*
 * `gatewayctl edxml check FILE [--json] [--schema XSD]`: reads one package offline as the gateway
 * would (streaming reader, XSD on the header, conformance) and prints the header, the attachments
 * and every finding, or with --json the package's JSON form (edxml_json.h). argv[0] is "edxml".
 * Returns the exit status: 0 acceptable in lenient mode, 1 refused (or not processed: a local
 * limit), 2 usage error (bad arguments, unreadable file or schema).
 */
int gw_cli_edxml(int argc, char **argv);

#endif
