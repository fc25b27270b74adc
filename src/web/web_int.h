/*
 * web_int.h - the dashboard service's instance, shared by its files and
 * stream (web_service.c) and its login routes (web_routes.c).
 */
#ifndef VG_WEB_INT_H
#define VG_WEB_INT_H

#include <stdatomic.h>

#include "api/api_int.h"

#define VG_WEB_MAX_STREAMS 64
/* password checks (Argon2id, tens of milliseconds of the event loop each)
 * allowed per second, all clients together; past it 429 */
#define VG_WEB_LOGINS_PER_S  5
#define VG_WEB_LOGIN_THREADS 4 /* checks running at once (64 MiB each) */

struct login_job;

struct vg_web_stream {
    struct vg_web_stream *next;
    struct vg_web *web;
    struct evhttp_request *req;
};

struct vg_web {
    struct event_base *base;
    struct vg_member *member;
    struct vg_cluster *cluster;
    struct event *poll;
    struct vg_web_stream *streams;
    size_t n_streams;
    uint64_t n_refused, n_dropped, n_changes;
    int dirty;      /* a record was applied since the last poll */
    char view[256]; /* the cluster's view as last sent */
    unsigned polls;
    /* login bound: password checks in the current second */
    int64_t login_second;
    unsigned login_checks;
    uint64_t n_login_ok, n_login_failed, n_login_limited;
    struct login_job *login_jobs; /* passwords being checked (web_routes.c) */
    atomic_int n_login_threads;
};

/* The login routes (web_routes.c). */
void vg_web_login(struct vg_call *call);
void vg_web_logout(struct vg_call *call);
void vg_web_session(struct vg_call *call);
void vg_web_logins_list(struct vg_call *call);
void vg_web_logins_set(struct vg_call *call);
void vg_web_logins_delete(struct vg_call *call);
/* Waits for the password checks running and drops their answers. */
void vg_web_login_jobs_stop(struct vg_web *web);

#endif
