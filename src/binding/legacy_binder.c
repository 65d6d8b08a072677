/*
 * legacy_binder.c - report_data of the insecure legacy modes and their SNI nonce carrier
 * (legacy_binder.h). Must never derive anything from the TLS connection's secrets: these modes
 * exist to show what binding WITHOUT the connection looks like. Must never accept an empty
 * SPKI or a missing nonce (an expected value over nothing would match evidence over nothing).
 */
#include "binding/legacy_binder.h"

#include "binding/early_exporter.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include "util/util.h"

static const struct {
    const char *name;
    enum legacy_mode mode;
} modes[] = {
    {"tether", LEGACY_NONE},
    {"ra-nonce", LEGACY_RA_NONCE},
    {"ra-key", LEGACY_RA_KEY},
    {"ra-key-nonce", LEGACY_RA_KEY_NONCE},
    {"ra-early-exporter", LEGACY_RA_EARLY_EXPORTER},
};

int legacy_mode_parse(const char *name, enum legacy_mode *out)
{
    if (!name) {
        *out = LEGACY_NONE;
        return 0;
    }
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (strcmp(name, modes[i].name) == 0) {
            *out = modes[i].mode;
            return 0;
        }
    }
    return -1;
}

const char *legacy_mode_name(enum legacy_mode m)
{
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (modes[i].mode == m)
            return modes[i].name;
    return "unknown";
}

bool legacy_mode_has_nonce(enum legacy_mode m)
{
    return m == LEGACY_RA_NONCE || m == LEGACY_RA_KEY_NONCE || m == LEGACY_RA_EARLY_EXPORTER;
}

bool legacy_mode_binds_key(enum legacy_mode m)
{
    return m == LEGACY_RA_KEY || m == LEGACY_RA_KEY_NONCE || m == LEGACY_RA_EARLY_EXPORTER;
}

bool legacy_mode_uses_early_exporter(enum legacy_mode m)
{
    return m == LEGACY_RA_EARLY_EXPORTER;
}

/* md over up to three parts (a part of length 0 is skipped). */
static int digest3(const EVP_MD *md, const void *a, size_t an, const void *b, size_t bn,
                   const void *c3, size_t cn, uint8_t *out)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned int len = 0;
    int ok = c && EVP_DigestInit_ex(c, md, NULL) == 1 && EVP_DigestUpdate(c, a, an) == 1 &&
             (bn == 0 || EVP_DigestUpdate(c, b, bn) == 1) &&
             (cn == 0 || EVP_DigestUpdate(c, c3, cn) == 1) && EVP_DigestFinal_ex(c, out, &len) == 1;
    EVP_MD_CTX_free(c);
    return ok ? 0 : -1;
}

int legacy_binder_compute(enum legacy_mode m, const uint8_t *spki, size_t spki_len,
                          const uint8_t *nonce, size_t nonce_len, struct binder *out)
{
    return legacy_binder_compute_ee(m, spki, spki_len, nonce, nonce_len, NULL, 0, out);
}

