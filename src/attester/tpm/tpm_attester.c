/*
 * tpm_attester.c - the TPM 2.0 attester ("tpm" or "tpm:TCTI[;pcrs=SEL][;akcert=PATH]"),
 * through the tss2 ESYS API (docs/tpm.md).
 *
 * open(): loads the TCTI named by the spec with Tss2_TctiLdr_Initialize (default
 * "device:/dev/tpmrm0", e.g. "swtpm:host=127.0.0.1,port=2321" for a software TPM), starts an
 * ESYS context and creates, under the endorsement hierarchy, a primary attestation key (AK):
 * ECC NIST P-256, ECDSA-SHA256, fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth |
 * restricted | sign. A restricted signing key signs outside data only with a TPM hash ticket,
 * which the TPM never issues for data starting with TPM_GENERATED_VALUE: it cannot be made to
 * sign something that looks like a quote. The key is derived from the TPM's endorsement primary seed and this
 * fixed template, so every open on one TPM yields the same AK (which the policy pins, or whose
 * certificate chain ";akcert=PATH" supplies: its leaf must certify this very key).
 *
 * evidence(b): reads the PCR update counter, TPM2_Quote over the selection with
 * qualifyingData = b->report_data (64 bytes) and the key's own scheme, then TPM2_PCR_Read of
 * the same selection (in as many calls as the TPM needs). The PCR values are kept only if the
 * counter did not move from before the quote to the end of the read and their digest is the
 * quote's pcrDigest; otherwise it retries (3 attempts). The result is the TTPM container
 * (evidence/tpm/tpm_evidence.h): the AK's TPMT_PUBLIC, the TPMS_ATTEST exactly as the TPM
 * returned it, the TPMT_SIGNATURE, the PCR values and the optional AK chain.
 *
 * Before anything is returned the quote is parsed (tpm_quote_parse) and refused unless its
 * extraData is exactly b->report_data (constant-time compare) and its PCR selection is the one
 * requested. The ESYS context is not thread-safe: one mutex serialises evidence(). A process
 * forked after open() (tether serve forks one per connection) never touches the inherited
 * TCTI or AK handle, which are its parent's: its first evidence() opens its own connection and
 * AK, which must be byte-identical to the one open() created; its close() flushes only that.
 * Without a resource manager (swtpm, mssim, /dev/tpm0) each such AK occupies a TPM object slot
 * while it lives, and a process that dies without close() leaves its AK loaded.
 *
 * Must never: produce a quote over anything but the binder's report_data (only the binder path
 * of src/tls/attest.c reaches evidence(), see attester.h) or an all-zero one; offer a way to
 * request a quote over caller-chosen data; create or use an AK that is not a restricted
 * signing key; return evidence whose quote does not parse, carries other extraData, another PCR
 * selection, or PCR values that do not hash to its pcrDigest; use or flush, in a forked
 * child, the TPM connection or AK of its parent; log or store report_data.
 */
#include "attester/tpm/tpm_attester.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "evidence/tpm/tpm_evidence.h"
#include "util/bytes.h"
#include "util/util.h"

#define QUOTE_ATTEMPTS 3
/* A TPM returns at most 8 digests per TPM2_PCR_Read: 4 banks x 24 PCRs need 12 calls. */
#define PCR_READ_CALLS_MAX 16
/* Bounded TPM response wait, where the TCTI supports one (ESYS default: block forever). */
#define TPM_TIMEOUT_MS 30000
#define AKCERT_FILE_MAX (256u * 1024u)

/* One process's connection to the TPM and its loaded AK. */
struct tpm_conn {
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *esys;
    ESYS_TR ak;
    pid_t pid; /* the process that opened it: the only one that may use it */
};

struct attester {
    pthread_mutex_t lock;
    char tcti_conf[TPM_ATTESTER_TCTI_MAX];
    struct tpm_conn conn;
    uint8_t ak_public[sizeof(TPMT_PUBLIC)]; /* marshalled TPMT_PUBLIC, fixed at open */
    size_t ak_public_len;
    struct tpm_pcr_selection sel;
    TPML_PCR_SELECTION tsel;
    uint8_t *certs[TPM_EVIDENCE_MAX_CERTS]; /* DER, leaf first */
    size_t cert_lens[TPM_EVIDENCE_MAX_CERTS];
    size_t n_certs;
};

