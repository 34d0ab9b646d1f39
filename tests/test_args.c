// Tests for opts/args: every option type on the command line and in config files, the error
// messages, --help and the write_config -> load_config round trip.
#include <float.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../nn/common.h"
#include "../opts/args.h"
#include "test.h"

// the variables the test table binds, reset to their defaults by reset()
static int v_seed, v_render, v_verbose;
static long v_steps;
static float v_lr;
static double v_gamma;
static const char *v_env, *v_device, *v_config, *v_note;
static const char **v_data;
static const char *default_data[] = {"default.bin", NULL};

static const args_opt opts[] = {
    {"seed", ARG_INT, &v_seed, "random seed", NULL, NULL},
    {"steps", ARG_LONG, &v_steps, "total environment steps", NULL, NULL},
    {"lr", ARG_FLOAT, &v_lr, "learning rate", NULL, NULL},
    {"gamma", ARG_DOUBLE, &v_gamma, "discount", NULL, NULL},
    {"env", ARG_STRING, &v_env, "environment name", NULL, "NAME"},
    {"note", ARG_STRING, &v_note, "free text", NULL, NULL},
    {"device", ARG_CHOICE, &v_device, "where to run", "cpu|cuda|auto", NULL},
    {"render", ARG_FLAG, &v_render, "render episodes", NULL, NULL},
    {"verbose", ARG_FLAG, &v_verbose, "print more", NULL, NULL},
    {"data", ARG_LIST, &v_data, "data files", NULL, "FILE"},
    {"config", ARG_STRING, &v_config, "load options from FILE", NULL, "FILE"},
    {0},
};
static const args_spec spec = {"pwm test [options]", "A table with one option of each type.", {opts}};

static void reset(void) {
    v_seed = 1;
    v_steps = 1000;
    v_lr = 3e-4f;
    v_gamma = 0.99;
    v_env = "hopper";
    v_note = NULL;
    v_device = "cpu";
    v_render = 0;
    v_verbose = 1;
    v_data = default_data;
    v_config = NULL;
}

// parse a command line given as a NULL-terminated list after the subcommand name
#define PARSE(err, ...) parse_words((err), (const char *[]){"test", __VA_ARGS__, NULL})
static int parse_words(char *err, const char **words) {
    int argc = 0;
    while (words[argc]) argc++;
    err[0] = 0;
    return args_parse(&spec, argc, (char **)words, err, 256);
}

// write text to a scratch file and return its path (valid until the next call)
static const char *scratch_file(const char *name, const char *text) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", test_tmpdir(), name);
    FILE *f = nn_fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static int list_len(const char **l) {
    int n = 0;
    while (l && l[n]) n++;
    return n;
}

TEST(parses_each_type) {
    reset();
    char err[256];
    int rc = PARSE(err, "--seed", "7", "--steps", "-123456789012", "--lr", "0.5", "--gamma", "0.25", "--env", "ant",
                   "--device", "cuda", "--render", "--data", "a.bin", "b.bin");
    CHECK(rc == 0, "rc %d: %s", rc, err);
    CHECK(v_seed == 7, "seed %d", v_seed);
    CHECK(v_steps == -123456789012L, "steps %ld", v_steps);
    CHECK(v_lr == 0.5f, "lr %g", v_lr);
    CHECK(v_gamma == 0.25, "gamma %g", v_gamma);
    CHECK(!strcmp(v_env, "ant"), "env %s", v_env);
    CHECK(!strcmp(v_device, "cuda"), "device %s", v_device);
    CHECK(v_render == 1, "render %d", v_render);
    CHECK(list_len(v_data) == 2 && !strcmp(v_data[0], "a.bin") && !strcmp(v_data[1], "b.bin"), "data");
    CHECK(v_verbose == 1 && v_note == NULL, "untouched options keep their defaults");

    // nothing given: defaults stay
    reset();
    const char *none[] = {"test", NULL};
    CHECK(args_parse(&spec, 1, (char **)none, err, sizeof err) == 0, "%s", err);
    CHECK(v_seed == 1 && v_lr == 3e-4f && v_data == default_data, "defaults");
}

