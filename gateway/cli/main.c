/*
 * gatewayctl, the operators' and clerks' tool: dispatches "gatewayctl <area> <command> ..." to the
 * command's module. Exit codes are the command's; 2 is always a usage error.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli_edxml.h"
#include "cli/cli_held.h"
#include "cli/cli_rules.h"
#include "cli/cli_verify.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: gatewayctl edxml check FILE [--json] [--schema XSD]\n"
            "       gatewayctl verify FILE [--trust DIR] [--json] [--offline] [--crl FILE]...\n"
            "       gatewayctl rules test FILE [--json] [--rules DIR] [--date YYYY-MM-DD]\n"
            "       gatewayctl rules check DIR\n"
            "       gatewayctl held release|reject ID [-c CONFIG] [--by NAME] [--reason TEXT]\n"
            "       gatewayctl --help\n");
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "edxml") == 0)
        return gw_cli_edxml(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "held") == 0)
        return gw_cli_held(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "rules") == 0)
        return gw_cli_rules(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "verify") == 0)
        return gw_cli_verify(argc - 1, argv + 1);
    usage(stderr);
    return 2;
}