/* ---- the spec ---- */

static const struct {
    const char *name;
    uint16_t alg;
} hash_names[] = {
    {"sha1", TPM_ALG_SHA1},
    {"sha256", TPM_ALG_SHA256},
    {"sha384", TPM_ALG_SHA384},
    {"sha512", TPM_ALG_SHA512},
};

static const char *hash_name(uint16_t alg)
{
    for (size_t i = 0; i < sizeof hash_names / sizeof hash_names[0]; i++)
        if (hash_names[i].alg == alg)
            return hash_names[i].name;
    return "?";
}

/* A decimal PCR index 0..23 at s[*pos], at most two digits. */
static int parse_index(const char *s, size_t len, size_t *pos, unsigned *out)
{
    size_t i = *pos, digits = 0;
    unsigned v = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 3) {
        v = v * 10 + (unsigned)(s[i] - '0');
        i++;
        digits++;
    }
    if (digits == 0 || digits > 2 || v >= TPM_PCRS)
        return -1;
    *pos = i;
    *out = v;
    return 0;
}

int tpm_attester_parse_pcrs(const char *s, size_t len, struct tpm_pcr_selection *out, char *err,
                            size_t errlen)
{
    memset(out, 0, sizeof *out);
    size_t pos = 0;
    if (len == 0) {
        errbuf_set(err, errlen, "tpm: empty PCR selection (e.g. pcrs=sha256:0-7)");
        return -1;
    }
    for (;;) {
        size_t colon = pos;
        while (colon < len && s[colon] != ':')
            colon++;
        if (colon == len) {
            errbuf_set(err, errlen, "tpm: PCR selection \"%.*s\": expected BANK:PCRS, e.g. "
                                    "sha256:0-7",
                       (int)(len > 64 ? 64 : len), s);
            return -1;
        }
        uint16_t alg = 0;
        for (size_t i = 0; i < sizeof hash_names / sizeof hash_names[0]; i++)
            if (strlen(hash_names[i].name) == colon - pos &&
                strncmp(hash_names[i].name, s + pos, colon - pos) == 0)
                alg = hash_names[i].alg;
        if (!alg) {
            errbuf_set(err, errlen,
                       "tpm: unknown PCR bank \"%.*s\" (known: sha1, sha256, sha384, sha512)",
                       (int)(colon - pos > 16 ? 16 : colon - pos), s + pos);
            return -1;
        }
        for (size_t i = 0; i < out->n_banks; i++)
            if (out->bank[i].hash_alg == alg) {
                errbuf_set(err, errlen, "tpm: PCR bank %s selected twice", hash_name(alg));
                return -1;
            }
        if (out->n_banks == TPM_MAX_BANKS) {
            errbuf_set(err, errlen, "tpm: more than %d PCR banks selected", TPM_MAX_BANKS);
            return -1;
        }
        uint32_t mask = 0;
        pos = colon + 1;
        for (;;) {
            unsigned lo, hi;
            if (parse_index(s, len, &pos, &lo) != 0) {
                errbuf_set(err, errlen, "tpm: PCR selection for %s: expected a PCR index 0-23",
                           hash_name(alg));
                return -1;
            }
            hi = lo;
            if (pos < len && s[pos] == '-') {
                pos++;
                if (parse_index(s, len, &pos, &hi) != 0 || hi < lo) {
                    errbuf_set(err, errlen, "tpm: PCR selection for %s: bad range",
                               hash_name(alg));
                    return -1;
                }
            }
            for (unsigned i = lo; i <= hi; i++)
                mask |= 1u << i;
            if (pos < len && s[pos] == ',') {
                pos++;
                continue;
            }
            break;
        }
        out->bank[out->n_banks].hash_alg = alg;
        out->bank[out->n_banks].mask = mask;
        out->n_banks++;
        if (pos == len)
            return 0;
        if (s[pos] != '+') {
            errbuf_set(err, errlen, "tpm: PCR selection: unexpected '%c' (banks are joined "
                                    "with '+', e.g. sha256:0-7+sha1:0)",
                       s[pos]);
            return -1;
        }
        pos++;
    }
}