TEST(equals_form) {
    reset();
    char err[256];
    int rc = PARSE(err, "--seed=-4", "--lr=1e-3", "--gamma=0.5", "--env=walker2d", "--device=auto", "--note=",
                   "--data=x.bin", "--steps=5");
    CHECK(rc == 0, "rc %d: %s", rc, err);
    CHECK(v_seed == -4 && v_lr == 1e-3f && v_gamma == 0.5 && v_steps == 5, "numbers");
    CHECK(!strcmp(v_env, "walker2d") && !strcmp(v_device, "auto"), "strings");
    CHECK(v_note && v_note[0] == 0, "--note= gives an empty string");
    CHECK(list_len(v_data) == 1 && !strcmp(v_data[0], "x.bin"), "list");
    // a value that starts with -- needs the = form
    rc = PARSE(err, "--env=--odd");
    CHECK(rc == 0 && !strcmp(v_env, "--odd"), "rc %d: %s", rc, err);
    // later options override earlier ones
    rc = PARSE(err, "--seed", "2", "--seed", "3");
    CHECK(rc == 0 && v_seed == 3, "seed %d", v_seed);
}

TEST(flags) {
    reset();
    char err[256];
    CHECK(PARSE(err, "--render", "--no-verbose") == 0, "%s", err);
    CHECK(v_render == 1 && v_verbose == 0, "render %d verbose %d", v_render, v_verbose);
    CHECK(PARSE(err, "--no-render", "--verbose") == 0, "%s", err);
    CHECK(v_render == 0 && v_verbose == 1, "render %d verbose %d", v_render, v_verbose);
    CHECK(PARSE(err, "--render=yes", "--verbose=false") == 0, "%s", err);
    CHECK(v_render == 1 && v_verbose == 0, "render %d verbose %d", v_render, v_verbose);
    CHECK(PARSE(err, "--render=maybe") == -1 && strstr(err, "expected true or false"), "%s", err);
    CHECK(PARSE(err, "--no-render=1") == -1 && strstr(err, "takes no value"), "%s", err);
    // --no- works only for flags
    CHECK(PARSE(err, "--no-seed") == -1 && strstr(err, "unknown option --no-seed"), "%s", err);
    // a flag takes no separate value
    CHECK(PARSE(err, "--render", "1") == -1 && strstr(err, "unexpected argument '1'") && strstr(err, "flag"), "%s",
          err);
}

TEST(help_returns_1) {
    reset();
    char err[256];
    // send the help to /dev/null while args_parse prints it
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    FILE *devnull = nn_fopen("/dev/null", "w");
    dup2(fileno(devnull), STDOUT_FILENO);
    int rc1 = PARSE(err, "--help");
    int rc2 = PARSE(err, "--seed", "5", "-h");
    int rc3 = PARSE(err, "--bogus", "--help");  // help wins over errors
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    fclose(devnull);
    CHECK(rc1 == 1 && rc2 == 1 && rc3 == 1, "rc %d %d %d", rc1, rc2, rc3);
    CHECK(v_seed == 1, "help is handled before anything is set (seed %d)", v_seed);
}

TEST(help_text) {
    reset();
    char path[512];
    snprintf(path, sizeof path, "%s/help.txt", test_tmpdir());
    FILE *f = nn_fopen(path, "w");
    args_print_help(&spec, f);
    fclose(f);
    f = nn_fopen(path, "r");
    char text[4096];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    CHECK(strstr(text, "usage: pwm test [options]"), "usage line:\n%s", text);
    CHECK(strstr(text, "A table with one option of each type."), "summary");
    CHECK(strstr(text, "--seed N") && strstr(text, "random seed (default: 1)"), "seed line:\n%s", text);
    CHECK(strstr(text, "--env NAME") && strstr(text, "(default: hopper)"), "env line");
    CHECK(strstr(text, "(default: 0.0003)"), "lr default printed short");
    CHECK(strstr(text, "(choices: cpu, cuda, auto; default: cpu)"), "choices listed");
    CHECK(strstr(text, "--[no-]render") && strstr(text, "(default: off)"), "flag line");
    CHECK(strstr(text, "--data FILE ...") && strstr(text, "(default: default.bin)"), "list line");
    CHECK(strstr(text, "-h, --help"), "help line");
    // the help texts start in one column
    int col = -1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "  -", 3) != 0) continue;
        char *h = strstr(line, "  ") ? line + 2 : NULL;
        h = h ? strstr(h, "  ") : NULL;
        CHECK(h, "no gap in '%s'", line);
        while (*h == ' ') h++;
        int c = (int)(h - line);
        if (col < 0) col = c;
        CHECK(c == col, "help column %d vs %d in '%s'", c, col, line);
    }
}

