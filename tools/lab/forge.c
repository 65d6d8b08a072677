/*
 * forge.c - the attacker's Exported Authenticator toolkit: exporters of a connection the
 * attacker terminates, genuine authenticators fetched from a genuine server, payloads with
 * chosen binder fields, evidence from the attestation oracle (test hook), and RFC 9261
 * CertificateVerify/Finished over a Certificate message of the attacker's own making.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "attester/attester.h"
#include "lab/lab.h"
#include "testhooks/testhooks.h"
#include "util/util.h"

int lab_exporters(SSL *ssl, bool server_role, struct ea_exporters *x)
{
    const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
    x->md = c ? SSL_CIPHER_get_handshake_digest(c) : NULL;
    if (!x->md)
        return -1;
    x->hash_len = (size_t)EVP_MD_get_size(x->md);
    const char *hc = server_role ? EA_LABEL_SERVER_HC : EA_LABEL_CLIENT_HC;
    const char *fk = server_role ? EA_LABEL_SERVER_FK : EA_LABEL_CLIENT_FK;
    return SSL_export_keying_material(ssl, x->hc, x->hash_len, hc, strlen(hc), NULL, 0, 1) == 1 &&
                   SSL_export_keying_material(ssl, x->fk, x->hash_len, fk, strlen(fk), NULL, 0,
                                              1) == 1
               ? 0
               : -1;
}

int lab_export(SSL *ssl, const char *label, const uint8_t *ctx, size_t ctx_len,
               uint8_t out[static BINDER_EXPORTER_LEN])
{
    return SSL_export_keying_material(ssl, out, BINDER_EXPORTER_LEN, label, strlen(label), ctx,
                                      ctx_len, 1) == 1
               ? 0
               : -1;
}

int lab_make_request(struct ea_request *req, struct bytes_writer *msg)
{
    writer_init(msg, 65536);
    memset(req, 0, sizeof *req);
    req->msg_type = EA_HS_CLIENT_CERTIFICATE_REQUEST;
    req->context_len = 32;
    req->sigalgs[0] = EA_SIG_ECDSA_P256_SHA256;
    req->n_sigalgs = 1;
    req->cmw_offered = true;
    req->framing_offered = true;
    if (RAND_bytes(req->context, (int)req->context_len) != 1)
        return -1;
    return ea_request_encode(req, msg);
}

int lab_cert_spki(const uint8_t *der, size_t len, uint8_t **spki, size_t *spki_len)
{
    const uint8_t *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (!x)
        return -1;
    uint8_t *out = NULL;
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &out);
    X509_free(x);
    if (n <= 0)
        return -1;
    *spki = out;
    *spki_len = (size_t)n;
    return 0;
}

static void *dup_bytes(const void *p, size_t n)
{
    void *d = malloc(n ? n : 1);
    if (d && n)
        memcpy(d, p, n);
    return d;
}

int lab_genuine_exchange(SSL *ssl, const uint8_t *req_msg, size_t req_len,
                         const struct ea_request *req, struct lab_genuine *g, char *err,
                         size_t errlen)
{
    memset(g, 0, sizeof *g);
    uint8_t type = 0;
    struct ea_exporters x;
    struct ea_authenticator a;
    memset(&a, 0, sizeof a);
    struct ea_payload p;
    memset(&p, 0, sizeof p);
    enum ea_error e = EA_OK;
    const char *why = NULL;
    if (lab_write_frame(ssl, EA_FRAME_REQUEST, req_msg, req_len) != 0 ||
        lab_read_frame(ssl, &type, &g->auth, &g->auth_len) != 0 || type != EA_FRAME_AUTHENTICATOR) {
        errbuf_set(err, errlen, "the genuine server did not answer the request");
        goto fail;
    }
    if (lab_exporters(ssl, true, &x) != 0 ||
        ea_authenticator_validate(&x, req_msg, req_len, req, g->auth, g->auth_len, true, &a, &e) !=
            0) {
        errbuf_set(err, errlen, "the genuine authenticator does not validate (%s)",
                   ea_error_code(e));
        goto fail;
    }
    if (ea_payload_parse(a.cmw, a.cmw_len, &p, &why) != 0) {
        errbuf_set(err, errlen, "the genuine payload does not parse (%s)", why ? why : "?");
        goto fail;
    }
    g->cert_der = dup_bytes(a.cert_der, a.cert_len);
    g->cert_len = a.cert_len;
    g->json = dup_bytes(a.cmw, a.cmw_len);
    g->json_len = a.cmw_len;
    g->evidence = dup_bytes(p.evidence, p.evidence_len);
    g->evidence_len = p.evidence_len;
    g->sigalg = a.sigalg;
    ea_authenticator_clear(&a);
    ea_payload_clear(&p);
    if (!g->cert_der || !g->json || !g->evidence) {
        errbuf_set(err, errlen, "out of memory");
        lab_genuine_free(g);
        return -1;
    }
    return 0;
fail:
    ea_authenticator_clear(&a);
    ea_payload_clear(&p);
    lab_genuine_free(g);
    return -1;
}

void lab_genuine_free(struct lab_genuine *g)
{
    free(g->auth);
    free(g->cert_der);
    free(g->json);
    free(g->evidence);
    memset(g, 0, sizeof *g);
}

int lab_payload_json(const uint8_t *ev, size_t ev_len, const char *label, const struct binder *b,
                     char **json, size_t *json_len)
{
    struct ea_payload p;
    memset(&p, 0, sizeof p);
    p.version = 1;
    snprintf(p.media_type, sizeof p.media_type, "%s", attester_sim.media_type);
    p.evidence = (uint8_t *)ev;
    p.evidence_len = ev_len;
    snprintf(p.exporter_label, sizeof p.exporter_label, "%s", label);
    memcpy(p.aik_pub_hash, b->aik_pub_hash, b->hash_len);
    p.aik_pub_hash_len = b->hash_len;
    memcpy(p.binding, b->binding, b->hash_len);
    p.binding_len = b->hash_len;
    return ea_payload_encode(&p, json, json_len);
}

int lab_oracle_evidence(const char *tee_spec, const struct binder *b, uint8_t **ev,
                        size_t *ev_len, char *err, size_t errlen)
{
    return tether_test_oracle_evidence(tee_spec, b->report_data, b->aik_pub_hash, b->hash_len, ev,
                                       ev_len, err, errlen);
}

/* Hash(HC || parts...) with the connection's hash. */
static int transcript(const struct ea_exporters *x, const uint8_t *a, size_t an, const uint8_t *b,
                      size_t bn, const uint8_t *c, size_t cn, uint8_t *out)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    unsigned len = 0;
    int ok = m && EVP_DigestInit_ex(m, x->md, NULL) == 1 &&
             EVP_DigestUpdate(m, x->hc, x->hash_len) == 1 && EVP_DigestUpdate(m, a, an) == 1 &&
             EVP_DigestUpdate(m, b, bn) == 1 && (!c || EVP_DigestUpdate(m, c, cn) == 1) &&
             EVP_DigestFinal_ex(m, out, &len) == 1 && len == x->hash_len;
    EVP_MD_CTX_free(m);
    return ok ? 0 : -1;
}

