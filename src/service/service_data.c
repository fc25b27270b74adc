/*
 * service_data.c - the data halves of vigil's services (service.h): what
 * every state, wherever it is rebuilt, applies beside objects and tokens.
 */
#include "service/service.h"

#include "incident/incidents.h"
#include "monitor/alerts.h"
#include "protect/protect_data.h"
#include "web/logins.h"
#include "web/sessions.h"

const struct vg_service_data *const vg_service_data[] = {
    &vg_alerts_data,    /* the facility monitor's rule states */
    &vg_incidents_data, /* incidents, their pages and acknowledgements */
    &vg_protect_data,   /* the switchover freeze, cooldown and decisions */
    &vg_logins_data,    /* people's dashboard logins (password hashes, roles) */
    &vg_sessions_data,  /* dashboard sessions logged out before their expiry */
    NULL,
};

const struct vg_service_data *vg_service_data_owner(uint16_t type, size_t *slot)
{
    for (size_t i = 0; vg_service_data[i]; i++)
        for (const uint16_t *t = vg_service_data[i]->record_types; *t; t++)
            if (*t == type) {
                if (slot)
                    *slot = i;
                return vg_service_data[i];
            }
    return NULL;
}