TEST(unknown_option_suggests) {
    reset();
    char err[256];
    CHECK(PARSE(err, "--sed", "3") == -1, "unknown option accepted");
    CHECK(strstr(err, "unknown option --sed; did you mean --seed?"), "%s", err);
    CHECK(PARSE(err, "--devcie=cpu") == -1 && strstr(err, "did you mean --device?"), "%s", err);
    CHECK(PARSE(err, "--no-rendr") == -1 && strstr(err, "did you mean --no-render?"), "%s", err);
    CHECK(PARSE(err, "--hepl") == -1 && strstr(err, "did you mean --help?"), "%s", err);
    CHECK(PARSE(err, "--completely-different") == -1 && strstr(err, "unknown option --completely-different") &&
              !strstr(err, "did you mean"), "%s", err);
    CHECK(PARSE(err, "-seed", "3") == -1 && strstr(err, "did you mean --seed?"), "%s", err);
    CHECK(v_seed == 1, "seed changed to %d", v_seed);
}

TEST(bad_numbers_rejected) {
    reset();
    char err[256];
    static const char *bad_int[] = {"12x", "", " 5", "1.5", "0x10", "1e3", "five"};
    for (size_t i = 0; i < sizeof bad_int / sizeof *bad_int; i++) {
        char arg[64];
        snprintf(arg, sizeof arg, "--seed=%s", bad_int[i]);
        CHECK(PARSE(err, arg) == -1 && strstr(err, "expected an integer"), "'%s': %s", bad_int[i], err);
    }
    CHECK(PARSE(err, "--seed", "3000000000") == -1 && strstr(err, "out of range"), "%s", err);
    CHECK(PARSE(err, "--seed", "-2147483649") == -1 && strstr(err, "out of range"), "%s", err);
    CHECK(PARSE(err, "--seed", "2147483647") == 0 && v_seed == INT_MAX, "%s", err);
    CHECK(PARSE(err, "--seed", "-2147483648") == 0 && v_seed == INT_MIN, "%s", err);
    CHECK(PARSE(err, "--steps", "99999999999999999999") == -1 && strstr(err, "out of range"), "%s", err);
    CHECK(PARSE(err, "--lr", "1e39") == -1 && strstr(err, "out of range for a float"), "%s", err);
    CHECK(PARSE(err, "--gamma", "1e999") == -1 && strstr(err, "out of range for a double"), "%s", err);
    CHECK(PARSE(err, "--lr", "0.1.2") == -1 && strstr(err, "expected a number"), "%s", err);
    CHECK(PARSE(err, "--gamma", "abc") == -1 && strstr(err, "invalid value 'abc' for --gamma"), "%s", err);
    CHECK(PARSE(err, "--lr", "") == -1, "empty float accepted");
    CHECK(v_lr == 3e-4f && v_gamma == 0.99 && v_steps == 1000, "bad values must not be stored");
    CHECK(PARSE(err, "--seed") == -1 && strstr(err, "missing value for --seed"), "%s", err);
    CHECK(PARSE(err, "--seed", "--lr", "1") == -1 && strstr(err, "missing value for --seed"), "%s", err);
    // negative numbers are values, not options
    CHECK(PARSE(err, "--lr", "-2.5e-1", "--steps", "-7") == 0 && v_lr == -0.25f && v_steps == -7, "%s", err);
}

TEST(choices) {
    reset();
    char err[256];
    CHECK(PARSE(err, "--device", "auto") == 0 && !strcmp(v_device, "auto"), "%s", err);
    CHECK(PARSE(err, "--device", "gpu") == -1, "gpu accepted");
    CHECK(strstr(err, "invalid value 'gpu' for --device: choose one of cpu, cuda, auto"), "%s", err);
    CHECK(PARSE(err, "--device", "cdua") == -1 && strstr(err, "did you mean 'cuda'?"), "%s", err);
    CHECK(PARSE(err, "--device", "cu") == -1, "a prefix is not a choice");
    CHECK(!strcmp(v_device, "auto"), "device %s", v_device);
}

