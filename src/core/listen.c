/*
 * listen.c - evhttp bind with a short retry while the port is still held.
 *
 * Used at start only, before the event loop runs: it may sleep. Must never
 * retry anything but EADDRINUSE (a bad address or a privileged port does
 * not get better by waiting).
 */
#include "core/listen.h"

#include <event2/http.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/netaddr.h"

#define BIND_TRIES    40
#define BIND_RETRY_US 50000

static uint16_t bound_port(evutil_socket_t fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int vg_http_listen(struct evhttp *http, const char *addr, uint16_t *port, char *err,
                   size_t errlen)
{
    char host[256];
    uint16_t want;
    if (vg_addr_split(addr, host, sizeof host, &want))
        return vg_err(err, errlen, -EINVAL, "--listen '%s' is not HOST:PORT", addr);
    struct evhttp_bound_socket *bound;
    for (int tries = 1;; tries++) {
        errno = 0; /* a failed name lookup leaves it alone */
        if ((bound = evhttp_bind_socket_with_handle(http, host, want)))
            break;
        int e = errno ? errno : EADDRNOTAVAIL;
        if (e != EADDRINUSE || tries == BIND_TRIES)
            return vg_err(err, errlen, -e, "cannot listen on '%s': %s", addr, strerror(e));
        usleep(BIND_RETRY_US);
    }
    evutil_socket_t fd = evhttp_bound_socket_get_fd(bound);
    vg_tcp_nodelay(fd); /* answers go out at once */
    if (port)
        *port = bound_port(fd);
    return 0;
}
