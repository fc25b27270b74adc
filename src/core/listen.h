/*
 * listen.h - binds an evhttp server to its HOST:PORT setting, the one way
 * every vigil HTTP listener (the member's API, the witness) does it.
 */
#ifndef VG_LISTEN_H
#define VG_LISTEN_H

#include "core/vg.h"

struct evhttp;

/*
 * Binds http to addr (HOST:PORT, IPv6 hosts in brackets). A port still
 * held (EADDRINUSE: a predecessor just killed, its socket still closing) is
 * retried every 50 ms for about 2 s, so a restart by systemd does not fail.
 * Sets TCP_NODELAY on the listening socket (see vg_tcp_nodelay). *port, if
 * port is not NULL, gets the port bound: the kernel's choice for port 0.
 * 0, or -errno with "cannot listen on 'ADDR': reason" in err; the socket
 * belongs to http and is closed by evhttp_free.
 */
int vg_http_listen(struct evhttp *http, const char *addr, uint16_t *port, char *err,
                   size_t errlen);

#endif
