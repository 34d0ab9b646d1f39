// Declarative options for subcommands. Each subcommand declares its options in groups, tables bound
// to its variables (its own, and shared ones such as physics_opts.h or rundir.h give), which the
// spec combines in order; one parser reads the command line and config files into them, and the
// same groups print --help and write the resolved config. Defaults are whatever the variables hold
// before parsing.
//
// Command line: "--name value", "--name=value", "--flag", "--no-flag", "--flag=true|false",
// "--list v1 v2 ..." (values up to the next "--option"; repeating "--list v" appends),
// "--config FILE" (when the table has a "config" ARG_STRING entry; loaded where it appears, so
// later options override it) and "-h"/"--help" anywhere (shows the help, ignoring everything else).
//
// Config files: "key = value" lines; '#' starts a comment at the start of a line or after
// whitespace; blank lines are skipped. A value may be quoted: "..." (escapes \" \\ \n \t \r) or
// '...' (literal). Flags take true/false, yes/no, on/off or 1/0. Lists are whitespace-separated
// items, each optionally quoted; an empty value is an empty list. A key may appear once per file.
//
// Memory: string values on the command line point into argv. Strings read from config files and
// the arrays built for ARG_LIST options live in memory owned by this module, which stays valid
// until the program exits (an atexit handler frees it). The module is not thread-safe.
#ifndef PWM_OPTS_ARGS_H
#define PWM_OPTS_ARGS_H

#include <stddef.h>
#include <stdio.h>

typedef enum { ARG_INT, ARG_LONG, ARG_FLOAT, ARG_DOUBLE, ARG_STRING, ARG_FLAG, ARG_CHOICE, ARG_LIST } args_type;

typedef struct {
    const char *name;     // long option name without "--", e.g. "seed"
    args_type type;
    void *ptr;            // int*, long*, float*, double*, const char ** (string, choice),
                          // const char *** (list: NULL-terminated array), int* (flag: 0 or 1)
    const char *help;     // one line
    const char *choices;  // ARG_CHOICE only: "cpu|cuda|auto"
    const char *metavar;  // optional, e.g. "N", "FILE"; NULL picks one from the type or name
} args_opt;               // a group (a table of options) ends with {0}

#define ARGS_MAX_GROUPS 8  // groups in one spec
#define ARGS_MAX_OPTS 256  // options in one spec, all groups together

typedef struct {
    const char *usage;    // e.g. "pwm bench nn [options]"
    const char *summary;  // a paragraph printed under the usage (may be NULL)
    // the option groups, combined in this order (--help lists them so); the first NULL ends the list.
    // An option name may appear in one group only.
    const args_opt *groups[ARGS_MAX_GROUPS];
} args_spec;

// Check a spec: option names (letters, digits, '-', '_', '.'; not "help"), types, variables,
// choices, and that no name is declared twice, in one group or across groups. 0, or -1 with the
// mistake in err. Every function below checks its spec so: those that return errors return this one
// (a command prints it and exits 2), args_print_help stops the program with it.
int args_check(const args_spec *spec, char *err, size_t errlen);

// Parse argv (argv[0] is the subcommand name and is skipped) into the table's variables.
// Returns 0 when all went well, 1 when --help/-h was given (the help went to stdout; the caller
// should exit 0), -1 on an error with the message in err: an unknown option (with a did-you-mean
// hint), a missing value, a malformed or out-of-range number, a value not among the choices, an
// unexpected positional argument or a bad config file. Variables already set stay set on error.
int args_parse(const args_spec *spec, int argc, char **argv, char *err, size_t errlen);

// args_parse for a command named prog (e.g. "pwm shac"): returns -1 when the command should go on,
// else its exit code: 0 after --help, 2 after an error, printed as "prog: message (see prog --help)".
int args_parse_command(const args_spec *spec, int argc, char **argv, const char *prog);

// Load a "key = value" config file into the table's variables. Returns 0, or -1 with a message in
// err that names the file and line (unknown keys get the same did-you-mean hint as options).
int args_load_config(const args_spec *spec, const char *path, char *err, size_t errlen);

// The value a config file gives key, as a string option would take it (unquoted), into buf: 1, 0 when
// the file lacks the key, or -1 with a message in err naming the file and line when it cannot be read
// or a line is malformed (other keys are not checked against any table). The same parser as
// args_load_config, for a value needed before the table can be built (a run's task and preset).
int args_config_value(const char *path, const char *key, char *buf, size_t n, char *err, size_t errlen);

// Print the usage, the summary and every option with its help, choices and current value.
void args_print_help(const args_spec *spec, FILE *out);

// Write every option's current value (except "config") as a config file that args_load_config
// reads back to bitwise-identical values. header (may be NULL) goes first, one comment per line;
// lines not starting with '#' get "# " prefixed. Returns 0, or -1 with a message in err.
int args_write_config(const args_spec *spec, const char *path, const char *header, char *err, size_t errlen);

// Before parsing (to pick a preset; rundir.h reads a resumed run's): the value of --name in argv
// (either form), or NULL; and whether argv holds flag.
const char *args_peek(int argc, char **argv, const char *name);
int args_has_flag(int argc, char **argv, const char *flag);

// What precedes the commit in config.txt's header ("# PROG, git commit C") and resume lines; the
// run directory reads the commits back by it (rundir_add_commits).
#define ARGS_COMMIT_TAG "git commit "

// Appends to the config file at path "# resumed with " ARGS_COMMIT_TAG "C" and, as comments
// ("#   with key = value"), every resolved option whose line the file lacks: what the resumed
// invocation changed (threads, stop-after, ...). Comments, so a later --resume still loads the
// run's own config (rundir.h's resume rule). A non-NULL note follows as one more comment line,
// "#   note". 0, or -1 with a message in err.
int args_note_resume(const args_spec *spec, const char *path, const char *commit, const char *note, char *err,
                     size_t errlen);

#endif
