#ifndef GW_CLI_RULES_H
#define GW_CLI_RULES_H

/*
 * `gatewayctl rules test FILE [--json] [--rules DIR] [--date YYYY-MM-DD]`: classifies one package
 * offline for Art. 10.3b and explains every clause, fired or not, with the rules that came close;
 * exit 0 when classified (whatever the result), 1 when the package cannot be parsed, 2 on usage
 * errors. `gatewayctl rules check DIR`: validates a catalogue before it is deployed; exit 0 valid,
 * 1 invalid (FILE:LINE: CODE: message on stderr), 2 usage. argv[0] is "rules".
 */
int gw_cli_rules(int argc, char **argv);

#endif