TEST(lists) {
    reset();
    char err[256];
    CHECK(PARSE(err, "--data", "d1", "d2", "--steps", "5") == 0, "%s", err);
    CHECK(list_len(v_data) == 2 && !strcmp(v_data[0], "d1") && !strcmp(v_data[1], "d2") && v_steps == 5, "data");
    // repeating appends; a new command line replaces
    CHECK(PARSE(err, "--data", "a", "--seed", "2", "--data", "b", "c", "--data=d") == 0, "%s", err);
    CHECK(list_len(v_data) == 4 && !strcmp(v_data[0], "a") && !strcmp(v_data[3], "d"), "appended %d", list_len(v_data));
    // items may look like negative numbers
    CHECK(PARSE(err, "--data", "-1", "-x") == 0 && list_len(v_data) == 2 && !strcmp(v_data[1], "-x"), "%s", err);
    // "--data=" alone empties the list; "--data" alone is an error
    CHECK(PARSE(err, "--data=") == 0 && v_data && list_len(v_data) == 0, "%s", err);
    CHECK(PARSE(err, "--data", "--seed", "3") == -1 && strstr(err, "missing value for --data"), "%s", err);
    CHECK(PARSE(err, "--data") == -1, "empty --data accepted");
    CHECK(default_data[0] && !strcmp(default_data[0], "default.bin") && !default_data[1], "default array untouched");
}

TEST(positional_rejected) {
    reset();
    char err[256];
    CHECK(PARSE(err, "hopper") == -1 && strstr(err, "unexpected argument 'hopper'"), "%s", err);
    CHECK(PARSE(err, "--seed", "1", "extra") == -1 && strstr(err, "unexpected argument 'extra'"), "%s", err);
    CHECK(PARSE(err, "--") == -1 && strstr(err, "unexpected argument '--'"), "%s", err);
}

TEST(config_file_and_override) {
    reset();
    char err[256];
    const char *path = scratch_file("a.cfg",
                                    "# a comment line\n"
                                    "\n"
                                    "seed = 42\n"
                                    "   steps=7   # a trailing comment\n"
                                    "lr = 0.01\n"
                                    "gamma = \"0.5\"\n"
                                    "env = 'half cheetah'  # single quotes\n"
                                    "note = a#b c \n"
                                    "device = cuda\n"
                                    "render = true\n"
                                    "verbose = off\n"
                                    "data = one \"two words\" 'th\"ree'\r\n");
    CHECK(args_load_config(&spec, path, err, sizeof err) == 0, "%s", err);
    CHECK(v_seed == 42 && v_steps == 7 && v_lr == 0.01f && v_gamma == 0.5, "numbers %d %ld %g %g", v_seed, v_steps,
          v_lr, v_gamma);
    CHECK(!strcmp(v_env, "half cheetah"), "env '%s'", v_env);
    CHECK(!strcmp(v_note, "a#b c"), "note '%s'", v_note);
    CHECK(!strcmp(v_device, "cuda") && v_render == 1 && v_verbose == 0, "device/flags");
    CHECK(list_len(v_data) == 3 && !strcmp(v_data[0], "one") && !strcmp(v_data[1], "two words") &&
              !strcmp(v_data[2], "th\"ree"), "data %d", list_len(v_data));

    // --config is loaded where it appears: earlier options lose, later ones win
    reset();
    int rc = PARSE(err, "--seed", "5", "--config", path, "--lr", "0.5", "--data", "cli.bin");
    CHECK(rc == 0, "rc %d: %s", rc, err);
    CHECK(v_seed == 42, "config overrides the earlier --seed (%d)", v_seed);
    CHECK(v_lr == 0.5f, "later --lr overrides the config (%g)", v_lr);
    CHECK(list_len(v_data) == 1 && !strcmp(v_data[0], "cli.bin"), "command-line list replaces the config's");
    CHECK(v_steps == 7 && !strcmp(v_env, "half cheetah"), "the rest from the config");
    CHECK(v_config && !strcmp(v_config, path), "config variable holds the path");

    // strings from the file stay valid after the file is rewritten and other configs are loaded
    scratch_file("a.cfg", "env = other\n");
    const char *other = scratch_file("b.cfg", "note = \"escapes: \\\\ \\\" \\t \\n end\"\n");
    CHECK(args_load_config(&spec, other, err, sizeof err) == 0, "%s", err);
    CHECK(!strcmp(v_env, "half cheetah"), "env '%s'", v_env);
    CHECK(!strcmp(v_note, "escapes: \\ \" \t \n end"), "note '%s'", v_note);
}

