#ifndef GW_CLI_HELD_H
#define GW_CLI_HELD_H

/*
 * `gatewayctl held release|reject ID [-c CONFIG] [--by NAME] [--reason TEXT]`: an operator's
 * decision on a package whose signature check held it (`[policy] … = hold`, the views
 * v_verify_waiting and v_package_check): released, it is delivered (or enters the inbox);
 * rejected, it is refused with the reason (QLVBĐH reads REJECTED). Works on the gateway's
 * database named by the configuration (default /etc/gatewayd/gatewayd.ini). Exit 0 decided,
 * 1 not held (unknown, already decided or never held), 2 usage or database errors. argv[0] is
 * "held".
 */
int gw_cli_held(int argc, char **argv);

#endif
