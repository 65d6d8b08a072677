/*
 * early_exporter.c - TLS-Early-Exporter over ClientHello bytes, and the ClientHello parser
 * (early_exporter.h). Must never read past its input, keep state, or touch a socket; must
 * never be mistaken for a connection secret when psk is NULL (it is computable by anyone who
 * saw the ClientHello).
 */
#include "binding/early_exporter.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/obj_mac.h>

#include "util/bytes.h"
#include "util/util.h"

#define HS_CLIENT_HELLO 1
#define EXT_SERVER_NAME 0
#define EXT_PRE_SHARED_KEY 41
#define EXT_EARLY_DATA 42
#define EXT_SUPPORTED_VERSIONS 43
#define EXT_KEY_SHARE 51
#define MAX_EXTENSIONS 128

/* ---- HKDF (RFC 5869) and HKDF-Expand-Label (RFC 8446 7.1) through EVP_KDF ---- */

static int hkdf(const EVP_MD *md, int mode, const uint8_t *salt, size_t salt_len,
                const uint8_t *key, size_t key_len, const uint8_t *info, size_t info_len,
                uint8_t *out, size_t out_len)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *c = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    if (!c)
        return -1;
    OSSL_PARAM p[6], *q = p;
    *q++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    *q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)EVP_MD_get0_name(md),
                                            0);
    *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len);
    if (salt_len)
        *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    if (info_len)
        *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    *q = OSSL_PARAM_construct_end();
    int ok = EVP_KDF_derive(c, out, out_len, p) == 1;
    EVP_KDF_CTX_free(c);
    return ok ? 0 : -1;
}

/* HKDF-Expand-Label(secret, label, context, out_len): HkdfLabel = u16 length ||
 * opaque label<7..255> = "tls13 " || label || opaque context<0..255>. */
static int expand_label(const EVP_MD *md, const uint8_t *secret, size_t secret_len,
                        const char *label, size_t label_len, const uint8_t *context,
                        size_t context_len, uint8_t *out, size_t out_len)
{
    uint8_t info[2 + 1 + 255 + 1 + 255];
    if (label_len > EARLY_EXPORTER_MAX_LABEL || context_len > 255 || out_len > 0xffff)
        return -1;
    size_t n = 0;
    info[n++] = (uint8_t)(out_len >> 8);
    info[n++] = (uint8_t)out_len;
    info[n++] = (uint8_t)(6 + label_len);
    memcpy(info + n, "tls13 ", 6);
    n += 6;
    memcpy(info + n, label, label_len);
    n += label_len;
    info[n++] = (uint8_t)context_len;
    if (context_len)
        memcpy(info + n, context, context_len);
    n += context_len;
    return hkdf(md, EVP_KDF_HKDF_MODE_EXPAND_ONLY, NULL, 0, secret, secret_len, info, n, out,
                out_len);
}

static bool tls13_hash(const EVP_MD *md)
{
    /* By NID: EVP_MD_is_a on a legacy EVP_sha256() depends on the name map being loaded. */
    return md && (EVP_MD_get_type(md) == NID_sha256 || EVP_MD_get_type(md) == NID_sha384);
}

int tls13_early_exporter(const EVP_MD *md, const uint8_t *psk, size_t psk_len,
                         const uint8_t *ch, size_t ch_len, const char *label, size_t label_len,
                         const uint8_t *context, size_t context_len, uint8_t *out,
                         size_t out_len)
{
    if (out && out_len <= EARLY_EXPORTER_MAX_OUT)
        memset(out, 0, out_len);
    if (!tls13_hash(md) || !ch || !label || !out || out_len == 0 ||
        out_len > EARLY_EXPORTER_MAX_OUT || label_len > EARLY_EXPORTER_MAX_LABEL ||
        (context_len && !context))
        return -1;
    size_t hl = (size_t)EVP_MD_get_size(md);
    if ((psk && psk_len != hl) || (!psk && psk_len != 0))
        return -1;
    /* One client_hello handshake message of its stated length. */
    if (ch_len < 4 || ch_len > CLIENT_HELLO_MAX || ch[0] != HS_CLIENT_HELLO ||
        ((size_t)ch[1] << 16 | (size_t)ch[2] << 8 | ch[3]) != ch_len - 4)
        return -1;

    uint8_t zero[64] = {0}, es[64], eems[64], secret[64], h_ch[64], h_empty[64], h_ctx[64];
    unsigned int dl = 0;
    int rc = -1;
    /* Early Secret = HKDF-Extract(0, PSK or 0). */
    if (hkdf(md, EVP_KDF_HKDF_MODE_EXTRACT_ONLY, zero, hl, psk ? psk : zero, hl, NULL, 0, es,
             hl) != 0)
        goto out;
    /* early_exporter_master_secret = Derive-Secret(ES, "e exp master", ClientHello). */
    if (!EVP_Digest(ch, ch_len, h_ch, &dl, md, NULL) || dl != hl ||
        expand_label(md, es, hl, "e exp master", 12, h_ch, hl, eems, hl) != 0)
        goto out;
    /* Derive-Secret(eems, label, "") then HKDF-Expand-Label(., "exporter", Hash(ctx), L). */
    if (!EVP_Digest("", 0, h_empty, &dl, md, NULL) || dl != hl ||
        expand_label(md, eems, hl, label, label_len, h_empty, hl, secret, hl) != 0)
        goto out;
    if (!EVP_Digest(context_len ? context : (const uint8_t *)"", context_len, h_ctx, &dl, md,
                    NULL) ||
        dl != hl || expand_label(md, secret, hl, "exporter", 8, h_ctx, hl, out, out_len) != 0)
        goto out;
    rc = 0;
out:
    OPENSSL_cleanse(es, sizeof es);
    OPENSSL_cleanse(eems, sizeof eems);
    OPENSSL_cleanse(secret, sizeof secret);
    if (rc != 0)
        memset(out, 0, out_len);
    return rc;
}

