/*
 * page_mail.c - the RFC 5322 message of an email page: From, To, Subject,
 * Date, Message-ID and a plain-text UTF-8 body with CRLF line ends.
 *
 * A header must never be ended by what a page holds: every header value
 * has its control bytes replaced by spaces, a Subject with non-ASCII text
 * is an RFC 2047 encoded word, and body lines are cut below RFC 5322's
 * 998 bytes. The Message-ID is derived from the page's key, so the copy
 * sent again after a failover is recognisably the same message. libcurl
 * does the SMTP dot-stuffing.
 */
#include "page/page_int.h"

#include <sodium.h>
#include <time.h>

#include "core/text.h"
#include "core/utf8.h"

#define LINE_MAX_BYTES  900 /* body lines are cut here, well below 998 */
#define SUBJECT_SUMMARY 200 /* bytes of the summary in the Subject */
#define ENCODED_CHUNK   45  /* bytes per encoded word: 60 base64 chars */

/* Value for a header: valid UTF-8, every control byte a space. */
static char *header_value(const char *s, size_t cap)
{
    char *out = vg_page_clean(s ? s : "", cap, VG_TEXT_KEEP_NEWLINES);
    for (char *c = out; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
    return out;
}

static int is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return 0;
    return 1;
}

/* RFC 2047 "B" encoded words, each holding whole UTF-8 characters,
 * folded onto continuation lines. */
static void add_encoded(vg_buf_t *out, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t len = strlen(text), i = 0;
    while (i < len) {
        size_t n = 0;
        while (i + n < len) {
            size_t seq = vg_utf8_seq(s + i + n, len - i - n);
            if (!seq || n + seq > ENCODED_CHUNK)
                break;
            n += seq;
        }
        if (!n)
            n = 1; /* never happens on cleaned text; keeps the loop finite */
        char b64[2 * ENCODED_CHUNK + 8];
        sodium_bin2base64(b64, sizeof b64, s + i, n, sodium_base64_VARIANT_ORIGINAL);
        vg_buf_printf(out, "%s=?UTF-8?B?%s?=", i ? "\r\n " : "", b64);
        i += n;
    }
}

static void add_subject(vg_buf_t *out, const struct vg_page *pg)
{
    vg_buf_t words = VG_BUF_INIT;
    vg_buf_adds(&words, "[vigil] ");
    vg_page_headline(pg, SUBJECT_SUMMARY, &words);
    char *subject = header_value((const char *)words.data, words.len + 4); /* no cut */
    vg_buf_adds(out, "Subject: ");
    if (is_ascii(subject))
        vg_buf_adds(out, subject);
    else
        add_encoded(out, subject);
    vg_buf_adds(out, "\r\n");
    free(subject);
    vg_buf_release(&words);
}

/* RFC 5322 date-time in UTC, names spelt out (no locale). */
static void add_date(vg_buf_t *out, int64_t ms)
{
    static const char days[][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    time_t secs = (time_t)((ms < 0 || ms > 253402300799999LL ? 0 : ms) / 1000);
    gmtime_r(&secs, &tm);
    vg_buf_printf(out, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday % 7],
                  tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                  tm.tm_sec);
}

/* <key@domain>: the key's bytes outside dot-atom text as =XX */
static void add_message_id(vg_buf_t *out, const char *key, const char *from)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *at = from ? strrchr(from, '@') : NULL;
    char *domain = header_value(at && at[1] ? at + 1 : "vigil.invalid", VG_PAGE_FIELD_MAX);
    const unsigned char *k = (const unsigned char *)(key ? key : "");
    vg_buf_adds(out, "Message-ID: <");
    for (const unsigned char *c = k; *c && c - k < VG_PAGE_KEY_MAX; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            strchr(".-_+", *c))
            vg_buf_add(out, c, 1);
        else
            vg_buf_printf(out, "=%c%c", hex[*c >> 4], hex[*c & 15]);
    }
    for (char *c = domain; *c; c++)
        if (*c == ' ' || *c == '<' || *c == '>')
            *c = '_';
    vg_buf_printf(out, "@%s>\r\n", domain);
    free(domain);
}

/* text with '\n' ends as CRLF lines of at most LINE_MAX_BYTES bytes,
 * cut between characters */
static void add_body(vg_buf_t *out, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t len = strlen(text), col = 0;
    for (size_t i = 0; i < len;) {
        if (s[i] == '\n') {
            vg_buf_adds(out, "\r\n");
            col = 0, i++;
            continue;
        }
        size_t n = vg_utf8_seq(s + i, len - i);
        n = n ? n : 1;
        if (col + n > LINE_MAX_BYTES) {
            vg_buf_adds(out, "\r\n");
            col = 0;
        }
        vg_buf_add(out, s + i, n);
        col += n, i += n;
    }
    if (col)
        vg_buf_adds(out, "\r\n");
}

void vg_page_mail(const struct vg_page *page, const char *from, int64_t date_ms, vg_buf_t *out)
{
    char *from_h = header_value(from, VG_PAGE_FIELD_MAX);
    char *to_h = header_value(page->to, VG_PAGE_FIELD_MAX);
    vg_buf_printf(out, "From: vigil <%s>\r\nTo: <%s>\r\n", from_h, to_h);
    add_subject(out, page);
    add_date(out, date_ms);
    add_message_id(out, page->key, from);
    vg_buf_adds(out, "MIME-Version: 1.0\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "Content-Transfer-Encoding: 8bit\r\n"
                     "Auto-Submitted: auto-generated\r\n\r\n");
    vg_buf_t text = VG_BUF_INIT;
    struct vg_page as_text = *page;
    as_text.channel = VG_PAGE_EMAIL;
    vg_page_body(&as_text, &text);
    add_body(out, (const char *)text.data);
    vg_buf_release(&text);
    free(from_h);
    free(to_h);
}