int tpm_attester_parse_spec(const char *arg, struct tpm_attester_spec *out, char *err,
                            size_t errlen)
{
    if (!arg || !out) {
        errbuf_set(err, errlen, "tpm: bad arguments");
        return -1;
    }
    memset(out, 0, sizeof *out);
    const char *semi = strchr(arg, ';');
    size_t tlen = semi ? (size_t)(semi - arg) : strlen(arg);
    if (tlen == 0) {
        snprintf(out->tcti, sizeof out->tcti, "%s", TPM_ATTESTER_DEFAULT_TCTI);
    } else {
        if (tlen >= sizeof out->tcti) {
            errbuf_set(err, errlen, "tpm: TCTI configuration too long");
            return -1;
        }
        memcpy(out->tcti, arg, tlen);
        out->tcti[tlen] = 0;
    }
    bool have_pcrs = false, have_akcert = false;
    while (semi) {
        const char *kv = semi + 1;
        semi = strchr(kv, ';');
        size_t kvlen = semi ? (size_t)(semi - kv) : strlen(kv);
        const char *eq = memchr(kv, '=', kvlen);
        if (!eq) {
            errbuf_set(err, errlen, "tpm: option \"%.*s\": expected pcrs=SELECTION or "
                                    "akcert=PATH",
                       (int)(kvlen > 32 ? 32 : kvlen), kv);
            return -1;
        }
        size_t klen = (size_t)(eq - kv), vlen = kvlen - klen - 1;
        const char *v = eq + 1;
        if (klen == 4 && strncmp(kv, "pcrs", 4) == 0) {
            if (have_pcrs) {
                errbuf_set(err, errlen, "tpm: pcrs= given twice");
                return -1;
            }
            have_pcrs = true;
            if (tpm_attester_parse_pcrs(v, vlen, &out->pcrs, err, errlen) != 0)
                return -1;
        } else if (klen == 6 && strncmp(kv, "akcert", 6) == 0) {
            if (have_akcert) {
                errbuf_set(err, errlen, "tpm: akcert= given twice");
                return -1;
            }
            have_akcert = true;
            if (vlen == 0 || vlen >= sizeof out->akcert) {
                errbuf_set(err, errlen, "tpm: akcert= needs a path (PEM chain of the AK)");
                return -1;
            }
            memcpy(out->akcert, v, vlen);
            out->akcert[vlen] = 0;
        } else {
            errbuf_set(err, errlen, "tpm: unknown option \"%.*s\" (known: pcrs, akcert)",
                       (int)(klen > 32 ? 32 : klen), kv);
            return -1;
        }
    }
    if (!have_pcrs &&
        tpm_attester_parse_pcrs(TPM_ATTESTER_DEFAULT_PCRS, strlen(TPM_ATTESTER_DEFAULT_PCRS),
                                &out->pcrs, err, errlen) != 0)
        return -1;
    return 0;
}

/* ---- TPM helpers ---- */

static void tss_err(char *err, size_t errlen, const char *what, TSS2_RC rc)
{
    errbuf_set(err, errlen, "tpm: %s failed: %s (0x%x)", what, Tss2_RC_Decode(rc), (unsigned)rc);
}

static void to_tpml(const struct tpm_pcr_selection *sel, TPML_PCR_SELECTION *t)
{
    memset(t, 0, sizeof *t);
    t->count = (UINT32)sel->n_banks;
    for (size_t i = 0; i < sel->n_banks; i++) {
        t->pcrSelections[i].hash = sel->bank[i].hash_alg;
        t->pcrSelections[i].sizeofSelect = 3;
        for (int b = 0; b < 3; b++)
            t->pcrSelections[i].pcrSelect[b] = (BYTE)(sel->bank[i].mask >> (8 * b));
    }
}

static uint32_t tpms_mask(const TPMS_PCR_SELECTION *s)
{
    uint32_t m = 0;
    for (unsigned b = 0; b < s->sizeofSelect && b < TPM2_PCR_SELECT_MAX; b++)
        m |= (uint32_t)s->pcrSelect[b] << (8 * b);
    return m;
}

/* Read every selected PCR into banks (parallel to a->sel). 0, 1 if the PCR update counter
 * changed between calls or differs from *counter (when expect), -1 with err. *counter is the
 * counter of the read. */
