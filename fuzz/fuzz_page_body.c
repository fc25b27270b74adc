/*
 * fuzz_page_body.c - libFuzzer target for vg_page_body and vg_page_mail,
 * which turn a page's fields (a rule's summary, sensor and label names,
 * anything a device or a user named) into what leaves vigil.
 *
 * The input is split at NUL bytes into the page's strings; the first two
 * bytes choose the format and the event, and the labels are raw bytes set
 * without jansson's UTF-8 check. Traps when page.h's promises break: a
 * webhook body is always JSON that jansson parses (so valid UTF-8), a text
 * body is valid UTF-8, and an email's header section is CRLF lines of at
 * most 998 bytes, each a header vigil writes or a folded continuation, so
 * no field can add a header (Bcc:) or end the headers early.
 */
#include <stddef.h>
#include <stdint.h>

#include "core/utf8.h"
#include "page/page_int.h"

enum { N_FIELDS = 14 };

static void require(int ok)
{
    if (!ok)
        __builtin_trap();
}

static void check_json(const vg_buf_t *b)
{
    json_t *v = json_loadb((const char *)b->data, b->len, 0, NULL);
    require(v != NULL && json_is_object(v));
    json_decref(v);
}

static int known_header(const char *line)
{
    static const char *const names[] = {
        "From: ",          "To: ",           "Subject: ",      "Date: ",
        "Message-ID: <",   "MIME-Version: ", "Content-Type: ", "Content-Transfer-Encoding: ",
        "Auto-Submitted: "};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strncmp(line, names[i], strlen(names[i])) == 0)
            return 1;
    return line[0] == ' '; /* a folded encoded word */
}

static void check_mail(const vg_buf_t *b)
{
    const char *msg = (const char *)b->data, *end = strstr(msg, "\r\n\r\n");
    require(end != NULL);
    size_t n_subject = 0;
    for (const char *line = msg; line <= end;) {
        const char *eol = strstr(line, "\r\n");
        require(eol != NULL && eol - line <= 998);
        for (const char *c = line; c < eol; c++)
            require(*c != '\r' && *c != '\n' && *c != '\0');
        require(known_header(line));
        n_subject += strncmp(line, "Subject: ", 9) == 0;
        line = eol + 2;
    }
    require(n_subject == 1);
    for (const char *c = end + 4; *c; c++) /* body: CRLF line ends only */
        require(*c != '\n' || c[-1] == '\r');
}

static json_t *raw_labels(const char *names, const char *values)
{
    json_t *labels = json_object();
    json_object_set_new_nocheck(labels, names, json_string_nocheck(values));
    json_object_set_new_nocheck(labels, values, json_integer(7));
    return labels;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    char *copy = malloc(size - 2 + 1);
    memcpy(copy, data + 2, size - 2);
    copy[size - 2] = '\0';
    const char *f[N_FIELDS];
    const char *at = copy, *stop = copy + size - 2;
    for (int i = 0; i < N_FIELDS; i++) {
        f[i] = at < stop ? at : NULL; /* fields past the input are absent */
        at += at < stop ? strlen(at) + 1 : 0;
    }
    json_t *labels = raw_labels(f[12] ? f[12] : "", f[13] ? f[13] : "");
    struct vg_page pg = {.key = f[0],
                         .event = (enum vg_page_event)(data[1] % 4),
                         .incident = f[1],
                         .dedup = f[2],
                         .summary = f[3],
                         .severity = f[4],
                         .site = f[5],
                         .zone = f[6],
                         .labels = labels,
                         .ack_url = f[7],
                         .details = f[8],
                         .recipient = f[9],
                         .routing_key = f[10],
                         .to = f[11],
                         .time_ms = (int64_t)data[0] * 86400000LL * 1000};
    vg_buf_t b = VG_BUF_INIT;
    pg.format = (enum vg_page_format)(data[0] % 3);
    vg_page_body(&pg, &b);
    check_json(&b);
    vg_buf_reset(&b);
    pg.channel = VG_PAGE_EXEC;
    vg_page_body(&pg, &b);
    require(vg_utf8_check((const char *)b.data, b.len) == b.len);
    vg_buf_reset(&b);
    pg.channel = VG_PAGE_EMAIL;
    vg_page_mail(&pg, f[12] ? f[12] : "vigil@example.org", (int64_t)data[1] << 36, &b);
    check_mail(&b);
    vg_buf_release(&b);
    json_decref(labels);
    free(copy);
    return 0;
}
