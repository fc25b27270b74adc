/*
 * options.c - the one option parser of vigild's subcommands, and the
 * --help option list made from the same table (see options.h).
 *
 * Workload: a few dozen arguments once per process start. Must never store
 * a value that failed its check, nor print an error that does not name the
 * flag; messages are our own (opterr = 0) so each usage error has the same
 * shape and exit status 2.
 */
#include "vigild/options.h"

#include <getopt.h>

#include "core/say.h"

#define MAX_OPTS   40  /* rows of one table, --help excluded */
#define HELP_WIDTH 80  /* help lines stay below this many columns */
#define LABEL_MAX  22  /* a longer "--name ARG" gets its help on the next line */
#define ID_LONG    256 /* getopt ids: a letter, or ID_LONG + row index */

static int parse_log_level(const char *text)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < (int)VG_ARRAY_LEN(names); i++) {
        if (!strcmp(text, names[i])) {
            vg_say_set_level((enum vg_say_level)i);
            return 0;
        }
    }
    fprintf(stderr, "vigild: unknown log level '%s' (debug, info, warn, error)\n", text);
    return 2;
}

static int parse_number(const struct vg_opt_def *row, const char *text)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    /* digits only: strtoull would also take " 5", "+5" and "-1" (as a huge number) */
    if (*text < '0' || *text > '9' || *end || errno || v < row->min || v > row->max) {
        fprintf(stderr, "vigild: --%s '%s' is not a number from %llu to %llu\n", row->name,
                text, (unsigned long long)row->min, (unsigned long long)row->max);
        return 2;
    }
    *(uint64_t *)row->value = v;
    return 0;
}

/* "text|json": the words a FORMAT row takes, as help and messages show them. */
static void join_formats(const struct vg_opt_def *row, const char *sep, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; row->formats[i] && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? sep : "", row->formats[i]);
}

static int parse_format(const struct vg_opt_def *row, const char *text)
{
    for (size_t i = 0; row->formats[i]; i++) {
        if (!strcmp(text, row->formats[i])) {
            *(const char **)row->value = row->formats[i];
            return 0;
        }
    }
    char words[256];
    join_formats(row, ", ", words, sizeof words);
    fprintf(stderr, "vigild: --%s '%s' is not one of: %s\n", row->name, text, words);
    return 2;
}

/* Stores the value of row; 0, or 2 with the reason printed. */
static int store(const struct vg_opt_def *row, const char *text)
{
    switch (row->kind) {
    case VG_OPTK_FLAG:
        *(int *)row->value = 1;
        return 0;
    case VG_OPTK_STRING:
        *(const char **)row->value = text;
        return 0;
    case VG_OPTK_NUMBER:
        return parse_number(row, text);
    case VG_OPTK_LOG_LEVEL:
        return parse_log_level(text);
    case VG_OPTK_FORMAT:
        return parse_format(row, text);
    }
    VG_BUG("option '--%s' has kind %d", row->name, (int)row->kind);
}

static void print_usage_line(const struct vg_opt_cmd *cmd, FILE *out)
{
    fprintf(out, "usage: %s\nTry 'vigild %s --help'.\n", cmd->usage, cmd->name);
}

