/*
 * fuzz_yaml.c - libFuzzer target for the manifest parser (core/yamljson.c),
 * the first code to read a file a person wrote or a request body sent as
 * YAML.
 *
 * Besides "no crash, no leak, no undefined behaviour" (ASan/UBSan), it checks
 * two properties on every input:
 *   - a rejected input always comes with a message naming a line;
 *   - an accepted input, printed back as YAML by the emitter, parses to a
 *     value equal to the first parse (the round trip `vigil get -o yaml` |
 *     `vigil apply` relies on).
 */
#include <stdint.h>

#include "core/yamljson.h"

static void fail(const char *what, const uint8_t *data, size_t size, const vg_buf_t *yaml,
                 const char *err)
{
    fprintf(stderr, "fuzz_yaml: %s\n  error: %s\n  input: %.*s\n  emitted: %s\n", what, err,
            (int)size, (const char *)data, yaml && yaml->data ? (char *)yaml->data : "");
    abort();
}

static void check_round_trip(const json_t *docs, const uint8_t *data, size_t size)
{
    vg_buf_t yaml = VG_BUF_INIT;
    json_t *back = NULL;
    char err[512] = "";

    if (vg_yamljson_emit_docs(docs, &yaml, err, sizeof err) < 0)
        fail("cannot emit what was parsed", data, size, &yaml, err);
    if (vg_yamljson_parse((const char *)yaml.data, yaml.len, "emitted", &back, err,
                          sizeof err) < 0)
        fail("emitted YAML does not parse", data, size, &yaml, err);
    if (!json_equal(back, docs))
        fail("round trip changed the value", data, size, &yaml, "");
    json_decref(back);
    vg_buf_release(&yaml);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *docs = NULL;
    char err[512] = "";

    if (vg_yamljson_parse((const char *)data, size, "fuzz.yaml", &docs, err, sizeof err) < 0) {
        if (docs || !strstr(err, "fuzz.yaml: line "))
            fail("rejected without a located message", data, size, NULL, err);
        return 0;
    }
    check_round_trip(docs, data, size);
    json_decref(docs);
    return 0;
}