int lab_authenticator_from_certificate(const struct ea_exporters *x, const uint8_t *req_msg,
                                       size_t req_len, const uint8_t *cert_msg,
                                       size_t cert_msg_len, EVP_PKEY *key, uint16_t sigalg,
                                       struct bytes_writer *out)
{
    if (sigalg != EA_SIG_ECDSA_P256_SHA256)
        return -1; /* the lab's keys are P-256 */
    /* RFC 9261 5.2.2: 0x20 x 64 || "Exported Authenticator" || 0x00 || Hash(HC||req||Cert). */
    uint8_t tbs[64 + 22 + 1 + 64];
    memset(tbs, 0x20, 64);
    memcpy(tbs + 64, "Exported Authenticator", 22);
    tbs[86] = 0;
    if (transcript(x, req_msg, req_len, cert_msg, cert_msg_len, NULL, 0, tbs + 87) != 0)
        return -1;
    size_t tbs_len = 87 + x->hash_len;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    uint8_t sig[160];
    size_t sig_len = sizeof sig;
    int ok = m && EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestSign(m, sig, &sig_len, tbs, tbs_len) == 1;
    EVP_MD_CTX_free(m);
    if (!ok)
        return -1;
    struct bytes_writer cv;
    writer_init(&cv, 4 + 4 + sizeof sig);
    writer_u8(&cv, EA_HS_CERTIFICATE_VERIFY);
    size_t body = writer_vec_begin(&cv, 3);
    writer_u16(&cv, sigalg);
    size_t s = writer_vec_begin(&cv, 2);
    writer_bytes(&cv, sig, sig_len);
    writer_vec_end(&cv, s, 2);
    writer_vec_end(&cv, body, 3);
    /* RFC 9261 5.2.3: HMAC(FK, Hash(HC || request || Certificate || CertificateVerify)). */
    uint8_t th[64], mac[64];
    unsigned mac_len = 0;
    ok = !cv.failed &&
         transcript(x, req_msg, req_len, cert_msg, cert_msg_len, cv.data, cv.len, th) == 0 &&
         HMAC(x->md, x->fk, (int)x->hash_len, th, x->hash_len, mac, &mac_len) != NULL;
    if (ok) {
        writer_bytes(out, cert_msg, cert_msg_len);
        writer_bytes(out, cv.data, cv.len);
        writer_u8(out, EA_HS_FINISHED);
        writer_u24(out, mac_len);
        writer_bytes(out, mac, mac_len);
    }
    writer_free(&cv);
    return ok && !out->failed ? 0 : -1;
}
