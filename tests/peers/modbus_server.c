/*
 * modbus_server.c - peer_modbus_server, a Modbus TCP server (libmodbus) the
 * modbus driver's black-box test reads from, including on purpose badly.
 *
 *   peer_modbus_server PORT [OPTION...]
 *     --set TABLE:REG=N       a 16-bit register (N may be negative), or a coil /
 *                             discrete input (N 0 or 1)
 *     --u32|--s32|--f32|--u64 TABLE:REG=V   a 32/64-bit value over 2/4 registers
 *     --word-order big|little for the 32/64-bit values that follow (default big:
 *                             the first register holds the high word)
 *     --short TABLE:REG       a read covering REG is answered with one register
 *                             (or byte of bits) fewer than asked
 *     --truncate TABLE:REG    a read covering REG gets a reply cut off in the
 *                             middle, then the connection is closed
 *     --exception TABLE:REG=CODE  a read covering REG gets exception CODE
 *     --unit N                answer only unit N (others: exception 11)
 *     --file PATH             more options, one a line without the "--"
 *                             ("set holding:100=235"); '#' starts a comment
 * TABLE is holding, input, coil or discrete; REG the 0-based address. A
 * read that covers a register nobody set gets "illegal data address".
 *
 * Serves one connection at a time, any number one after another, until
 * SIGTERM (default action). Prints "listening" once ready, then one line per
 * request ("unit 1 fc 3 start 100 count 2"), so tests can count requests.
 * Test code: exits 2 on bad arguments, never writes anything but replies.
 */
#include <math.h>
#include <modbus/modbus.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/vg.h"

enum { T_COIL, T_DISCRETE, T_HOLDING, T_INPUT, N_TABLES };
enum { MARK_SET = 1, MARK_SHORT = 2, MARK_TRUNCATE = 4, MARK_EXCEPTION = 8 };

static const char *const table_names[] = {"coil", "discrete", "holding", "input"};

struct server {
    modbus_mapping_t *map;
    uint8_t mark[N_TABLES][65536];
    uint8_t exception[N_TABLES][65536];
    int little;
    int only_unit; /* -1: any */
};

static _Noreturn void usage(const char *why)
{
    fprintf(stderr, "peer_modbus_server: %s\n", why);
    exit(2);
}

/* "holding:100" (and "=VALUE" after it, returned in *value if wanted). */
static void parse_target(const char *arg, int *table, uint16_t *reg, const char **value)
{
    const char *colon = strchr(arg, ':');
    *table = -1;
    for (int t = 0; colon && t < N_TABLES; t++)
        if (strlen(table_names[t]) == (size_t)(colon - arg) &&
            !strncmp(arg, table_names[t], (size_t)(colon - arg)))
            *table = t;
    char *end;
    long r = colon ? strtol(colon + 1, &end, 10) : -1;
    if (*table < 0 || r < 0 || r > 65535 || end == colon + 1 ||
        (value ? *end != '=' : *end != '\0')) {
        fprintf(stderr, "peer_modbus_server: bad target '%s'\n", arg);
        exit(2);
    }
    *reg = (uint16_t)r;
    if (value)
        *value = end + 1;
}

static uint16_t *registers(struct server *s, int table)
{
    return table == T_HOLDING ? s->map->tab_registers : s->map->tab_input_registers;
}

static void set_words(struct server *s, int table, uint16_t reg, unsigned n_words, uint64_t v)
{
    if (table == T_COIL || table == T_DISCRETE || reg + n_words > 65536)
        usage("multi-register values go in holding or input registers, below 65536");
    for (unsigned i = 0; i < n_words; i++) {
        unsigned shift = 16 * (n_words - 1 - i); /* big: high word first */
        unsigned at = s->little ? n_words - 1 - i : i;
        registers(s, table)[reg + at] = (uint16_t)(v >> shift);
        s->mark[table][reg + at] |= MARK_SET;
    }
}

