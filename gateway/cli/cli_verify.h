#ifndef GW_CLI_VERIFY_H
#define GW_CLI_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "pipeline/verify_pdf.h"

/* `gatewayctl verify FILE [--trust DIR] [--json] [--offline] [--crl FILE]... [--at TIME]`:
 * checks a PDF or a whole edXML package and prints the report; exit 0 only for a TOTAL-PASSED
 * summary, 1 otherwise (an unsigned PDF included), 2 on usage errors. */
int gw_cli_verify(int argc, char **argv);

#endif