static int read_pcrs(struct attester *a, struct tpm_pcr_bank *banks, bool expect,
                     uint32_t *counter, char *err, size_t errlen)
{
    struct tpm_pcr_selection remaining = a->sel;
    for (size_t i = 0; i < a->sel.n_banks; i++) {
        memset(&banks[i], 0, sizeof banks[i]);
        banks[i].hash_alg = a->sel.bank[i].hash_alg;
    }
    bool first = true;
    uint32_t first_counter = 0;
    for (int call = 0; call < PCR_READ_CALLS_MAX; call++) {
        bool left = false;
        for (size_t i = 0; i < remaining.n_banks; i++)
            left = left || remaining.bank[i].mask != 0;
        if (!left) {
            *counter = first_counter;
            return 0;
        }
        TPML_PCR_SELECTION in;
        to_tpml(&remaining, &in);
        UINT32 cnt = 0;
        TPML_PCR_SELECTION *out_sel = NULL;
        TPML_DIGEST *vals = NULL;
        TSS2_RC rc = Esys_PCR_Read(a->conn.esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &in, &cnt,
                                   &out_sel, &vals);
        if (rc != TSS2_RC_SUCCESS) {
            tss_err(err, errlen, "TPM2_PCR_Read", rc);
            return -1;
        }
        int ret = 0;
        if (first) {
            first_counter = cnt;
            first = false;
            if (expect && cnt != *counter)
                ret = 1;
        } else if (cnt != first_counter) {
            ret = 1;
        }
        size_t k = 0, got = 0;
        for (UINT32 s = 0; ret == 0 && s < out_sel->count && s < TPM2_NUM_PCR_BANKS; s++) {
            const TPMS_PCR_SELECTION *ps = &out_sel->pcrSelections[s];
            size_t bi = remaining.n_banks;
            for (size_t i = 0; i < remaining.n_banks; i++)
                if (remaining.bank[i].hash_alg == ps->hash)
                    bi = i;
            uint32_t m = tpms_mask(ps);
            if (m == 0)
                continue;
            if (bi == remaining.n_banks || (m & ~remaining.bank[bi].mask) != 0) {
                errbuf_set(err, errlen, "tpm: TPM2_PCR_Read returned PCRs that were not asked "
                                        "for");
                ret = -1;
                break;
            }
            size_t dlen = tpm_hash_size(ps->hash);
            for (unsigned p = 0; p < TPM_PCRS && ret == 0; p++) {
                if (!(m & (1u << p)))
                    continue;
                if (k >= vals->count || vals->digests[k].size != dlen) {
                    errbuf_set(err, errlen, "tpm: TPM2_PCR_Read returned a malformed digest "
                                            "list");
                    ret = -1;
                    break;
                }
                memcpy(banks[bi].value[p], vals->digests[k].buffer, dlen);
                banks[bi].present |= 1u << p;
                k++;
                got++;
            }
            remaining.bank[bi].mask &= ~m;
        }
        if (ret == 0 && k != vals->count) {
            errbuf_set(err, errlen, "tpm: TPM2_PCR_Read returned more digests than PCRs");
            ret = -1;
        }
        if (ret == 0 && got == 0) {
            /* Nothing returned: the bank is not allocated on this TPM (TPM2_PCR_Allocate). */
            for (size_t i = 0; i < remaining.n_banks; i++)
                if (remaining.bank[i].mask) {
                    errbuf_set(err, errlen, "tpm: the TPM returns no %s PCR values (bank not "
                                            "allocated?): choose another pcrs= selection",
                               hash_name(remaining.bank[i].hash_alg));
                    break;
                }
            ret = -1;
        }
        Esys_Free(out_sel);
        Esys_Free(vals);
        if (ret != 0)
            return ret;
    }
    errbuf_set(err, errlen, "tpm: TPM2_PCR_Read did not return every selected PCR");
    return -1;
}