// load text as a config and expect an error containing want
static void expect_config_error(const char *text, const char *want) {
    char err[256] = "";
    const char *path = scratch_file("bad.cfg", text);
    int rc = args_load_config(&spec, path, err, sizeof err);
    CHECK(rc == -1, "config '%s' accepted", text);
    CHECK(strstr(err, path), "error does not name the file: %s", err);
    CHECK(strstr(err, want), "expected '%s' in: %s", want, err);
}

TEST(config_errors) {
    reset();
    expect_config_error("seed = 3\n# fine\njust some words\n", ":3: expected 'key = value'");
    expect_config_error("\n\nsed = 3\n", ":3: unknown key 'sed'; did you mean 'seed'?");
    expect_config_error("seed = 3x\n", ":1: invalid value '3x' for seed: expected an integer");
    expect_config_error("lr = 1\nseed =\n", ":2: missing value for 'seed'");
    expect_config_error("env = \"unterminated\n", ":1: unterminated quote");
    expect_config_error("env = \"a\"b\n", ":1: unexpected text after a quoted value");
    expect_config_error("env = \"a\" b\n", ":1: unexpected text after the value of 'env'");
    expect_config_error("device = tpu\n", ":1: invalid value 'tpu' for device: choose one of cpu, cuda, auto");
    expect_config_error("render = maybe\n", ":1: invalid value 'maybe' for render: expected true or false");
    expect_config_error("seed = 1\nseed = 2\n", ":2: 'seed' is already set on line 1");
    expect_config_error("config = other.cfg\n", ":1: 'config' cannot be set inside a config file");
    expect_config_error("= 3\n", ":1: missing key");
    expect_config_error("my key = 3\n", ":1: malformed key");
    expect_config_error("note = \"bad \\q escape\"\n", ":1: unknown escape");
    expect_config_error("steps = 99999999999999999999\n", ":1: value '99999999999999999999' for steps is out of range");

    char err[256];
    CHECK(args_load_config(&spec, "/nonexistent/x.cfg", err, sizeof err) == -1 && strstr(err, "/nonexistent/x.cfg"),
          "%s", err);
    // an error inside --config reaches the caller of args_parse
    const char *path = scratch_file("bad2.cfg", "seed = 1\nlr = fast\n");
    CHECK(PARSE(err, "--config", path) == -1 && strstr(err, ":2: invalid value 'fast' for lr"), "%s", err);
    CHECK(PARSE(err, "--config") == -1 && strstr(err, "missing value for --config"), "%s", err);
}

