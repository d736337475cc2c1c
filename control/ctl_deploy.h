/* ctl_deploy: `decnet deploy`, `decnet status`, `decnet teardown` — DECNET's
 * deployment commands, with its flags (spec: CLI Reference).
 *
 * deploy builds a fleet either from an INI file (-c) or from the flags
 * (the flags are written out as INI text and loaded with
 * fleet_load_buffer, so both paths share every validation rule), then:
 *  - --dry-run: prints classic mode's compose document (ctr_compose_write)
 *    to stdout or --output FILE and touches nothing;
 *  - --classic: creates the containers through Docker (containers/ctr_deploy.h);
 *  - default, engine mode: starts decnetd in the background (setsid; log
 *    RUN_DIR/decnetd.log, pid RUN_DIR/decnetd.pid, control socket
 *    RUN_DIR/decnetd.sock; RUN_DIR is /run/decnet or $DECNET_RUN_DIR),
 *    waits until its control socket answers `status`, prints decky.list.
 * status asks both backends (the engine's socket if present, Docker if
 * reachable); teardown --all stops decnetd (SIGTERM through the pid file)
 * and removes every decnet-labelled Docker object; --id NAME removes one
 * decky from whichever backend has it.
 *
 * Exit statuses: 0 done; 1 runtime failure (Docker/decnetd unreachable,
 * a failed and rolled-back deploy); 2 usage or configuration error (an
 * INI error prints FILE:LINE: message, nothing is deployed).
 *
 * Called by decnet_cli.c's command table with argv[0] = the command name.
 */
#ifndef CTL_DEPLOY_H
#define CTL_DEPLOY_H

#include <stdio.h>

#define CTL_RUN_DIR "/run/decnet"
#define CTL_RUN_DIR_ENV "DECNET_RUN_DIR"

int ctl_cmd_deploy(int argc, char **argv, FILE *out);
int ctl_cmd_status(int argc, char **argv, FILE *out);
int ctl_cmd_teardown(int argc, char **argv, FILE *out);

#endif