static void set_u16(struct server *s, const char *arg)
{
    int table;
    uint16_t reg;
    const char *value;
    parse_target(arg, &table, &reg, &value);
    long n = strtol(value, NULL, 0);
    if (table == T_COIL || table == T_DISCRETE)
        (table == T_COIL ? s->map->tab_bits : s->map->tab_input_bits)[reg] = n != 0;
    else
        registers(s, table)[reg] = (uint16_t)n;
    s->mark[table][reg] |= MARK_SET;
}

static void set_wide(struct server *s, const char *kind, const char *arg)
{
    int table;
    uint16_t reg;
    const char *value;
    parse_target(arg, &table, &reg, &value);
    if (!strcmp(kind, "f32")) {
        float f = strcmp(value, "nan") == 0   ? NAN
                  : strcmp(value, "inf") == 0 ? INFINITY
                                              : strtof(value, NULL);
        uint32_t bits;
        memcpy(&bits, &f, sizeof bits);
        set_words(s, table, reg, 2, bits);
    } else if (!strcmp(kind, "u64")) {
        set_words(s, table, reg, 4, strtoull(value, NULL, 0));
    } else {
        set_words(s, table, reg, 2, (uint32_t)strtoll(value, NULL, 0));
    }
}

static void mark(struct server *s, const char *arg, int flag)
{
    int table;
    uint16_t reg;
    const char *value;
    parse_target(arg, &table, &reg, flag == MARK_EXCEPTION ? &value : NULL);
    s->mark[table][reg] |= (uint8_t)flag;
    if (flag == MARK_EXCEPTION)
        s->exception[table][reg] = (uint8_t)atoi(value);
}

static void read_file(struct server *s, const char *path);

/* One option and its argument; returns 0 if name is not an option. */
static int option(struct server *s, const char *name, const char *arg)
{
    if (!strcmp(name, "set"))
        set_u16(s, arg);
    else if (!strcmp(name, "u32") || !strcmp(name, "s32") || !strcmp(name, "f32") ||
             !strcmp(name, "u64"))
        set_wide(s, name, arg);
    else if (!strcmp(name, "word-order"))
        s->little = !strcmp(arg, "little");
    else if (!strcmp(name, "short"))
        mark(s, arg, MARK_SHORT);
    else if (!strcmp(name, "truncate"))
        mark(s, arg, MARK_TRUNCATE);
    else if (!strcmp(name, "exception"))
        mark(s, arg, MARK_EXCEPTION);
    else if (!strcmp(name, "unit"))
        s->only_unit = atoi(arg);
    else if (!strcmp(name, "file"))
        read_file(s, arg);
    else
        return 0;
    return 1;
}

static void read_file(struct server *s, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        usage("cannot open the --file");
    char line[256], name[32], arg[200];
    while (fgets(line, sizeof line, f)) {
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        int n = sscanf(line, "%31s %199s", name, arg);
        if (n == 2 && !option(s, name, arg))
            usage("unknown option in --file");
    }
    fclose(f);
}

/* The flags of every register a request covers, or-ed. */
static uint8_t covered(struct server *s, int table, unsigned start, unsigned count,
                       uint8_t *exc)
{
    uint8_t all = 0, unset = 0;
    for (unsigned r = start; r < start + count && r < 65536; r++) {
        all |= s->mark[table][r];
        unset |= !(s->mark[table][r] & MARK_SET);
        if (s->mark[table][r] & MARK_EXCEPTION)
            *exc = s->exception[table][r];
    }
    return unset ? (uint8_t)(all | 0x80) : all;
}

/* A reply to a read with n_bytes of data, or cut off after keep bytes. */
static void send_reply(modbus_t *ctx, struct server *s, const uint8_t *q, int table,
                       unsigned start, unsigned n_bytes, size_t keep)
{
    uint8_t out[MODBUS_TCP_MAX_ADU_LENGTH];
    size_t len = 9 + n_bytes;
    memcpy(out, q, 4); /* transaction and protocol id */
    out[4] = (uint8_t)((len - 6) >> 8);
    out[5] = (uint8_t)(len - 6);
    out[6] = q[6];
    out[7] = q[7];
    out[8] = (uint8_t)n_bytes;
    for (unsigned i = 0; i < n_bytes; i++) {
        if (table == T_COIL || table == T_DISCRETE) {
            const uint8_t *bits = table == T_COIL ? s->map->tab_bits : s->map->tab_input_bits;
            uint8_t b = 0;
            for (unsigned k = 0; k < 8 && start + 8 * i + k < 65536; k++)
                b |= (uint8_t)(bits[start + 8 * i + k] << k);
            out[9 + i] = b;
        } else {
            uint16_t w = registers(s, table)[(start + i / 2) & 0xffff];
            out[9 + i] = (uint8_t)(i % 2 ? w : w >> 8);
        }
    }
    if (send(modbus_get_socket(ctx), out, keep < len ? keep : len, MSG_NOSIGNAL) < 0)
        perror("peer_modbus_server: send");
}

