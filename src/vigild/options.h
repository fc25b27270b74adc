/*
 * options.h - vigild's subcommands declare their options as one table each
 * (name, kind, where the value goes, help line); a single parser fills the
 * values from argv and the same table prints the option list of --help, so
 * what --help says and what the parser takes cannot drift apart (the CLI's
 * cli/opts.c works the same way).
 *
 * Parsing is GNU getopt_long underneath: options may come before or after
 * the operands, --name=value and unique abbreviations of long names work,
 * and "--" ends the options. Every refusal is "vigild: <what is wrong>,
 * naming the flag", then the usage line, on stderr, and exit status 2.
 */
#ifndef VG_VIGILD_OPTIONS_H
#define VG_VIGILD_OPTIONS_H

#include "core/vg.h"

enum vg_opt_kind {
    VG_OPTK_FLAG,      /* no value: sets an int to 1 */
    VG_OPTK_STRING,    /* a const char *, borrowed from argv */
    VG_OPTK_NUMBER,    /* a decimal uint64_t within [min, max] */
    VG_OPTK_LOG_LEVEL, /* debug, info, warn or error: sets vigild's log level */
    VG_OPTK_FORMAT,    /* one word of formats: stores that (static) word */
};

#define VG_OPT_REQUIRED 0x1u /* a STRING the command cannot run without */

/* One row of a subcommand's option table. Build rows with the VG_OPT_*
 * macros below, which check the type of the value pointer. */
struct vg_opt_def {
    char letter;      /* short option, or 0 for long only */
    const char *name; /* long option without "--"; NULL ends the table */
    enum vg_opt_kind kind;
    const char *arg;            /* the value's name in help ("DIR"); NULL for flags, formats */
    void *value;                /* int *, const char **, uint64_t *, or NULL (log level) */
    uint64_t min, max;          /* NUMBER: accepted range, shown in help */
    const char *const *formats; /* FORMAT: the accepted words, NULL-terminated */
    unsigned flags;             /* VG_OPT_REQUIRED */
    const char *dflt;           /* default shown in help, or NULL */
    const char *help;           /* one sentence, wrapped by the help printer */
};

/* A subcommand as its --help shows it. */
struct vg_opt_cmd {
    const char *name;  /* "init" */
    const char *usage; /* synopsis after "usage: " (further lines indented by hand) */
    const char *about; /* paragraphs between the usage line and the options */
    const char *notes; /* paragraphs after the options, or NULL */
    const struct vg_opt_def *opts;
    int n_operands;      /* operands taken: exactly this many (0 or 1) */
    const char *operand; /* their name in messages ("DATA"), when n_operands */
};

/* The pointer p, checked to be a type * (a mismatch is a compile error). */
#define VG_OPT_PTR_(type, p) ((void *)(1 ? (p) : (type *)0))

/* Row makers, arguments in the order of the struct: letter (0: long only),
 * name, arg, value pointer, then what the kind needs, default, help. */
// clang-format off
#define VG_OPT_FLAG(l, n, p, h)                                                                \
    {.letter = (l), .name = (n), .kind = VG_OPTK_FLAG, .value = VG_OPT_PTR_(int, p), .help = (h)}
#define VG_OPT_STRING(l, n, a, p, f, d, h)                                                     \
    {.letter = (l), .name = (n), .kind = VG_OPTK_STRING, .arg = (a),                           \
     .value = VG_OPT_PTR_(const char *, p), .flags = (f), .dflt = (d), .help = (h)}
#define VG_OPT_NUMBER(n, a, p, lo, hi, d, h)                                                   \
    {.name = (n), .kind = VG_OPTK_NUMBER, .arg = (a), .value = VG_OPT_PTR_(uint64_t, p),       \
     .min = (lo), .max = (hi), .dflt = (d), .help = (h)}
#define VG_OPT_FORMAT(l, n, p, fmts, d, h)                                                     \
    {.letter = (l), .name = (n), .kind = VG_OPTK_FORMAT,                                       \
     .value = VG_OPT_PTR_(const char *, p), .formats = (fmts), .dflt = (d), .help = (h)}
#define VG_OPT_LOG_LEVEL                                                                       \
    {.name = "log-level", .kind = VG_OPTK_LOG_LEVEL, .arg = "LEVEL", .dflt = "info",           \
     .help = "debug, info, warn or error"}
#define VG_OPT_END {.name = NULL}
// clang-format on

/* vg_opt_parse's answer when the command should go on. */
#define VG_OPT_PROCEED (-1)

/*
 * Parses argv (argv[0] is the subcommand's name) against cmd->opts plus
 * -h/--help, storing each value where its row points (the last of a
 * repeated option wins); values not given keep what the caller set.
 * Checks VG_OPT_REQUIRED rows and the number of operands. Returns
 * VG_OPT_PROCEED with argv[*first..argc) the operands; 0 after printing
 * --help to stdout; 2 after a usage error, already printed.
 */
int vg_opt_parse(const struct vg_opt_cmd *cmd, int argc, char **argv, int *first);

/* Prints cmd's --help: usage, about, the option list made from the table,
 * notes. */
void vg_opt_help(const struct vg_opt_cmd *cmd, FILE *out);

/* For checks across options that the table cannot say (--data or --node):
 * prints "vigild: <message>" and cmd's usage line to stderr; returns 2. */
int vg_opt_usage_error(const struct vg_opt_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