/* Create the AK on c, its marshalled TPMT_PUBLIC into pub (sizeof(TPMT_PUBLIC) bytes). */
static int create_ak(struct tpm_conn *c, uint8_t *pub, size_t *pub_len, char *err, size_t errlen)
{
    TPM2B_PUBLIC tmpl;
    memset(&tmpl, 0, sizeof tmpl);
    TPMT_PUBLIC *p = &tmpl.publicArea;
    p->type = TPM2_ALG_ECC;
    p->nameAlg = TPM2_ALG_SHA256;
    p->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                          TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                          TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
    p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
    p->parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
    p->parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
    p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
    p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
    TPM2B_SENSITIVE_CREATE sens;
    memset(&sens, 0, sizeof sens);
    TPM2B_DATA outside;
    memset(&outside, 0, sizeof outside);
    TPML_PCR_SELECTION creation_pcr;
    memset(&creation_pcr, 0, sizeof creation_pcr);
    TPM2B_PUBLIC *out_pub = NULL;
    TSS2_RC rc = Esys_CreatePrimary(c->esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD,
                                    ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside,
                                    &creation_pcr, &c->ak, &out_pub, NULL, NULL, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        c->ak = ESYS_TR_NONE;
        tss_err(err, errlen, "TPM2_CreatePrimary of the attestation key (endorsement hierarchy)",
                rc);
        return -1;
    }
    size_t off = 0;
    rc = Tss2_MU_TPMT_PUBLIC_Marshal(&out_pub->publicArea, pub, sizeof(TPMT_PUBLIC), &off);
    Esys_Free(out_pub);
    if (rc != TSS2_RC_SUCCESS) {
        tss_err(err, errlen, "marshalling the attestation key's TPMT_PUBLIC", rc);
        return -1;
    }
    *pub_len = off;
    return 0;
}

/* Close this process's connection: flush the AK, finalise ESYS and the TCTI. */
static void conn_close(struct tpm_conn *c)
{
    if (c->esys && c->ak != ESYS_TR_NONE)
        Esys_FlushContext(c->esys, c->ak);
    if (c->esys)
        Esys_Finalize(&c->esys);
    if (c->tcti)
        Tss2_TctiLdr_Finalize(&c->tcti);
    c->esys = NULL;
    c->tcti = NULL;
    c->ak = ESYS_TR_NONE;
    c->pid = 0;
}

/* A connection inherited through fork() belongs to the parent: the AK handle is the parent's
 * and the TCTI's descriptor is shared with it (and with every sibling). The child must neither
 * send on it nor flush the parent's AK: it drops it without any I/O (a little memory the
 * short-lived child never frees) and opens its own. */
static void conn_abandon(struct tpm_conn *c)
{
    c->esys = NULL;
    c->tcti = NULL;
    c->ak = ESYS_TR_NONE;
    c->pid = 0;
}

/* Open a connection for this process and create the AK on it. */
static int conn_open(struct tpm_conn *c, const char *tcti_conf, uint8_t *pub, size_t *pub_len,
                     char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->ak = ESYS_TR_NONE;
    TSS2_RC rc = Tss2_TctiLdr_Initialize(tcti_conf, &c->tcti);
    if (rc != TSS2_RC_SUCCESS) {
        c->tcti = NULL;
        errbuf_set(err, errlen, "tpm: cannot open TCTI \"%.100s\": %s (no TPM there, or "
                                "its libtss2-tcti module is not installed)",
                   tcti_conf, Tss2_RC_Decode(rc));
        return -1;
    }
    rc = Esys_Initialize(&c->esys, c->tcti, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        c->esys = NULL;
        tss_err(err, errlen, "Esys_Initialize", rc);
        conn_close(c);
        return -1;
    }
    /* Bound every response wait where the TCTI can (device, swtpm, mssim). */
    rc = Esys_SetTimeout(c->esys, TPM_TIMEOUT_MS);
    if (rc != TSS2_RC_SUCCESS) {
        tss_err(err, errlen, "Esys_SetTimeout", rc);
        conn_close(c);
        return -1;
    }
    c->pid = getpid();
    if (create_ak(c, pub, pub_len, err, errlen) != 0) {
        conn_close(c);
        return -1;
    }
    return 0;
}

/* The connection evidence() may use in this process: after a fork, a new one whose AK must be
 * the very key open() created (same TPM, same template, same endorsement seed). */
