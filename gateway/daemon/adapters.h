#ifndef GW_DAEMON_ADAPTERS_H
#define GW_DAEMON_ADAPTERS_H

/*
 * The axis adapters built into gatewayd, by configuration name. The configuration loader gets
 * this list (gw_config_opts.adapters) so that a wrong adapter name stops the start at load.
 */

/* NULL-terminated list of names, static. */
const char *const *gw_adapter_names(void);

#endif
