/*
 * sessions.h - dashboard sessions ended before their expiry: the
 * "sessions" slice of the state (a data half, service.h), written by
 * VG_REC_SESSION records when someone logs out.
 *
 * A session cookie is sealed, not stored (session.h), so ending one for
 * good needs a list both members hold: the session's id (random, kept
 * when the cookie is renewed) with the time its last cookie can expire.
 * An entry goes once that time is past, so the list holds at most the
 * logouts of one session lifetime; VG_SESSIONS_REVOKED_MAX bounds it.
 */
#ifndef VG_WEB_SESSIONS_H
#define VG_WEB_SESSIONS_H

#include "service/service.h"

#define VG_SESSIONS_REVOKED_MAX 4096
#define VG_SESSION_ID_HEX       33 /* 16 bytes as hex, NUL */

extern const struct vg_service_data vg_sessions_data;

/* 1 if the session of id sid_hex was ended (logged out), else 0. */
int vg_sessions_revoked(const vg_state_t *st, const char *sid_hex);

/* Ended sessions whose cookies could still be presented at now_ms. */
size_t vg_sessions_n_revoked(const vg_state_t *st, int64_t now_ms);

#endif