static int conn_for_this_process(struct attester *a, char *err, size_t errlen)
{
    if (a->conn.esys && a->conn.pid == getpid())
        return 0;
    conn_abandon(&a->conn);
    uint8_t pub[sizeof(TPMT_PUBLIC)];
    size_t pub_len = 0;
    if (conn_open(&a->conn, a->tcti_conf, pub, &pub_len, err, errlen) != 0)
        return -1;
    if (pub_len != a->ak_public_len || memcmp(pub, a->ak_public, pub_len) != 0) {
        conn_close(&a->conn);
        errbuf_set(err, errlen, "tpm: the TPM's attestation key changed since the attester was "
                                "opened (endorsement seed changed?)");
        return -1;
    }
    return 0;
}

/* The AK as the verifier will see it: a restricted signing key; and the leaf of akcert, if
 * any, must certify exactly this key. */
static int check_ak(struct attester *a, char *err, size_t errlen)
{
    struct tpm_public pub;
    EVP_PKEY *key = NULL;
    const char *why = NULL;
    if (tpm_public_parse(a->ak_public, a->ak_public_len, &pub, &key, &why) != 0) {
        errbuf_set(err, errlen, "tpm: the attestation key's TPMT_PUBLIC does not parse: %s",
                   why ? why : "?");
        return -1;
    }
    int rc = 0;
    if (!pub.restricted || !pub.sign) {
        errbuf_set(err, errlen, "tpm: the TPM created an attestation key that is not a "
                                "restricted signing key");
        rc = -1;
    }
    if (rc == 0 && a->n_certs > 0) {
        const unsigned char *q = a->certs[0];
        X509 *leaf = d2i_X509(NULL, &q, (long)a->cert_lens[0]);
        EVP_PKEY *lk = leaf ? X509_get0_pubkey(leaf) : NULL;
        if (!lk || EVP_PKEY_eq(lk, key) != 1) {
            errbuf_set(err, errlen, "tpm: the first certificate of akcert does not certify "
                                    "this TPM's attestation key");
            rc = -1;
        }
        X509_free(leaf);
    }
    EVP_PKEY_free(key);
    ERR_clear_error();
    return rc;
}

static int load_akcert(struct attester *a, const char *path, char *err, size_t errlen)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (file_read(path, AKCERT_FILE_MAX, &data, &len) != 0) {
        errbuf_set(err, errlen, "tpm: cannot read akcert %.200s: %s", path, strerror(errno));
        return -1;
    }
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    int rc = bio ? 0 : -1;
    while (rc == 0) {
        X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (!x)
            break;
        if (a->n_certs == TPM_EVIDENCE_MAX_CERTS) {
            errbuf_set(err, errlen, "tpm: akcert %.200s holds more than %d certificates", path,
                       TPM_EVIDENCE_MAX_CERTS);
            rc = -1;
        } else {
            unsigned char *der = NULL;
            int n = i2d_X509(x, &der);
            if (n <= 0 || (size_t)n > UINT16_MAX) {
                OPENSSL_free(der);
                errbuf_set(err, errlen, "tpm: akcert %.200s: cannot encode a certificate", path);
                rc = -1;
            } else {
                a->certs[a->n_certs] = malloc((size_t)n);
                if (!a->certs[a->n_certs]) {
                    errbuf_set(err, errlen, "tpm: out of memory");
                    rc = -1;
                } else {
                    memcpy(a->certs[a->n_certs], der, (size_t)n);
                    a->cert_lens[a->n_certs++] = (size_t)n;
                }
                OPENSSL_free(der);
            }
        }
        X509_free(x);
    }
    BIO_free(bio);
    free(data);
    ERR_clear_error();
    if (rc == 0 && a->n_certs == 0) {
        errbuf_set(err, errlen, "tpm: akcert %.200s holds no PEM certificate", path);
        rc = -1;
    }
    return rc;
}

