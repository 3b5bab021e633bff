/* placeholder until the module lands */
typedef int nfflowd_placeholder_daemon;
