/*
 * drv_mqtt.h - what the "mqtt" driver reads from one message, as a pure
 * function so the payload rules can be tested without a broker.
 *
 * Sensor spec.source for the mqtt driver:
 *   topic: FILTER   required; an MQTT subscription (+ and # allowed); a
 *                   message is this sensor's when its topic matches
 *   path:  P        the payload is JSON and the value is at P, a dotted
 *                   path with array indices: "sensors.temp",
 *                   "readings[0].value", "[2]"; without path the payload
 *                   is plain text
 *   map:   {W: N}   words to numbers for text values ({"OPEN": 1,
 *                   "CLOSED": 0}); replaces the built-in words below
 *   field: P        JSON path of the reading's time (without it: the time
 *                   the message arrived). An integer below 10^11 is
 *                   seconds, otherwise ms; a fractional number is seconds;
 *                   a string is RFC 3339.
 * Text values (a plain payload, or a JSON string at path), surrounding
 * white space ignored: a number ("23.5", "-4", "1e3"), else a word of map
 * (exact match) when map is given, else a built-in word, any case:
 * on/true/yes/open = 1, off/false/no/closed = 0. JSON numbers and
 * true/false are taken as they are; NaN and infinities never.
 */
#ifndef VG_DRV_MQTT_H
#define VG_DRV_MQTT_H

#include <jansson.h>

#include "core/vg.h"

#define VG_MQTT_PAYLOAD_MAX 65536 /* larger payloads are rejected */

/* Checks one Sensor's spec.source; -EINVAL naming "source.<key>". */
int vg_mqtt_check_source(const json_t *source, char *err, size_t errlen);

/* One received message; json is parsed on first need and shared by all the
 * points whose filter matched. vg_mqtt_msg_release frees it. */
struct vg_mqtt_msg {
    const char *topic;
    const char *payload;
    size_t len;
    json_t *json;
    int json_tried;
    char json_error[160];
};

void vg_mqtt_msg_release(struct vg_mqtt_msg *m);

/* The raw value (before scale and offset) of the point with this source in
 * message m, and its time if source.field says where (else *time_ms is
 * left alone). -EINVAL with a reason for the sink, e.g.
 * "topic site/dc1/t1: payload is not a number: 'abc'" (topic and payload
 * escaped and truncated). */
int vg_mqtt_extract(const json_t *source, struct vg_mqtt_msg *m, int64_t *time_ms, double *raw,
                    char *reason, size_t reasonlen);

#endif