static void tpm_close(struct attester *a)
{
    if (!a)
        return;
    if (a->conn.pid == getpid())
        conn_close(&a->conn);
    else
        conn_abandon(&a->conn); /* inherited through fork: the parent's to close */
    for (size_t i = 0; i < a->n_certs; i++)
        free(a->certs[i]);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

static struct attester *tpm_open(const char *arg, char *err, size_t errlen)
{
    struct tpm_attester_spec spec;
    if (tpm_attester_parse_spec(arg, &spec, err, errlen) != 0)
        return NULL;
    struct attester *a = calloc(1, sizeof *a);
    if (!a) {
        errbuf_set(err, errlen, "tpm: out of memory");
        return NULL;
    }
    if (pthread_mutex_init(&a->lock, NULL) != 0) {
        free(a);
        errbuf_set(err, errlen, "tpm: cannot create a mutex");
        return NULL;
    }
    a->conn.ak = ESYS_TR_NONE;
    memcpy(a->tcti_conf, spec.tcti, sizeof a->tcti_conf);
    a->sel = spec.pcrs;
    to_tpml(&a->sel, &a->tsel);
    if ((spec.akcert[0] && load_akcert(a, spec.akcert, err, errlen) != 0) ||
        conn_open(&a->conn, a->tcti_conf, a->ak_public, &a->ak_public_len, err, errlen) != 0 ||
        check_ak(a, err, errlen) != 0) {
        tpm_close(a);
        return NULL;
    }
    return a;
}

/* The quote must be over this report_data and selection, and the PCR values must be what it
 * signed. 0, 1 (PCR values do not match: changed meanwhile), -1 with err. */
static int check_quote(struct attester *a, const uint8_t *attest, size_t attest_len,
                       const uint8_t *sig, size_t sig_len, const struct tpm_pcr_bank *banks,
                       const uint8_t report_data[static 64], char *err, size_t errlen)
{
    struct tpm_quote q;
    struct tpm_signature s;
    const char *why = NULL;
    if (tpm_quote_parse(attest, attest_len, &q, &why) != 0) {
        errbuf_set(err, errlen, "tpm: the TPM's quote does not parse: %s", why ? why : "?");
        return -1;
    }
    if (tpm_signature_parse(sig, sig_len, &s, &why) != 0) {
        errbuf_set(err, errlen, "tpm: the TPM's quote signature does not parse: %s",
                   why ? why : "?");
        return -1;
    }
    /* Exactly our report_data, or nothing leaves here. */
    if (q.extra_data_len != BINDER_REPORT_DATA_LEN ||
        !ct_equal(q.extra_data, report_data, BINDER_REPORT_DATA_LEN)) {
        errbuf_set(err, errlen, "tpm: the TPM's quote carries another qualifyingData (not this "
                                "connection's report_data)");
        return -1;
    }
    bool same = q.pcr_select.n_banks == a->sel.n_banks;
    for (size_t i = 0; same && i < a->sel.n_banks; i++)
        same = q.pcr_select.bank[i].hash_alg == a->sel.bank[i].hash_alg &&
               q.pcr_select.bank[i].mask == a->sel.bank[i].mask;
    if (!same) {
        errbuf_set(err, errlen, "tpm: the TPM quoted another PCR selection than requested (bank "
                                "not allocated?)");
        return -1;
    }
    uint8_t d[TPM_MAX_DIGEST];
    size_t dlen = 0;
    if (tpm_pcr_digest(&a->sel, banks, a->sel.n_banks, s.hash_alg, d, &dlen) != 0) {
        errbuf_set(err, errlen, "tpm: cannot compute the PCR digest");
        return -1;
    }
    if (dlen != q.pcr_digest_len || !ct_equal(d, q.pcr_digest, dlen))
        return 1;
    return 0;
}

/* One quote attempt: 0 with *ev filled, 1 to retry (PCRs changed), -1 with err. */
static int quote_once(struct attester *a, const struct binder *b, uint8_t **ev, size_t *ev_len,
                      char *err, size_t errlen)
{
    struct tpm_evidence *e = calloc(1, sizeof *e);
    if (!e) {
        errbuf_set(err, errlen, "tpm: out of memory");
        return -1;
    }
    TPM2B_ATTEST *quoted = NULL;
    TPMT_SIGNATURE *signature = NULL;
    uint8_t sigbuf[sizeof(TPMT_SIGNATURE)];
    size_t siglen = 0;
    int ret = -1;

    /* The update counter before the quote: the values read after it must be under the same. */
    uint32_t counter = 0;
    {
        UINT32 cnt = 0;
        TPML_PCR_SELECTION *os = NULL;
        TPML_DIGEST *ov = NULL;
        TSS2_RC rc = Esys_PCR_Read(a->conn.esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &a->tsel,
                                   &cnt, &os, &ov);
        Esys_Free(os);
        Esys_Free(ov);
        if (rc != TSS2_RC_SUCCESS) {
            tss_err(err, errlen, "TPM2_PCR_Read", rc);
            goto out;
        }
        counter = cnt;
    }

    TPM2B_DATA qualifying;
    memset(&qualifying, 0, sizeof qualifying);
    qualifying.size = BINDER_REPORT_DATA_LEN;
    memcpy(qualifying.buffer, b->report_data, BINDER_REPORT_DATA_LEN);
    TPMT_SIG_SCHEME scheme;
    memset(&scheme, 0, sizeof scheme);
    scheme.scheme = TPM2_ALG_NULL; /* the AK's own: ECDSA with SHA-256 */
    TSS2_RC rc = Esys_Quote(a->conn.esys, a->conn.ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                            &qualifying, &scheme, &a->tsel, &quoted, &signature);
    if (rc != TSS2_RC_SUCCESS) {
        tss_err(err, errlen, "TPM2_Quote", rc);
        goto out;
    }
    if (quoted->size == 0 || quoted->size > TPM_MAX_ATTEST) {
        errbuf_set(err, errlen, "tpm: TPM2_Quote returned an attestation of %u bytes",
                   (unsigned)quoted->size);
        goto out;
    }
    rc = Tss2_MU_TPMT_SIGNATURE_Marshal(signature, sigbuf, sizeof sigbuf, &siglen);
    if (rc != TSS2_RC_SUCCESS) {
        tss_err(err, errlen, "marshalling the quote's TPMT_SIGNATURE", rc);
        goto out;
    }

    int r = read_pcrs(a, e->banks, true, &counter, err, errlen);
    if (r != 0) {
        ret = r;
        goto out;
    }
    r = check_quote(a, quoted->attestationData, quoted->size, sigbuf, siglen, e->banks,
                    b->report_data, err, errlen);
    if (r != 0) {
        ret = r;
        goto out;
    }

    e->ak_public = a->ak_public;
    e->ak_public_len = a->ak_public_len;
    e->attest = quoted->attestationData;
    e->attest_len = quoted->size;
    e->signature = sigbuf;
    e->signature_len = siglen;
    e->n_banks = a->sel.n_banks;
    for (size_t i = 0; i < a->n_certs; i++) {
        e->certs[i] = a->certs[i];
        e->cert_lens[i] = a->cert_lens[i];
    }
    e->n_certs = a->n_certs;
    struct bytes_writer w;
    writer_init(&w, TPM_EVIDENCE_MAX);
    if (tpm_evidence_encode(e, &w) != 0 || w.failed) {
        writer_free(&w);
        errbuf_set(err, errlen, "tpm: cannot encode the evidence container");
        goto out;
    }
    *ev = writer_take(&w, ev_len);
    if (!*ev) {
        *ev_len = 0;
        errbuf_set(err, errlen, "tpm: out of memory");
        goto out;
    }
    ret = 0;
out:
    Esys_Free(quoted);
    Esys_Free(signature);
    free(e);
    return ret;
}

static int tpm_evidence(struct attester *a, const struct binder *b, uint8_t **ev, size_t *ev_len,
                        char *err, size_t errlen)
{
    if (ev)
        *ev = NULL;
    if (ev_len)
        *ev_len = 0;
    if (!a || !b || !ev || !ev_len) {
        errbuf_set(err, errlen, "tpm: bad arguments");
        return -1;
    }
    if (ct_is_zero(b->report_data, sizeof b->report_data)) {
        errbuf_set(err, errlen, "tpm: refusing to quote an all-zero report_data");
        return -1;
    }
    pthread_mutex_lock(&a->lock);
    int rc = conn_for_this_process(a, err, errlen) == 0 ? 1 : -1;
    for (int i = 0; i < QUOTE_ATTEMPTS && rc == 1; i++)
        rc = quote_once(a, b, ev, ev_len, err, errlen);
    pthread_mutex_unlock(&a->lock);
    if (rc == 1)
        errbuf_set(err, errlen, "tpm: the PCRs kept changing during %d quote attempts",
                   QUOTE_ATTEMPTS);
    return rc == 0 ? 0 : -1;
}

const struct attester_backend attester_tpm = {
    .name = "tpm",
    .media_type = TPM_EVIDENCE_MEDIA_TYPE,
    .arg_optional = true,
    .open = tpm_open,
    .evidence = tpm_evidence,
    .close = tpm_close,
};