TEST(write_load_round_trip) {
    reset();
    char err[256], path[512];
    snprintf(path, sizeof path, "%s/resolved.cfg", test_tmpdir());
    static const float floats[] = {3e-4f, 0.1f, 1.0f / 3.0f, FLT_MAX, -FLT_MIN, 1e-45f, -0.0f, 16777217.0f, 1e30f};
    static const double doubles[] = {0.99, 0.1, 1.0 / 3.0, DBL_MAX, -DBL_MIN, 4.9e-324, -0.0, 3.141592653589793,
                                     1e300};
    static const char *notes[] = {"", "two words", "quote \" and \\ backslash", "hash # here", "line\nbreak\ttab\r",
                                  "'single'", " lead and trail ", "plain"};
    static const char *items[] = {"a b", "", "#x", "c=d", "-1", NULL};
    for (size_t k = 0; k < sizeof floats / sizeof *floats; k++) {
        reset();
        v_seed = INT_MIN + (int)k;
        v_steps = LONG_MAX - (long)k;
        v_lr = floats[k];
        v_gamma = doubles[k];
        v_env = "walker2d";
        v_note = k < sizeof notes / sizeof *notes ? notes[k] : NULL;
        v_device = "auto";
        v_render = (int)(k & 1);
        v_verbose = !(k & 1);
        v_data = k == 0 ? NULL : k == 1 ? (const char *[]){NULL} : items + (k % 5);
        v_config = "ignored.cfg";
        int seed = v_seed, render = v_render, verbose = v_verbose;
        long steps = v_steps;
        float lr = v_lr;
        double gamma = v_gamma;
        const char *note = v_note, **data = v_data;
        CHECK(args_write_config(&spec, path, "git commit abc123\n# written by test", err, sizeof err) == 0, "%s", err);

        // back to other values, then load
        v_seed = 0, v_steps = 0, v_lr = 0, v_gamma = 0, v_env = "x", v_device = "cpu";
        v_render = !render, v_verbose = !verbose;
        v_note = note ? "x" : NULL;
        v_data = data ? default_data : NULL;
        v_config = NULL;
        CHECK(args_load_config(&spec, path, err, sizeof err) == 0, "case %zu: %s", k, err);
        CHECK(v_seed == seed && v_steps == steps && v_render == render && v_verbose == verbose, "case %zu ints", k);
        CHECK(!memcmp(&v_lr, &lr, sizeof lr), "case %zu: float %.9g read back as %.9g", k, lr, v_lr);
        CHECK(!memcmp(&v_gamma, &gamma, sizeof gamma), "case %zu: double %.17g read back as %.17g", k, gamma, v_gamma);
        CHECK(!strcmp(v_env, "walker2d") && !strcmp(v_device, "auto"), "case %zu strings", k);
        CHECK(note ? v_note && !strcmp(v_note, note) : !v_note, "case %zu: note '%s' read back as '%s'", k,
              note ? note : "(null)", v_note ? v_note : "(null)");
        CHECK(list_len(v_data) == list_len(data) && (data != NULL) == (v_data != NULL), "case %zu: list length", k);
        for (int i = 0; data && data[i]; i++)
            CHECK(!strcmp(v_data[i], data[i]), "case %zu: item '%s' read back as '%s'", k, data[i], v_data[i]);
        CHECK(v_config == NULL, "the config option is not written");
    }

    // the header comes first, each line a comment
    FILE *f = nn_fopen(path, "r");
    char line[256];
    CHECK(fgets(line, sizeof line, f) && !strcmp(line, "# git commit abc123\n"), "first line '%s'", line);
    CHECK(fgets(line, sizeof line, f) && !strcmp(line, "# written by test\n"), "second line '%s'", line);
    CHECK(fgets(line, sizeof line, f) && !strncmp(line, "seed = ", 7), "third line '%s'", line);
    fclose(f);

    CHECK(args_write_config(&spec, "/nonexistent/dir/x.cfg", NULL, err, sizeof err) == -1 &&
              strstr(err, "/nonexistent/dir/x.cfg"), "%s", err);
}

// a second group, as physics_opts.h or rundir.h give one: its options combine with the first's
static int g_substeps, g_centered;
static double g_friction;
static const args_opt more_opts[] = {
    {"substeps", ARG_INT, &g_substeps, "physics steps per control step", NULL, "K"},
    {"friction", ARG_DOUBLE, &g_friction, "sliding friction", NULL, "MU"},
    {"centered", ARG_FLAG, &g_centered, "central differences", NULL, NULL},
    {0},
};
static const args_spec two_groups = {"pwm test [options]", NULL, {opts, more_opts}};

// the help of a spec into text
static void help_of(const args_spec *s, char *text, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/help_groups.txt", test_tmpdir());
    FILE *f = nn_fopen(path, "w");
    args_print_help(s, f);
    fclose(f);
    test_read_file(path, text, n);
}

