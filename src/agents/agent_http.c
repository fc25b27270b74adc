/*
 * agent_http.c - a service's HTTP health check (agents.h): one GET with a
 * deadline, no redirect followed, the body discarded. Blocking (libcurl's
 * easy interface); the agents' worker thread runs it. The URL may hold
 * credentials, so no message names it.
 */
#include "agents/agents.h"

#include <curl/curl.h>

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

int vg_agent_http_check(const char *url, int timeout_s, char *msg, size_t msglen)
{
    CURL *easy = curl_easy_init();
    if (!easy)
        return vg_err(msg, msglen, -ENOMEM, "cannot make an HTTP request");
    char curl_err[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)timeout_s * 1000);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "vigil-agent/" VG_VERSION);
    CURLcode res = curl_easy_perform(easy);
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(easy);
    if (res != CURLE_OK)
        return vg_err(msg, msglen, -EHOSTUNREACH, "no answer: %s",
                      curl_easy_strerror(res)); /* curl_err may quote the URL */
    if (status < 200 || status > 299)
        return vg_err(msg, msglen, -EIO, "HTTP %ld", status);
    snprintf(msg, msglen, "HTTP %ld", status);
    return 0;
}
