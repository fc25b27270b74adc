/*
 * netaddr.h - HOST:PORT settings ("127.0.0.1:7700", "[::1]:7700",
 * "dc1.example:7701") and the loopback test that decides whether plain
 * HTTP may be served.
 */
#ifndef VG_NETADDR_H
#define VG_NETADDR_H

#include "core/vg.h"

/* Splits HOST:PORT (IPv6 hosts in brackets); -EINVAL if malformed. */
int vg_addr_split(const char *addr, char *host, size_t hostcap, uint16_t *port);

/* 1 for localhost, 127.0.0.0/8 and ::1. */
int vg_addr_is_loopback(const char *host);

/* Sends small writes at once (no Nagle): a request/answer protocol over TLS
 * otherwise waits for the peer's delayed ACK, ~40 ms per exchange. Set on a
 * listening socket, Linux passes it on to the accepted ones. fd < 0 is
 * ignored. */
void vg_tcp_nodelay(int fd);

#endif