TEST(groups_combine) {
    reset();
    g_substeps = 1, g_friction = -1, g_centered = 0;
    char err[256];
    const char *words[] = {"test", "--friction", "0.5", "--seed", "9", "--centered", "--substeps=4", "--no-render", NULL};
    int rc = args_parse(&two_groups, 8, (char **)words, err, sizeof err);
    CHECK(rc == 0, "rc %d: %s", rc, err);
    CHECK(g_friction == 0.5 && g_substeps == 4 && g_centered == 1, "the second group's options");
    CHECK(v_seed == 9 && v_render == 0, "the first group's options");
    // a misspelt option of the second group is suggested from it
    const char *typo[] = {"test", "--fricton", "1", NULL};
    CHECK(args_parse(&two_groups, 3, (char **)typo, err, sizeof err) == -1 && strstr(err, "did you mean --friction?"),
          "%s", err);

    // --help lists the first group, then the second, in one column
    char text[4096];
    help_of(&two_groups, text, sizeof text);
    const char *seed = strstr(text, "--seed N"), *config = strstr(text, "--config FILE");
    const char *substeps = strstr(text, "--substeps K"), *centered = strstr(text, "--[no-]centered");
    CHECK(seed && config && substeps && centered && seed < config && config < substeps && substeps < centered,
          "order:\n%s", text);

    // the resolved config holds both groups and reads back
    char path[512];
    snprintf(path, sizeof path, "%s/groups.cfg", test_tmpdir());
    CHECK(args_write_config(&two_groups, path, NULL, err, sizeof err) == 0, "%s", err);
    reset();
    g_substeps = 0, g_friction = 0, g_centered = 0;
    CHECK(args_load_config(&two_groups, path, err, sizeof err) == 0, "%s", err);
    CHECK(v_seed == 9 && g_friction == 0.5 && g_substeps == 4 && g_centered == 1, "round trip over both groups");
    // a key of the second group is unknown to the first alone, with its line
    CHECK(args_load_config(&spec, path, err, sizeof err) == -1 && strstr(err, path) && strstr(err, "unknown key 'substeps'"),
          "%s", err);
}

TEST(name_declared_twice_across_groups) {
    // a group that declares --seed again: every entry point refuses the spec with a message naming
    // the option and both groups
    static int seed2;
    static const args_opt clash[] = {
        {"jitter", ARG_DOUBLE, &g_friction, "start-state noise", NULL, "X"},
        {"seed", ARG_INT, &seed2, "another seed", NULL, NULL},
        {0},
    };
    static const args_spec bad = {"pwm clash [options]", NULL, {opts, more_opts, clash}};
    char err[256] = "";
    CHECK(args_check(&bad, err, sizeof err) == -1, "the spec was accepted");
    CHECK(strstr(err, "--seed is declared twice, in option groups 1 and 3 of 'pwm clash [options]'"), "%s", err);
    const char *words[] = {"test", "--seed", "2", NULL};
    err[0] = 0;
    CHECK(args_parse(&bad, 3, (char **)words, err, sizeof err) == -1 && strstr(err, "declared twice"), "%s", err);
    const char *help[] = {"test", "--help", NULL};
    err[0] = 0;
    CHECK(args_parse(&bad, 2, (char **)help, err, sizeof err) == -1 && strstr(err, "declared twice"),
          "--help of a bad spec: %s", err);
    char path[512];
    snprintf(path, sizeof path, "%s/clash.cfg", test_tmpdir());
    CHECK(args_write_config(&bad, path, NULL, err, sizeof err) == -1 && strstr(err, "declared twice"), "%s", err);
    CHECK(args_load_config(&bad, path, err, sizeof err) == -1 && strstr(err, "declared twice"), "%s", err);
    // within one group too
    static const args_opt twice[] = {
        {"seed", ARG_INT, &seed2, "a seed", NULL, NULL},
        {"seed", ARG_INT, &seed2, "a seed", NULL, NULL},
        {0},
    };
    static const args_spec bad1 = {"pwm twice", NULL, {twice}};
    CHECK(args_check(&bad1, err, sizeof err) == -1 && strstr(err, "--seed is declared twice, in option groups 1 and 1"),
          "%s", err);
    CHECK(args_check(&two_groups, err, sizeof err) == 0, "a good spec refused: %s", err);
}

