#ifndef GW_TEST_CONFIG_TEST_H
#define GW_TEST_CONFIG_TEST_H

/* What the configuration unit tests share: the smallest configuration that loads, and the TLS
 * fixture files (tests/fixtures/tls/README.md). */

#define TOKEN_A "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

#define TLS_FIXTURES GW_SOURCE_DIR "/tests/fixtures/tls"

#define MINIMAL                                                                                    \
    "[gateway]\n"                                                                                  \
    "organ_ids = 000.00.00.H49\n"                                                                  \
    "[database]\n"                                                                                 \
    "conninfo = dbname=gw\n"                                                                       \
    "[client.qlvbdh]\n"                                                                            \
    "token_sha256 = " TOKEN_A "\n"

#endif