/* Answers one request; -1 when the connection is to be closed. */
static int serve(modbus_t *ctx, struct server *s, const uint8_t *q, int n)
{
    static const int fc_table[] = {-1, T_COIL, T_DISCRETE, T_HOLDING, T_INPUT};
    uint8_t unit = q[6], fc = q[7];
    unsigned start = (unsigned)(q[8] << 8 | q[9]), count = (unsigned)(q[10] << 8 | q[11]);
    printf("unit %u fc %u start %u count %u\n", unit, fc, start, count);
    fflush(stdout);
    int table = fc >= 1 && fc <= 4 ? fc_table[fc] : -1;
    int bits = table == T_COIL || table == T_DISCRETE;
    if (s->only_unit >= 0 && unit != s->only_unit)
        return modbus_reply_exception(ctx, q, MODBUS_EXCEPTION_GATEWAY_TARGET) < 0 ? -1 : 0;
    if (table < 0)
        return modbus_reply_exception(ctx, q, MODBUS_EXCEPTION_ILLEGAL_FUNCTION) < 0 ? -1 : 0;
    if (count == 0 || count > (bits ? 2000u : 125u))
        return modbus_reply_exception(ctx, q, MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE) < 0 ? -1 : 0;
    uint8_t exc = 0, flags = covered(s, table, start, count, &exc);
    unsigned n_bytes = bits ? (count + 7) / 8 : 2 * count;
    if (flags & MARK_EXCEPTION)
        return modbus_reply_exception(ctx, q, exc) < 0 ? -1 : 0;
    if (flags & 0x80)
        return modbus_reply_exception(ctx, q, MODBUS_EXCEPTION_ILLEGAL_DATA_ADDRESS) < 0 ? -1
                                                                                         : 0;
    if (flags & MARK_TRUNCATE) {
        send_reply(ctx, s, q, table, start, n_bytes, 9 + n_bytes / 2);
        return -1;
    }
    if (flags & MARK_SHORT) {
        send_reply(ctx, s, q, table, start, n_bytes - (bits ? 1 : 2), SIZE_MAX);
        return 0;
    }
    return modbus_reply(ctx, q, n, s->map) < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage("usage: peer_modbus_server PORT [--set TABLE:REG=N]... (see the source)");
    static struct server s;
    s.only_unit = -1;
    s.map = modbus_mapping_new(65536, 65536, 65536, 65536);
    if (!s.map)
        usage("out of memory");
    for (int i = 2; i < argc; i += 2)
        if (strncmp(argv[i], "--", 2) || i + 1 >= argc || !option(&s, argv[i] + 2, argv[i + 1]))
            usage("unknown option or missing argument");
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", atoi(argv[1]));
    int listen_fd = ctx ? modbus_tcp_listen(ctx, 4) : -1;
    if (listen_fd < 0) {
        fprintf(stderr, "peer_modbus_server: cannot listen on 127.0.0.1:%s: %s\n", argv[1],
                modbus_strerror(errno));
        return 1;
    }
    printf("listening\n");
    fflush(stdout);
    for (;;) {
        if (modbus_tcp_accept(ctx, &listen_fd) < 0)
            continue;
        uint8_t q[MODBUS_TCP_MAX_ADU_LENGTH];
        int n;
        while ((n = modbus_receive(ctx, q)) >= 0)
            if (n >= 12 && serve(ctx, &s, q, n) < 0)
                break;
        modbus_close(ctx);
    }
}
