/*
 * payload.c - the cmw_attestation payload: a small JSON object carrying the evidence and the
 * attestation binder (cocos-ea-wire.md 4.6). The encoder writes exactly the bytes Go's
 * encoding/json writes for Cocos's struct (field order version, media_type, evidence,
 * binder{exporter_label, aik_pub_hash, binding}; no whitespace; empty media_type and
 * exporter_label omitted; HTML-safe escaping). The parser is strict where Cocos is lenient.
 *
 * Must never: accept duplicate keys or a key Go would fold onto one of our fields; accept
 * unpadded, URL-safe or whitespace-laden base64; accept a version other than the integer 1;
 * produce a payload larger than EA_CMW_MAX_JSON.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "ea/ea.h"
#include "util/util.h"

/* ---- encoding ---- */

/* A JSON string as Go's encoding/json writes it with HTML escaping on (Go 1.19, the version
 * Cocos builds with): \" \\ \n \r \t; other control characters, < > and & as \u00xx in
 * lower-case hex; U+2028 and U+2029 as \u2028 and \u2029; everything else verbatim. Go would
 * replace invalid UTF-8 with U+FFFD; we refuse it instead (our parser would reject it). */
static bool write_json_string(struct bytes_writer *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    struct bytes_reader r;
    reader_init(&r, (const uint8_t *)s, n);
    writer_u8(w, '"');
    while (reader_remaining(&r) > 0) {
        uint8_t c = 0;
        reader_u8(&r, &c);
        if (c < 0x80) {
            switch (c) {
            case '"':
                writer_bytes(w, "\\\"", 2);
                break;
            case '\\':
                writer_bytes(w, "\\\\", 2);
                break;
            case '\n':
                writer_bytes(w, "\\n", 2);
                break;
            case '\r':
                writer_bytes(w, "\\r", 2);
                break;
            case '\t':
                writer_bytes(w, "\\t", 2);
                break;
            default:
                if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                    writer_bytes(w, "\\u00", 4);
                    writer_u8(w, (uint8_t)hex[c >> 4]);
                    writer_u8(w, (uint8_t)hex[c & 15]);
                } else {
                    writer_u8(w, c);
                }
            }
            continue;
        }
        /* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
        uint8_t seq[4] = {c, 0, 0, 0};
        size_t extra;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) {
            cp = c & 0x1f;
            extra = 1;
            min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            cp = c & 0x0f;
            extra = 2;
            min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            cp = c & 0x07;
            extra = 3;
            min = 0x10000;
        } else {
            return false;
        }
        for (size_t i = 1; i <= extra; i++) {
            if (!reader_u8(&r, &seq[i]) || (seq[i] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (seq[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        if (cp == 0x2028)
            writer_bytes(w, "\\u2028", 6);
        else if (cp == 0x2029)
            writer_bytes(w, "\\u2029", 6);
        else
            writer_bytes(w, seq, extra + 1);
    }
    writer_u8(w, '"');
    return !w->failed;
}

static void write_literal(struct bytes_writer *w, const char *s)
{
    writer_bytes(w, s, strlen(s));
}

/* "name":"<standard padded base64>" */
static bool write_base64_member(struct bytes_writer *w, const char *name, const uint8_t *data,
                                size_t n)
{
    char *b64 = base64_encode(data, n);
    if (!b64)
        return false;
    writer_u8(w, '"');
    write_literal(w, name);
    write_literal(w, "\":\"");
    write_literal(w, b64);
    writer_u8(w, '"');
    free(b64);
    return !w->failed;
}

int ea_payload_encode(const struct ea_payload *p, char **json, size_t *len)
{
    if (!json || !len)
        return -1;
    *json = NULL;
    *len = 0;
    if (!p)
        return -1;
    /* Cocos forces version 0 to 1; tether knows only version 1. */
    if (p->version != 0 && p->version != 1)
        return -1;
    size_t media_len = strnlen(p->media_type, sizeof p->media_type);
    size_t label_len = strnlen(p->exporter_label, sizeof p->exporter_label);
    if (media_len == sizeof p->media_type || label_len == sizeof p->exporter_label)
        return -1; /* not NUL-terminated */
    /* The parser requires evidence and both binder values: never produce what it rejects. */
    if (!p->evidence || p->evidence_len == 0 || p->aik_pub_hash_len == 0 ||
        p->aik_pub_hash_len > sizeof p->aik_pub_hash || p->binding_len == 0 ||
        p->binding_len > sizeof p->binding)
        return -1;

    struct bytes_writer w;
    writer_init(&w, (size_t)EA_CMW_MAX_JSON + 1); /* + the terminating NUL */
    bool ok = true;
    write_literal(&w, "{\"version\":1");
    if (media_len > 0) {
        write_literal(&w, ",\"media_type\":");
        ok = write_json_string(&w, p->media_type, media_len);
    }
    writer_u8(&w, ',');
    ok = ok && write_base64_member(&w, "evidence", p->evidence, p->evidence_len);
    write_literal(&w, ",\"binder\":{");
    if (ok && label_len > 0) {
        write_literal(&w, "\"exporter_label\":");
        ok = write_json_string(&w, p->exporter_label, label_len);
        writer_u8(&w, ',');
    }
    ok = ok && write_base64_member(&w, "aik_pub_hash", p->aik_pub_hash, p->aik_pub_hash_len);
    writer_u8(&w, ',');
    ok = ok && write_base64_member(&w, "binding", p->binding, p->binding_len);
    write_literal(&w, "}}");
    writer_u8(&w, '\0');
    if (!ok || w.failed) {
        writer_free(&w);
        return -1;
    }
    size_t total = 0;
    uint8_t *buf = writer_take(&w, &total);
    if (!buf)
        return -1;
    *json = (char *)buf;
    *len = total - 1;
    return 0;
}

/* ---- parsing ---- */

static const char *const top_fields[] = {"version", "media_type", "evidence", "binder",
                                         "attestation_results"};
static const char *const binder_fields[] = {"exporter_label", "aik_pub_hash", "binding"};

/* Would Go's encoding/json match key to field? It folds ASCII case and also maps U+017F
 * (long s) to 's' and U+212A (Kelvin sign) to 'k'. field is lower-case ASCII. */
static bool go_matches_field(const char *key, size_t key_len, const char *field)
{
    struct bytes_reader r;
    reader_init(&r, (const uint8_t *)key, key_len);
    for (const char *f = field; *f; f++) {
        uint8_t c = 0, c2 = 0, c3 = 0;
        if (!reader_u8(&r, &c))
            return false;
        if (c >= 'A' && c <= 'Z')
            c = (uint8_t)(c - 'A' + 'a');
        if (c == (uint8_t)*f)
            continue;
        if (*f == 's' && c == 0xc5 && reader_u8(&r, &c2) && c2 == 0xbf)
            continue;
        if (*f == 'k' && c == 0xe2 && reader_u8(&r, &c2) && c2 == 0x84 && reader_u8(&r, &c3) &&
            c3 == 0xaa)
            continue;
        return false;
    }
    return reader_remaining(&r) == 0;
}

/* Reject keys that are one of our fields in another spelling ("Evidence", "verſion"): Go
 * would read them, we would not, and the two sides would see different payloads. */
static bool keys_exact(json_t *obj, const char *const *fields, size_t n_fields)
{
    const char *key;
    size_t key_len;
    json_t *value;
    json_object_keylen_foreach(obj, key, key_len, value)
    {
        (void)value;
        for (size_t i = 0; i < n_fields; i++) {
            size_t flen = strlen(fields[i]);
            if (go_matches_field(key, key_len, fields[i]) &&
                !(key_len == flen && memcmp(key, fields[i], flen) == 0))
                return false;
        }
    }
    return true;
}

/* An optional string member copied into a fixed buffer (absent = ""). */
static bool get_short_string(json_t *obj, const char *name, char *out, size_t cap)
{
    json_t *v = json_object_get(obj, name);
    out[0] = '\0';
    if (!v)
        return true;
    if (!json_is_string(v))
        return false;
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    /* jansson rejects \u0000 without JSON_ALLOW_NUL, so s has no embedded NUL. */
    if (n >= cap || memchr(s, '\0', n) != NULL)
        return false;
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

/* A required base64 member: standard alphabet, canonical padding (util base64_decode). */
static bool get_base64(json_t *obj, const char *name, uint8_t **out, size_t *out_len)
{
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    *out_len = 0;
    if (!v || !json_is_string(v))
        return false;
    if (base64_decode(json_string_value(v), json_string_length(v), out, out_len) != 0)
        return false;
    if (*out_len == 0) {
        free(*out);
        *out = NULL;
        return false;
    }
    return true;
}

static bool get_hash(json_t *obj, const char *name, uint8_t out[static 64], size_t *out_len)
{
    uint8_t *buf;
    size_t n;
    if (!get_base64(obj, name, &buf, &n))
        return false;
    bool ok = n <= 64;
    if (ok) {
        memcpy(out, buf, n);
        *out_len = n;
    }
    free(buf);
    return ok;
}

static const char *parse_payload(json_t *root, struct ea_payload *out)
{
    if (!json_is_object(root))
        return "payload is not a JSON object";
    if (!keys_exact(root, top_fields, sizeof top_fields / sizeof top_fields[0]))
        return "payload key in a non-canonical spelling";
    json_t *version = json_object_get(root, "version");
    if (!version || !json_is_integer(version) || json_integer_value(version) != 1)
        return "payload version must be the integer 1";
    out->version = 1;
    if (!get_short_string(root, "media_type", out->media_type, sizeof out->media_type))
        return "media_type must be a string of at most 127 bytes";
    if (!json_object_get(root, "evidence"))
        return "missing evidence";
    if (!get_base64(root, "evidence", &out->evidence, &out->evidence_len))
        return "evidence must be non-empty padded standard base64";
    json_t *binder = json_object_get(root, "binder");
    if (!binder)
        return "missing attestation binder";
    if (!json_is_object(binder))
        return "binder must be a JSON object";
    if (!keys_exact(binder, binder_fields, sizeof binder_fields / sizeof binder_fields[0]))
        return "binder key in a non-canonical spelling";
    if (!get_short_string(binder, "exporter_label", out->exporter_label,
                          sizeof out->exporter_label))
        return "exporter_label must be a string of at most 63 bytes";
    if (!json_object_get(binder, "aik_pub_hash") || !json_object_get(binder, "binding"))
        return "missing attestation binder";
    if (!get_hash(binder, "aik_pub_hash", out->aik_pub_hash, &out->aik_pub_hash_len))
        return "aik_pub_hash must be 1..64 bytes of padded standard base64";
    if (!get_hash(binder, "binding", out->binding, &out->binding_len))
        return "binding must be 1..64 bytes of padded standard base64";
    return NULL;
}

int ea_payload_parse(const uint8_t *json, size_t len, struct ea_payload *out, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    if (!out) {
        *why = "internal";
        return -1;
    }
    memset(out, 0, sizeof *out);
    if (!json || len == 0) {
        *why = "empty payload";
        return -1;
    }
    if (len > EA_CMW_MAX_JSON) {
        *why = "payload larger than one cmw_attestation extension";
        return -1;
    }
    /* Valid UTF-8 JSON, nothing but whitespace after the value, no duplicate keys at any
     * depth, no NUL in strings (jansson's defaults plus JSON_REJECT_DUPLICATES). */
    json_error_t jerr;
    json_t *root = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        *why = "payload is not valid JSON (or has a duplicate key)";
        return -1;
    }
    const char *reason = parse_payload(root, out);
    json_decref(root);
    if (reason) {
        ea_payload_clear(out);
        *why = reason;
        return -1;
    }
    return 0;
}

void ea_payload_clear(struct ea_payload *p)
{
    if (!p)
        return;
    free_secret(p->evidence, p->evidence_len);
    OPENSSL_cleanse(p, sizeof *p);
}