TEST(config_value_reads_one_key) {
    // the one config parser, asked for one key before any table exists
    char buf[64], err[256];
    const char *path = scratch_file("value.cfg", "# a run\nseed = 3\nenv = \"half cheetah\"  # quoted\n"
                                                 "preset=paper\nunknown-key = anything\n");
    CHECK(args_config_value(path, "env", buf, sizeof buf, err, sizeof err) == 1 && !strcmp(buf, "half cheetah"), "env '%s'",
          buf);
    CHECK(args_config_value(path, "preset", buf, sizeof buf, err, sizeof err) == 1 && !strcmp(buf, "paper"),
          "preset '%s'", buf);
    CHECK(args_config_value(path, "threads", buf, sizeof buf, err, sizeof err) == 0, "a key the file lacks");
    // malformed lines are errors naming the file and line, whichever key is asked for
    path = scratch_file("value_bad.cfg", "env = ant\nthis line has no equals sign\n");
    CHECK(args_config_value(path, "env", buf, sizeof buf, err, sizeof err) == -1 && strstr(err, path) &&
              strstr(err, ":2: expected 'key = value'"), "%s", err);
    path = scratch_file("value_twice.cfg", "env = ant\nenv = hopper\n");
    CHECK(args_config_value(path, "env", buf, sizeof buf, err, sizeof err) == -1 &&
              strstr(err, ":2: 'env' is already set on line 1"), "%s", err);
    CHECK(args_config_value("/nonexistent/c.cfg", "env", buf, sizeof buf, err, sizeof err) == -1 &&
              strstr(err, "/nonexistent/c.cfg"), "%s", err);
}

TEST(resume_notes_the_changed_options) {
    // a run's config, then a resumed invocation that changes two options: both are appended as
    // comments with the commit; loading the file still gives the run's own values
    reset();
    char path[1100], err[256];
    snprintf(path, sizeof path, "%s/config.txt", test_tmpdir());
    CHECK(args_write_config(&spec, path, "git commit abc123", err, sizeof err) == 0, "%s", err);
    v_seed = 7, v_render = 1;
    CHECK(args_note_resume(&spec, path, "def456", NULL, err, sizeof err) == 0, "%s", err);
    FILE *f = nn_fopen(path, "r");
    char text[4096];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    CHECK(strstr(text, "\n# resumed with git commit def456\n#   with seed = 7\n#   with render = true\n"),
          "resume lines missing:\n%s", text);
    CHECK(!strstr(text, "with steps") && !strstr(text, "with env"), "unchanged options listed:\n%s", text);
    reset();
    CHECK(args_load_config(&spec, path, err, sizeof err) == 0, "%s", err);
    CHECK(v_seed == 1 && v_render == 0, "the notes changed the run's config: seed %d render %d", v_seed, v_render);
    // a second resume with nothing changed records only that it happened
    CHECK(args_note_resume(&spec, path, "fed789", NULL, err, sizeof err) == 0, "%s", err);
    f = nn_fopen(path, "r");
    n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    const char *last = strstr(text, "# resumed with git commit fed789\n");
    CHECK(last && !last[strlen("# resumed with git commit fed789\n")], "second resume:\n%s", text);
    CHECK(args_note_resume(&spec, "/nonexistent/dir/config.txt", "x", NULL, err, sizeof err) == -1 &&
              strstr(err, "/nonexistent/dir/config.txt"), "%s", err);
}

const test_case args_tests[] = {
    {"parses_each_type", parses_each_type},
    {"equals_form", equals_form},
    {"flags", flags},
    {"help_returns_1", help_returns_1},
    {"help_text", help_text},
    {"unknown_option_suggests", unknown_option_suggests},
    {"bad_numbers_rejected", bad_numbers_rejected},
    {"choices", choices},
    {"lists", lists},
    {"positional_rejected", positional_rejected},
    {"config_file_and_override", config_file_and_override},
    {"config_errors", config_errors},
    {"groups_combine", groups_combine},
    {"name_declared_twice_across_groups", name_declared_twice_across_groups},
    {"config_value_reads_one_key", config_value_reads_one_key},
    {"write_load_round_trip", write_load_round_trip},
    {"resume_notes_the_changed_options", resume_notes_the_changed_options},
    {0},
};