int vg_opt_usage_error(const struct vg_opt_cmd *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("vigild: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    print_usage_line(cmd, stderr);
    return 2;
}

/* --- the getopt tables ------------------------------------------------- */

static const struct vg_opt_def help_row = VG_OPT_FLAG('h', "help", NULL, "show this help");

static size_t n_rows(const struct vg_opt_def *opts)
{
    size_t n = 0;
    while (opts[n].name)
        n++;
    return n;
}

static int takes_value(const struct vg_opt_def *row)
{
    return row->kind != VG_OPTK_FLAG;
}

/* Fills longs (n_rows + 2 entries) and shorts (":" and the letters). */
static void build_tables(const struct vg_opt_def *opts, struct option *longs, char *shorts,
                         size_t cap)
{
    size_t n = n_rows(opts), len = 0;
    if (n > MAX_OPTS)
        VG_BUG("%zu options for one command", n);
    shorts[len++] = ':'; /* a missing value is told apart from an unknown option */
    for (size_t i = 0; i < n; i++) {
        const struct vg_opt_def *row = &opts[i];
        if (row->letter == 'h' || !strcmp(row->name, "help"))
            VG_BUG("option '--%s' takes the place of --help", row->name);
        int id = row->letter ? row->letter : ID_LONG + (int)i;
        longs[i] = (struct option){
            row->name, takes_value(row) ? required_argument : no_argument, NULL, id};
        if (row->letter && len + 3 < cap) {
            shorts[len++] = row->letter;
            if (takes_value(row))
                shorts[len++] = ':';
        }
    }
    longs[n] = (struct option){"help", no_argument, NULL, 'h'};
    longs[n + 1] = (struct option){NULL, 0, NULL, 0};
    shorts[len++] = 'h';
    shorts[len] = '\0';
}

static const struct vg_opt_def *row_of(const struct vg_opt_def *opts, int id)
{
    if (id == 'h')
        return &help_row;
    if (id >= ID_LONG)
        return id - ID_LONG < (int)n_rows(opts) ? &opts[id - ID_LONG] : NULL;
    for (size_t i = 0; id > 0 && opts[i].name; i++)
        if (opts[i].letter == id)
            return &opts[i];
    return NULL;
}

/* "--max" matching several long names: says which, as getopt would not. */
static int ambiguous(const struct vg_opt_cmd *cmd, const char *arg)
{
    size_t len = strcspn(arg + 2, "="), n_match = 0;
    char names[512] = "";
    size_t used = 0;
    for (size_t i = 0; cmd->opts[i].name; i++) {
        if (len && !strncmp(cmd->opts[i].name, arg + 2, len) && used < sizeof names) {
            used += (size_t)snprintf(names + used, sizeof names - used, "%s--%s",
                                     n_match ? ", " : "", cmd->opts[i].name);
            n_match++;
        }
    }
    if (n_match < 2)
        return 0;
    return vg_opt_usage_error(cmd, "option '%.*s' is ambiguous: %s", (int)len + 2, arg, names);
}

static void arg_of(const struct vg_opt_def *row, char *out, size_t cap);

static int bad_option(const struct vg_opt_cmd *cmd, char **argv, int c)
{
    const struct vg_opt_def *row = row_of(cmd->opts, optopt);
    const char *arg = argv[optind - 1];
    if (c == ':' && row) {
        char value[256];
        arg_of(row, value, sizeof value);
        return vg_opt_usage_error(cmd, "option '--%s' needs a value (%s)", row->name, value);
    }
    if (row && !takes_value(row)) /* --mirror=yes */
        return vg_opt_usage_error(cmd, "option '--%s' takes no value", row->name);
    if (optopt > 0 && optopt < ID_LONG)
        return vg_opt_usage_error(cmd, "unknown option '-%c'", optopt);
    if (!strncmp(arg, "--", 2) && ambiguous(cmd, arg))
        return 2;
    return vg_opt_usage_error(cmd, "unknown option '%.*s'", (int)strcspn(arg, "="), arg);
}

/* After the options: what the table requires, and the operands. */
static int check_complete(const struct vg_opt_cmd *cmd, int argc, char **argv, int first)
{
    for (size_t i = 0; cmd->opts[i].name; i++) {
        const struct vg_opt_def *row = &cmd->opts[i];
        if ((row->flags & VG_OPT_REQUIRED) && row->kind == VG_OPTK_STRING &&
            !*(const char **)row->value)
            return vg_opt_usage_error(cmd, "--%s %s is required", row->name, row->arg);
    }
    int n = argc - first;
    if (n < cmd->n_operands)
        return vg_opt_usage_error(cmd, "missing %s", cmd->operand);
    if (n > cmd->n_operands)
        return vg_opt_usage_error(cmd, "unexpected argument '%s'",
                                  argv[first + cmd->n_operands]);
    return VG_OPT_PROCEED;
}

int vg_opt_parse(const struct vg_opt_cmd *cmd, int argc, char **argv, int *first)
{
    struct option longs[MAX_OPTS + 2];
    char shorts[2 * MAX_OPTS + 4];
    int c;
    build_tables(cmd->opts, longs, shorts, sizeof shorts);
    opterr = 0;
    optind = 0; /* glibc: start afresh */
    while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
        if (c == '?' || c == ':')
            return bad_option(cmd, argv, c);
        if (c == 'h') {
            vg_opt_help(cmd, stdout);
            return 0;
        }
        const struct vg_opt_def *row = row_of(cmd->opts, c);
        if (!row)
            VG_BUG("getopt returned %d, which no row of '%s' has", c, cmd->name);
        if (store(row, optarg)) {
            print_usage_line(cmd, stderr);
            return 2;
        }
    }
    *first = optind;
    return check_complete(cmd, argc, argv, optind);
}