int legacy_binder_compute_ee(enum legacy_mode m, const uint8_t *spki, size_t spki_len,
                             const uint8_t *nonce, size_t nonce_len,
                             const uint8_t *early_exporter, size_t early_exporter_len,
                             struct binder *out)
{
    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    bool need_nonce = legacy_mode_has_nonce(m), need_key = legacy_mode_binds_key(m);
    bool need_ee = legacy_mode_uses_early_exporter(m);
    if (m == LEGACY_NONE || (need_nonce && (!nonce || nonce_len != LEGACY_NONCE_LEN)) ||
        (need_key && (!spki || spki_len == 0)) ||
        (need_ee && (!early_exporter || early_exporter_len != LEGACY_EE_LEN)))
        return -1;
    out->hash_len = 32;
    int rc;
    switch (m) {
    case LEGACY_RA_NONCE: {
        static const char label[] = LEGACY_RA_NONCE_LABEL;
        uint8_t in[sizeof label - 1 + LEGACY_NONCE_LEN];
        memcpy(in, label, sizeof label - 1);
        memcpy(in + sizeof label - 1, nonce, LEGACY_NONCE_LEN);
        rc = digest3(EVP_sha512(), in, sizeof in, NULL, 0, NULL, 0, out->report_data) |
             digest3(EVP_sha256(), in, sizeof in, NULL, 0, NULL, 0, out->aik_pub_hash);
        break;
    }
    case LEGACY_RA_KEY:
        rc = digest3(EVP_sha512(), spki, spki_len, NULL, 0, NULL, 0, out->report_data) |
             digest3(EVP_sha256(), spki, spki_len, NULL, 0, NULL, 0, out->aik_pub_hash);
        break;
    case LEGACY_RA_KEY_NONCE:
        rc = digest3(EVP_sha512(), spki, spki_len, nonce, nonce_len, NULL, 0, out->report_data) |
             digest3(EVP_sha256(), spki, spki_len, NULL, 0, NULL, 0, out->aik_pub_hash);
        break;
    case LEGACY_RA_EARLY_EXPORTER:
        /* draft-fossati-tls-attestation-06 binds {nonce, SPKI hash, early exporter}; tether
         * hashes the three in this fixed order (docs/protocol.md 15.5). */
        rc = digest3(EVP_sha512(), nonce, nonce_len, early_exporter, early_exporter_len, spki,
                     spki_len, out->report_data) |
             digest3(EVP_sha256(), spki, spki_len, NULL, 0, NULL, 0, out->aik_pub_hash);
        break;
    default:
        rc = -1;
    }
    if (rc != 0) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    return 0;
}

void legacy_sni_encode(const uint8_t nonce[static LEGACY_NONCE_LEN],
                       char out[static LEGACY_SNI_LEN + 1])
{
    hex_encode(nonce, LEGACY_NONCE_LEN, out);
    memcpy(out + 2 * LEGACY_NONCE_LEN, LEGACY_SNI_SUFFIX, sizeof LEGACY_SNI_SUFFIX);
}

int legacy_sni_decode(const char *name, uint8_t nonce[static LEGACY_NONCE_LEN])
{
    if (!name || strlen(name) != LEGACY_SNI_LEN ||
        strcmp(name + 2 * LEGACY_NONCE_LEN, LEGACY_SNI_SUFFIX) != 0)
        return -1;
    char hex[2 * LEGACY_NONCE_LEN + 1];
    memcpy(hex, name, 2 * LEGACY_NONCE_LEN);
    hex[2 * LEGACY_NONCE_LEN] = '\0';
    size_t n = 0;
    if (hex_decode(hex, nonce, LEGACY_NONCE_LEN, &n) != 0 || n != LEGACY_NONCE_LEN)
        return -1;
    return 0;
}

int legacy_early_exporter(const EVP_MD *md, const uint8_t *client_hello, size_t ch_len,
                          uint8_t out[static LEGACY_EE_LEN], const char **why)
{
    static const char label[] = LEGACY_EE_LABEL;
    struct client_hello ch;
    memset(out, 0, LEGACY_EE_LEN);
    if (!md || (EVP_MD_get_type(md) != NID_sha256 && EVP_MD_get_type(md) != NID_sha384)) {
        *why = "the cipher suite's hash is neither SHA-256 nor SHA-384";
        return -1;
    }
    if (client_hello_parse(client_hello, ch_len, &ch, why) != 0)
        return -1;
    if (!ch.offers_tls13) {
        *why = "the ClientHello does not offer TLS 1.3";
        return -1;
    }
    if (ch.has_pre_shared_key || ch.has_early_data) {
        *why = "the ClientHello offers a PSK or early data: ra-early-exporter is defined for a "
               "full handshake without a PSK";
        return -1;
    }
    if (tls13_early_exporter(md, NULL, 0, client_hello, ch_len, label, sizeof label - 1, NULL, 0,
                             out, LEGACY_EE_LEN) != 0) {
        *why = "the early exporter computation failed";
        return -1;
    }
    *why = NULL;
    return 0;
}