/* ---- the ClientHello parser ---- */

/* server_name (RFC 6066 3): ServerNameList<1..2^16-1> of {u8 type, opaque name<1..2^16-1>}. */
static int parse_server_name(const uint8_t *p, size_t n, struct client_hello *out)
{
    struct bytes_reader r, list;
    reader_init(&r, p, n);
    if (!reader_sub(&r, 2, &list) || !reader_done(&r) || reader_remaining(&list) == 0)
        return -1;
    for (int i = 0; i < 64 && reader_remaining(&list) > 0; i++) {
        uint8_t type;
        const uint8_t *name;
        size_t len;
        if (!reader_u8(&list, &type) || !reader_vec(&list, 2, &name, &len) || len == 0)
            return -1;
        if (type == 0 && !out->server_name) {
            out->server_name = name;
            out->server_name_len = len;
        }
    }
    return reader_done(&list) ? 0 : -1;
}

/* supported_versions in a ClientHello: versions<2..254>. */
static int parse_versions(const uint8_t *p, size_t n, struct client_hello *out)
{
    struct bytes_reader r, list;
    reader_init(&r, p, n);
    if (!reader_sub(&r, 1, &list) || !reader_done(&r) || reader_remaining(&list) < 2 ||
        reader_remaining(&list) % 2)
        return -1;
    for (int i = 0; i < 127 && reader_remaining(&list) > 0; i++) {
        uint16_t v;
        if (!reader_u16(&list, &v))
            return -1;
        if (v == 0x0304)
            out->offers_tls13 = true;
    }
    return reader_done(&list) ? 0 : -1;
}

int client_hello_parse(const uint8_t *msg, size_t len, struct client_hello *out,
                       const char **why)
{
    if (why)
        *why = NULL;
    if (!out)
        return parse_fail(why, "no output");
    memset(out, 0, sizeof *out);
    if (!msg || len > CLIENT_HELLO_MAX)
        return parse_fail(why, "ClientHello missing or larger than 64 KiB");
    struct bytes_reader r, body, exts;
    uint8_t type;
    uint32_t body_len;
    reader_init(&r, msg, len);
    if (!reader_u8(&r, &type) || type != HS_CLIENT_HELLO)
        return parse_fail(why, "not a client_hello handshake message");
    if (!reader_u24(&r, &body_len) || body_len != reader_remaining(&r))
        return parse_fail(why, "ClientHello length does not match the message");
    reader_init(&body, msg + 4, body_len);
    const uint8_t *p;
    size_t n;
    if (!reader_u16(&body, &out->legacy_version) || !reader_copy(&body, out->random, 32))
        return parse_fail(why, "ClientHello truncated before the random");
    if (!reader_vec(&body, 1, &p, &n) || n > 32)
        return parse_fail(why, "bad legacy_session_id");
    out->session_id_len = n;
    if (!reader_vec(&body, 2, &p, &n) || n < 2 || n % 2)
        return parse_fail(why, "bad cipher_suites");
    out->n_cipher_suites = n / 2;
    if (!reader_vec(&body, 1, &p, &n) || n < 1)
        return parse_fail(why, "bad legacy_compression_methods");
    if (reader_done(&body))
        return parse_fail(why, "ClientHello without extensions (not TLS 1.3)");
    if (!reader_sub(&body, 2, &exts) || !reader_done(&body))
        return parse_fail(why, "extensions block does not fill the ClientHello exactly");
    uint16_t seen[MAX_EXTENSIONS];
    size_t ns = 0;
    while (reader_remaining(&exts) > 0) {
        uint16_t et;
        if (ns == MAX_EXTENSIONS)
            return parse_fail(why, "more than 128 extensions");
        if (!reader_u16(&exts, &et) || !reader_vec(&exts, 2, &p, &n))
            return parse_fail(why, "truncated extension");
        for (size_t i = 0; i < ns; i++)
            if (seen[i] == et)
                return parse_fail(why, "an extension appears twice");
        seen[ns++] = et;
        if (out->has_pre_shared_key)
            return parse_fail(why, "pre_shared_key is not the last extension");
        switch (et) {
        case EXT_SERVER_NAME:
            if (parse_server_name(p, n, out) != 0)
                return parse_fail(why, "malformed server_name");
            break;
        case EXT_SUPPORTED_VERSIONS:
            out->has_supported_versions = true;
            if (parse_versions(p, n, out) != 0)
                return parse_fail(why, "malformed supported_versions");
            break;
        case EXT_KEY_SHARE: out->has_key_share = true; break;
        case EXT_PRE_SHARED_KEY: out->has_pre_shared_key = true; break;
        case EXT_EARLY_DATA: out->has_early_data = true; break;
        default: break;
        }
    }
    out->n_extensions = ns;
    return 0;
}
