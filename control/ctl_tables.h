/* ctl_tables: `decnet services`, `decnet archetypes`, `decnet distros`.
 * They print fleet/'s static registries as an aligned table for people or,
 * with --json, as one JSON array (cJSON) for scripts. They need no running
 * decnetd: the tables are compiled in.
 *
 * Called by the decnet CLI's main with its own argv shifted by one
 * (argv[0] is the command name). Each returns a process exit status:
 * 0 printed, 1 output or memory failure, 2 usage error (message on
 * stderr). Output goes to out only.
 */
#ifndef CTL_TABLES_H
#define CTL_TABLES_H

#include <stdio.h>

int ctl_cmd_services(int argc, char **argv, FILE *out);
int ctl_cmd_archetypes(int argc, char **argv, FILE *out);
int ctl_cmd_distros(int argc, char **argv, FILE *out);
/* decnet personas (ctl_personas.c): reads nmap's nmap-os-db. */
int ctl_cmd_personas(int argc, char **argv, FILE *out);

#endif
