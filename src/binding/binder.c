/*
 * binder.c - binding and report_data derivation (draft-fossati-seat-expat "Attestation
 * Binder"; byte-compatible with Cocos eaattestation/binding.go). The only place in tether that
 * computes what the evidence must commit to. Must never accept a binder from the peer.
 */
#include "binding/binder.h"

#include <string.h>

#include <openssl/crypto.h>

#include "util/util.h"

const char *binder_label(bool server_attests)
{
    return server_attests ? BINDER_LABEL_SERVER : BINDER_LABEL_CLIENT;
}

static int digest2(const EVP_MD *md, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                   uint8_t *out)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned int n = 0;
    int ok = c && EVP_DigestInit_ex(c, md, NULL) && EVP_DigestUpdate(c, a, alen) &&
             (blen == 0 || EVP_DigestUpdate(c, b, blen)) && EVP_DigestFinal_ex(c, out, &n);
    EVP_MD_CTX_free(c);
    return ok ? 0 : -1;
}

int binder_report_data(const uint8_t *binding, size_t binding_len,
                       uint8_t report_data[static BINDER_REPORT_DATA_LEN])
{
    if (!binding || binding_len == 0)
        return -1;
    return digest2(EVP_sha512(), binding, binding_len, NULL, 0, report_data);
}

int binder_compute(const EVP_MD *md, const uint8_t *spki, size_t spki_len,
                   const uint8_t exported_value[static BINDER_EXPORTER_LEN], struct binder *out)
{
    memset(out, 0, sizeof *out);
    if (!md || !spki || spki_len == 0)
        return -1;
    int hl = EVP_MD_get_size(md);
    if (hl != 32 && hl != 48)
        return -1;
    /* An all-zero exporter value means the exporter was never computed: fail closed. */
    if (ct_is_zero(exported_value, BINDER_EXPORTER_LEN))
        return -1;
    out->hash_len = (size_t)hl;
    if (digest2(md, spki, spki_len, NULL, 0, out->aik_pub_hash) != 0 ||
        digest2(md, spki, spki_len, exported_value, BINDER_EXPORTER_LEN, out->binding) != 0 ||
        binder_report_data(out->binding, out->hash_len, out->report_data) != 0) {
        OPENSSL_cleanse(out, sizeof *out);
        return -1;
    }
    return 0;
}