/* --- --help -------------------------------------------------------------- */

/* Prints words of text from column at, wrapping to col below. */
static void print_wrapped(FILE *out, const char *text, size_t col, size_t at)
{
    size_t pos = at;
    int first = 1;
    for (const char *p = text; *p;) {
        p += strspn(p, " ");
        size_t n = strcspn(p, " ");
        if (!n)
            break;
        if (!first && pos + 1 + n >= HELP_WIDTH) {
            fprintf(out, "\n%*s", (int)col, "");
            pos = col;
        } else if (!first) {
            fputc(' ', out);
            pos++;
        }
        fwrite(p, 1, n, out);
        pos += n;
        p += n;
        first = 0;
    }
    fputc('\n', out);
}

/* The value's name: "DIR", "text|json", or "" for a flag. */
static void arg_of(const struct vg_opt_def *row, char *out, size_t cap)
{
    if (row->kind == VG_OPTK_FORMAT)
        join_formats(row, "|", out, cap);
    else
        snprintf(out, cap, "%s", row->arg ? row->arg : "");
}

/* "-o, --output text|json" or "--data DIR". */
static void label_of(const struct vg_opt_def *row, char *out, size_t cap)
{
    char arg[256];
    arg_of(row, arg, sizeof arg);
    char letter[8] = "";
    if (row->letter)
        snprintf(letter, sizeof letter, "-%c, ", row->letter);
    snprintf(out, cap, "%s--%s%s%s", letter, row->name, *arg ? " " : "", arg);
}

/* The help sentence with "(default X; MIN to MAX)" as the row says. */
static void text_of(const struct vg_opt_def *row, char *out, size_t cap)
{
    char range[64] = "";
    if (row->kind == VG_OPTK_NUMBER && row->max != UINT64_MAX)
        snprintf(range, sizeof range, "%llu to %llu", (unsigned long long)row->min,
                 (unsigned long long)row->max);
    if (row->dflt && *range)
        snprintf(out, cap, "%s (default %s; %s)", row->help, row->dflt, range);
    else if (row->dflt)
        snprintf(out, cap, "%s (default %s)", row->help, row->dflt);
    else if (*range)
        snprintf(out, cap, "%s (%s)", row->help, range);
    else
        snprintf(out, cap, "%s", row->help);
}

static void print_row(FILE *out, const struct vg_opt_def *row, size_t col)
{
    char label[320], text[1024];
    label_of(row, label, sizeof label);
    text_of(row, text, sizeof text);
    size_t at = 2 + strlen(label);
    fprintf(out, "  %s", label);
    if (at + 2 > col) {
        fprintf(out, "\n%*s", (int)col, "");
    } else {
        fprintf(out, "%*s", (int)(col - at), "");
    }
    print_wrapped(out, text, col, col);
}

void vg_opt_help(const struct vg_opt_cmd *cmd, FILE *out)
{
    char label[320];
    size_t widest = 0;
    for (size_t i = 0; cmd->opts[i].name; i++) {
        label_of(&cmd->opts[i], label, sizeof label);
        size_t len = strlen(label);
        if (len <= LABEL_MAX && len > widest)
            widest = len;
    }
    size_t col = 2 + widest + 2;
    fprintf(out, "usage: %s\n\n%s\noptions:\n", cmd->usage, cmd->about);
    for (size_t i = 0; cmd->opts[i].name; i++)
        print_row(out, &cmd->opts[i], col);
    print_row(out, &help_row, col);
    if (cmd->notes)
        fprintf(out, "\n%s", cmd->notes);
}
