/*
 * dcap_verify.c - the "tdx" and "sgx" evidence backends: a DCAP quote verified to the Intel
 * SGX Root CA (or a policy's anchor) with full collateral (dcap_verify.h has the check order
 * and the rules). References: Intel SGX/TDX DCAP Quote Verification Library behaviour,
 * "SGX PCK Certificate and CRL Profile", PCS API v4; research evidence.md A2 and C.
 */
#include "evidence/dcap/dcap_verify.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "collateral/collateral.h"
#include "collateral/pcs.h"
#include "evidence/dcap/intel_roots.h"
#include "util/util.h"
#include "util/x509util.h"

#define FILE_MAX (1024u * 1024u)
#define DIR_MAX_FILES 64
#define SET_MAX_DOCS 64
#define SET_MAX_CRLS 32
#define SET_MAX_CERTS 64
#define SIGNERS_MAX 4
#define FUTURE_TOLERANCE 60 /* seconds: collateral issued slightly after the verification time */

/* ======================================================================================
 * The built-in anchor
 * ====================================================================================== */

static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;
static X509_STORE *builtin_store;
static struct chain_cache *builtin_cache;

static void builtin_init(void)
{
    BIO *b = BIO_new_mem_buf(intel_sgx_root_ca_pem, -1);
    X509 *root = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    X509_STORE *s = X509_STORE_new();
    if (!root || !s || X509_STORE_add_cert(s, root) != 1) {
        X509_STORE_free(s);
        s = NULL;
    }
    X509_free(root);
    builtin_store = s;
    builtin_cache = s ? chain_cache_new() : NULL;
    ERR_clear_error();
}

/* ======================================================================================
 * The collateral set
 * ====================================================================================== */

struct coll_doc {
    bool is_tcb;
    uint8_t *span; /* the signed value, owned copy */
    size_t span_len;
    uint8_t sig[64];
    struct dcap_tcb_info ti;        /* is_tcb */
    struct dcap_qe_identity *qi;    /* !is_tcb, owned */
    char origin[160];
    /* memo (under the set's lock): certificates whose key verified sig over span */
    bool sig_checked;
    X509 *signers[SIGNERS_MAX];
    size_t n_signers;
};

struct coll_crl {
    X509_CRL *crl;
    uint8_t *der; /* owned, the bytes it was parsed from */
    size_t der_len;
    char origin[160];
    X509 *verified_by; /* memo: issuer whose key verified it (up-referenced) */
};

struct dcap_collateral_set {
    pthread_mutex_t lock;
    struct coll_doc *docs[SET_MAX_DOCS];
    size_t n_docs;
    struct coll_crl crls[SET_MAX_CRLS];
    size_t n_crls;
    STACK_OF(X509) *certs; /* untrusted: issuer chains and loose certificates */
    bool pcs;
    char pcs_cache[512];
};

static void doc_free(struct coll_doc *d)
{
    if (!d)
        return;
    free(d->span);
    dcap_tcb_info_free(&d->ti);
    free(d->qi);
    for (size_t i = 0; i < d->n_signers; i++)
        X509_free(d->signers[i]);
    free(d);
}

void dcap_collateral_set_free(struct dcap_collateral_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_docs; i++)
        doc_free(s->docs[i]);
    for (size_t i = 0; i < s->n_crls; i++) {
        X509_CRL_free(s->crls[i].crl);
        free(s->crls[i].der);
        X509_free(s->crls[i].verified_by);
    }
    sk_X509_pop_free(s->certs, X509_free);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static struct dcap_collateral_set *set_new(void)
{
    struct dcap_collateral_set *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->certs = sk_X509_new_null();
    if (!s->certs || pthread_mutex_init(&s->lock, NULL) != 0) {
        sk_X509_free(s->certs);
        free(s);
        return NULL;
    }
    return s;
}

/* A signed document: split, parse, keep. -1 with why on a malformed document. */
static int add_doc(struct dcap_collateral_set *s, bool is_tcb, const uint8_t *span, size_t n,
                   const uint8_t sig[64], const char *origin, char *why, size_t whylen)
{
    if (s->n_docs == SET_MAX_DOCS) {
        errbuf_set(why, whylen, "%s: more than %d collateral documents", origin, SET_MAX_DOCS);
        return -1;
    }
    struct coll_doc *d = calloc(1, sizeof *d);
    if (!d || !(d->span = malloc(n ? n : 1))) {
        free(d);
        errbuf_set(why, whylen, "out of memory");
        return -1;
    }
    memcpy(d->span, span, n);
    d->span_len = n;
    memcpy(d->sig, sig, 64);
    d->is_tcb = is_tcb;
    snprintf(d->origin, sizeof d->origin, "%s", origin);
    const char *w = NULL;
    int rc;
    if (is_tcb) {
        rc = dcap_tcb_info_parse(d->span, n, &d->ti, &w);
    } else {
        d->qi = calloc(1, sizeof *d->qi);
        rc = d->qi ? dcap_qe_identity_parse(d->span, n, d->qi, &w) : -1;
    }
    if (rc != 0) {
        errbuf_set(why, whylen, "%s: %s %s", origin, is_tcb ? "TCB Info" : "QE Identity",
                   w ? w : "out of memory");
        doc_free(d);
        return -1;
    }
    s->docs[s->n_docs++] = d;
    return 0;
}

static int add_crl_der(struct dcap_collateral_set *s, const uint8_t *der, size_t n,
                       const char *origin, char *why, size_t whylen)
{
    if (s->n_crls == SET_MAX_CRLS) {
        errbuf_set(why, whylen, "%s: more than %d CRLs", origin, SET_MAX_CRLS);
        return -1;
    }
    const unsigned char *p = der;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)n);
    uint8_t *copy = crl && p == der + n ? malloc(n) : NULL;
    if (!copy) {
        X509_CRL_free(crl);
        ERR_clear_error();
        errbuf_set(why, whylen, "%s: not exactly one DER CRL", origin);
        return -1;
    }
    memcpy(copy, der, n);
    struct coll_crl *c = &s->crls[s->n_crls++];
    c->crl = crl;
    c->der = copy;
    c->der_len = n;
    snprintf(c->origin, sizeof c->origin, "%s", origin);
    return 0;
}

static int add_cert(struct dcap_collateral_set *s, X509 *x, const char *origin, char *why,
                    size_t whylen)
{
    for (int i = 0; i < sk_X509_num(s->certs); i++)
        if (X509_cmp(sk_X509_value(s->certs, i), x) == 0) { /* full DER compare */
            X509_free(x);
            return 0;
        }
    if (sk_X509_num(s->certs) >= SET_MAX_CERTS || !sk_X509_push(s->certs, x)) {
        X509_free(x);
        errbuf_set(why, whylen, "%s: more than %d certificates", origin, SET_MAX_CERTS);
        return -1;
    }
    return 0;
}

/* Every certificate of a PEM text (bounded), as untrusted chain material. */
static int add_pem_certs(struct dcap_collateral_set *s, const uint8_t *pem, size_t n,
                         const char *origin, char *why, size_t whylen)
{
    BIO *b = BIO_new_mem_buf(pem, (int)n);
    int count = 0;
    X509 *x;
    while (b && count < 16 && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        if (add_cert(s, x, origin, why, whylen) != 0) {
            BIO_free(b);
            return -1;
        }
        count++;
    }
    BIO_free(b);
    ERR_clear_error();
    if (count == 0) {
        errbuf_set(why, whylen, "%s: no PEM certificate", origin);
        return -1;
    }
    return 0;
}

static bool hex_blob(const char *h, uint8_t **out, size_t *n)
{
    size_t l = h ? strlen(h) : 0;
    if (l >= 2 && h[0] == '0' && (h[1] == 'x' || h[1] == 'X')) {
        h += 2;
        l -= 2;
    }
    if (l == 0 || l % 2 || l / 2 > FILE_MAX)
        return false;
    *out = malloc(l / 2);
    if (!*out || hex_decode(h, *out, l / 2, n) != 0 || *n != l / 2) {
        free(*out);
        *out = NULL;
        return false;
    }
    return true;
}

/* The combined JSON bundle some tools write (e.g. Phala dcap-qvl): the signed documents as
 * strings holding their exact bytes, signatures and CRLs in hex, issuer chains in PEM.
 * 1 if it was one (and was added), 0 if not this format, -1 if it was but is malformed. */
static int add_bundle_json(struct dcap_collateral_set *s, const uint8_t *buf, size_t n,
                           const char *origin, char *why, size_t whylen)
{
    json_error_t je;
    json_t *o = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(o) || !json_is_string(json_object_get(o, "tcb_info"))) {
        json_decref(o);
        return 0;
    }
    int rc = -1;
    static const struct {
        const char *doc, *sig;
        bool tcb;
    } docs[] = {{"tcb_info", "tcb_info_signature", true},
                {"qe_identity", "qe_identity_signature", false}};
    for (size_t i = 0; i < 2; i++) {
        json_t *d = json_object_get(o, docs[i].doc), *sg = json_object_get(o, docs[i].sig);
        uint8_t *sig = NULL;
        size_t sl = 0;
        char where[200];
        snprintf(where, sizeof where, "%s (%s)", origin, docs[i].doc);
        if (!json_is_string(d) || !json_is_string(sg) ||
            !hex_blob(json_string_value(sg), &sig, &sl) || sl != 64) {
            free(sig);
            errbuf_set(why, whylen, "%s: missing or malformed %s / %s", origin, docs[i].doc,
                       docs[i].sig);
            goto out;
        }
        int arc = add_doc(s, docs[i].tcb, (const uint8_t *)json_string_value(d),
                          json_string_length(d), sig, where, why, whylen);
        free(sig);
        if (arc != 0)
            goto out;
    }
    static const char *const crls[] = {"pck_crl", "root_ca_crl"};
    for (size_t i = 0; i < 2; i++) {
        json_t *c = json_object_get(o, crls[i]);
        uint8_t *der = NULL;
        size_t dl = 0;
        char where[200];
        snprintf(where, sizeof where, "%s (%s)", origin, crls[i]);
        if (!c)
            continue;
        if (!json_is_string(c) || !hex_blob(json_string_value(c), &der, &dl)) {
            errbuf_set(why, whylen, "%s: %s is not hex DER", origin, crls[i]);
            goto out;
        }
        int crc = add_crl_der(s, der, dl, where, why, whylen);
        free(der);
        if (crc != 0)
            goto out;
    }
    static const char *const chains[] = {"tcb_info_issuer_chain", "qe_identity_issuer_chain",
                                         "pck_crl_issuer_chain"};
    for (size_t i = 0; i < 3; i++) {
        json_t *c = json_object_get(o, chains[i]);
        if (c && (!json_is_string(c) ||
                  add_pem_certs(s, (const uint8_t *)json_string_value(c), json_string_length(c),
                                origin, why, whylen) != 0))
            goto out;
    }
    rc = 1;
out:
    json_decref(o);
    return rc;
}

static bool contains(const uint8_t *h, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; k <= n && i <= n - k; i++)
        if (memcmp(h + i, needle, k) == 0)
            return true;
    return false;
}

/* One file. In a folder (explicit false) files that are not DCAP collateral are skipped. */
static int add_buffer(struct dcap_collateral_set *s, const uint8_t *buf, size_t n,
                      const char *origin, bool explicit, char *why, size_t whylen)
{
    size_t i = 0;
    while (i < n && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t'))
        i++;
    if (i < n && buf[i] == '{') {
        const uint8_t *span;
        size_t sl;
        uint8_t sig[64];
        const char *w = NULL;
        if (dcap_signed_split(buf, n, "tcbInfo", &span, &sl, sig, &w) == 0)
            return add_doc(s, true, span, sl, sig, origin, why, whylen);
        if (dcap_signed_split(buf, n, "enclaveIdentity", &span, &sl, sig, &w) == 0)
            return add_doc(s, false, span, sl, sig, origin, why, whylen);
        int b = add_bundle_json(s, buf, n, origin, why, whylen);
        if (b != 0)
            return b < 0 ? -1 : 0;
        if (!explicit)
            return 0;
        errbuf_set(why, whylen, "%s: JSON, but not a TCB Info, QE Identity or collateral bundle",
                   origin);
        return -1;
    }
    if (contains(buf, n, "-----BEGIN")) {
        if (contains(buf, n, "-----BEGIN X509 CRL")) {
            BIO *b = BIO_new_mem_buf(buf, (int)n);
            X509_CRL *crl = b ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
            BIO_free(b);
            unsigned char *der = NULL;
            int dl = crl ? i2d_X509_CRL(crl, &der) : -1;
            X509_CRL_free(crl);
            int rc = dl > 0 ? add_crl_der(s, der, (size_t)dl, origin, why, whylen) : -1;
            OPENSSL_free(der);
            if (dl <= 0)
                errbuf_set(why, whylen, "%s: unreadable PEM CRL", origin);
            ERR_clear_error();
            return rc;
        }
        if (!contains(buf, n, "CERTIFICATE-----"))
            return explicit ? (errbuf_set(why, whylen, "%s: PEM without certificates", origin), -1)
                            : 0;
        return add_pem_certs(s, buf, n, origin, why, whylen);
    }
    if (collateral_is_der_crl(buf, n))
        return add_crl_der(s, buf, n, origin, why, whylen);
    if (collateral_is_der_cert(buf, n)) {
        const unsigned char *p = buf;
        X509 *x = d2i_X509(NULL, &p, (long)n);
        if (!x) {
            ERR_clear_error();
            errbuf_set(why, whylen, "%s: unreadable certificate", origin);
            return -1;
        }
        return add_cert(s, x, origin, why, whylen);
    }
    if (!explicit)
        return 0;
    errbuf_set(why, whylen, "%s: not DCAP collateral (TCB Info or QE Identity JSON, PEM "
                            "certificates, DER or PEM CRL)", origin);
    return -1;
}

static int add_file(struct dcap_collateral_set *s, const char *path, bool explicit, char *why,
                    size_t whylen)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    if (file_read(path, FILE_MAX, &buf, &n) != 0) {
        errbuf_set(why, whylen, "%s: cannot read (or larger than %u bytes): %s", path, FILE_MAX,
                   strerror(errno));
        return -1;
    }
    int rc = add_buffer(s, buf, n, path, explicit, why, whylen);
    free(buf);
    return rc;
}

int dcap_collateral_set_from_buffer(const uint8_t *buf, size_t n,
                                    struct dcap_collateral_set **out, char *why, size_t whylen)
{
    *out = NULL;
    struct dcap_collateral_set *s = set_new();
    if (!s) {
        errbuf_set(why, whylen, "out of memory");
        return -1;
    }
    if (!buf || n > FILE_MAX || add_buffer(s, buf, n, "<buffer>", true, why, whylen) != 0) {
        if (buf && n > FILE_MAX)
            errbuf_set(why, whylen, "collateral larger than %u bytes", FILE_MAX);
        dcap_collateral_set_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_path(struct dcap_collateral_set *s, const char *path, char *why, size_t whylen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        errbuf_set(why, whylen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return add_file(s, path, true, why, whylen);
    DIR *d = opendir(path);
    if (!d) {
        errbuf_set(why, whylen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *names[DIR_MAX_FILES];
    size_t n = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == DIR_MAX_FILES) {
            errbuf_set(why, whylen, "%s: more than %d files", path, DIR_MAX_FILES);
            rc = -1;
            break;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_str); /* a stable order, whatever readdir gives */
    for (size_t i = 0; i < n && rc == 0; i++) {
        char fp[1024];
        struct stat fs;
        if (path_join(fp, sizeof fp, path, names[i]) != 0 || stat(fp, &fs) != 0 ||
            !S_ISREG(fs.st_mode))
            continue;
        rc = add_file(s, fp, false, why, whylen);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    return rc;
}

int dcap_collateral_set_load(const char *const *paths, size_t n, const char *base_dir,
                             struct dcap_collateral_set **out, char *why, size_t whylen)
{
    *out = NULL;
    struct dcap_collateral_set *s = set_new();
    if (!s) {
        errbuf_set(why, whylen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *p = paths[i];
        char full[1024];
        bool pcs = strncmp(p, DCAP_PCS_PREFIX, strlen(DCAP_PCS_PREFIX)) == 0;
        if (pcs)
            p += strlen(DCAP_PCS_PREFIX);
        if (base_dir && p[0] != '/') {
            if (path_join(full, sizeof full, base_dir, p) != 0) {
                errbuf_set(why, whylen, "%s: path too long", p);
                goto fail;
            }
            p = full;
        }
        if (pcs) {
            if (!p[0] || strlen(p) >= sizeof s->pcs_cache) {
                errbuf_set(why, whylen, "pcs: needs a cache folder (pcs:DIR)");
                goto fail;
            }
            s->pcs = true;
            snprintf(s->pcs_cache, sizeof s->pcs_cache, "%s", p);
            continue;
        }
        if (add_path(s, p, why, whylen) != 0)
            goto fail;
    }
    *out = s;
    return 0;
fail:
    dcap_collateral_set_free(s);
    return -1;
}

/* ======================================================================================
 * PCS: fetch what the set lacks (into the set, under its lock)
 * ====================================================================================== */

static bool have_tcb(const struct dcap_collateral_set *s, bool tdx, const uint8_t fmspc[6])
{
    for (size_t i = 0; i < s->n_docs; i++)
        if (s->docs[i]->is_tcb && s->docs[i]->ti.tdx == tdx &&
            memcmp(s->docs[i]->ti.fmspc, fmspc, 6) == 0)
            return true;
    return false;
}

static bool have_qe(const struct dcap_collateral_set *s, bool tdx)
{
    for (size_t i = 0; i < s->n_docs; i++)
        if (!s->docs[i]->is_tcb && strcmp(s->docs[i]->qi->id, tdx ? "TD_QE" : "QE") == 0)
            return true;
    return false;
}

static bool have_crl_by(const struct dcap_collateral_set *s, const X509_NAME *issuer)
{
    for (size_t i = 0; i < s->n_crls; i++)
        if (X509_NAME_cmp(X509_CRL_get_issuer(s->crls[i].crl), issuer) == 0)
            return true;
    return false;
}

static void pcs_config_for(const struct dcap_collateral_set *s, time_t at, struct pcs_config *c)
{
    memset(c, 0, sizeof *c);
    c->cache_dir = s->pcs_cache;
    const char *mirror = getenv("TETHER_PCS_URL");
    c->base_url = mirror && mirror[0] ? mirror : PCS_BASE_URL;
    c->max_retries = 2;
    c->now = (int64_t)at;
}

static int pcs_add_doc(struct dcap_collateral_set *s, struct pcs_doc *d, bool tcb,
                       const char *what, char *why, size_t whylen)
{
    const uint8_t *span;
    size_t sl;
    uint8_t sig[64];
    const char *w = NULL;
    char origin[200];
    snprintf(origin, sizeof origin, "PCS %s%s", what, d->from_cache ? " (cache)" : "");
    if (dcap_signed_split(d->body, d->body_len, tcb ? "tcbInfo" : "enclaveIdentity", &span, &sl,
                          sig, &w) != 0) {
        errbuf_set(why, whylen, "%s: %s", origin, w ? w : "malformed");
        return -1;
    }
    if (add_doc(s, tcb, span, sl, sig, origin, why, whylen) != 0)
        return -1;
    return d->issuer_chain ? add_pem_certs(s, d->issuer_chain, d->issuer_chain_len, origin, why,
                                           whylen)
                           : 0;
}

/* Fetch the items a quote needs that the set does not hold. Failures are reported by the
 * checks that then find the item missing; why keeps the first fetch error. */
static void pcs_fill(struct dcap_collateral_set *s, bool tdx, const uint8_t fmspc[6],
                     const X509_NAME *pck_issuer, bool platform_ca, const X509_NAME *root_name,
                     time_t at, char *why, size_t whylen)
{
    struct pcs_config c;
    pcs_config_for(s, at, &c);
    char err[300] = "", e[300];
    struct pcs_doc d;
    /* Keep the first error for the report. */
#define KEEP() do { if (!err[0] && e[0]) snprintf(err, sizeof err, "%s", e); } while (0)
    if (!have_tcb(s, tdx, fmspc)) {
        memset(&d, 0, sizeof d);
        e[0] = '\0';
        if (pcs_tcb_info(&c, tdx, fmspc, &d, e, sizeof e) == COLLATERAL_OK)
            (void)pcs_add_doc(s, &d, true, "TCB Info", e, sizeof e);
        KEEP();
        pcs_doc_free(&d);
    }
    if (!have_qe(s, tdx)) {
        memset(&d, 0, sizeof d);
        e[0] = '\0';
        if (pcs_qe_identity(&c, tdx, &d, e, sizeof e) == COLLATERAL_OK)
            (void)pcs_add_doc(s, &d, false, "QE Identity", e, sizeof e);
        KEEP();
        pcs_doc_free(&d);
    }
    if (pck_issuer && !have_crl_by(s, pck_issuer)) {
        memset(&d, 0, sizeof d);
        e[0] = '\0';
        if (pcs_pck_crl(&c, platform_ca, &d, e, sizeof e) == COLLATERAL_OK &&
            add_crl_der(s, d.body, d.body_len, "PCS PCK CRL", e, sizeof e) == 0 &&
            d.issuer_chain)
            (void)add_pem_certs(s, d.issuer_chain, d.issuer_chain_len, "PCS PCK CRL", e,
                                sizeof e);
        KEEP();
        pcs_doc_free(&d);
    }
    if (root_name && !have_crl_by(s, root_name)) {
        memset(&d, 0, sizeof d);
        e[0] = '\0';
        if (pcs_root_crl(&c, &d, e, sizeof e) == COLLATERAL_OK)
            (void)add_crl_der(s, d.body, d.body_len, "PCS Root CA CRL", e, sizeof e);
        KEEP();
        pcs_doc_free(&d);
    }
#undef KEEP
    if (err[0])
        errbuf_set(why, whylen, "%s", err);
}

/* ======================================================================================
 * Helpers for the checks
 * ====================================================================================== */

static void fmt_date(int64_t t, char *buf, size_t n)
{
    char b[21];
    if (t < 0 || t > 253402300799LL) {
        snprintf(buf, n, "?");
        return;
    }
    rfc3339_format((time_t)t, b);
    snprintf(buf, n, "%s", b);
}

static bool crl_time(const ASN1_TIME *t, int64_t *out)
{
    time_t v;
    if (!t || x509_time(t, &v) != 0)
        return false;
    *out = (int64_t)v;
    return true;
}

static const char *chain_code(int err)
{
    switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return "dcap_cert_expired";
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return "dcap_cert_not_yet_valid";
    default:
        return "evidence_chain_untrusted";
    }
}

/* Verify cert to the anchors at time t with untrusted material; on success, *chain (leaf
 * first, up-referenced) when chain is non-NULL. Cached per (DER, time window). */
/* The cache key: the certificate's DER (tag 0), or the caller's bytes (key, e.g. the quote's
 * PEM chain, tag CACHE_TAG_PCK_PEM) so that a hit needs no decoding at all. */
#define CACHE_TAG_PCK_PEM 1
static int verify_to_anchor_key(X509_STORE *store, struct chain_cache *cache, X509 *cert,
                                STACK_OF(X509) *untrusted, time_t t, STACK_OF(X509) **chain,
                                int *err, const uint8_t *key, size_t key_len, int tag)
{
    unsigned char *der = NULL;
    int dl = key ? (int)key_len : i2d_X509(cert, &der);
    if (dl <= 0) {
        *err = X509_V_ERR_UNSPECIFIED;
        return -1;
    }
    const uint8_t *k = key ? key : der;
    X509 *hit = cache ? chain_cache_lookup_ex(cache, k, (size_t)dl, NULL, t, tag, NULL, chain)
                      : NULL;
    if (hit) {
        X509_free(hit);
        OPENSSL_free(der);
        return 0;
    }
    STACK_OF(X509) *c = NULL;
    int ok = x509_verify_at(store, cert, untrusted, t, err, &c) == 0 && c;
    if (ok) {
        struct chain_cache_info info = {.tag = tag};
        if (cache)
            chain_cache_add_ex(cache, k, (size_t)dl, cert, c, &info);
        if (chain)
            *chain = c;
        else
            sk_X509_pop_free(c, X509_free);
    } else {
        sk_X509_pop_free(c, X509_free);
    }
    OPENSSL_free(der);
    return ok ? 0 : -1;
}

static int verify_to_anchor(X509_STORE *store, struct chain_cache *cache, X509 *cert,
                            STACK_OF(X509) *untrusted, time_t t, STACK_OF(X509) **chain,
                            int *err)
{
    return verify_to_anchor_key(store, cache, cert, untrusted, t, chain, err, NULL, 0, 0);
}

/* The newest document of a kind for this quote whose issueDate is not after the verification
 * time (within tolerance); NULL if none. *future reports that only later ones exist. */
static struct coll_doc *pick_doc(struct dcap_collateral_set *s, bool tcb, bool tdx,
                                 const uint8_t fmspc[6], time_t at, bool *future)
{
    struct coll_doc *best = NULL;
    *future = false;
    for (size_t i = 0; i < s->n_docs; i++) {
        struct coll_doc *d = s->docs[i];
        if (d->is_tcb != tcb)
            continue;
        int64_t issued;
        if (tcb) {
            if (d->ti.tdx != tdx || memcmp(d->ti.fmspc, fmspc, 6) != 0)
                continue;
            issued = d->ti.issue_date;
        } else {
            if (strcmp(d->qi->id, tdx ? "TD_QE" : "QE") != 0)
                continue;
            issued = d->qi->issue_date;
        }
        if (issued > (int64_t)at + FUTURE_TOLERANCE) {
            *future = true;
            continue;
        }
        int64_t bi = !best ? 0 : tcb ? best->ti.issue_date : best->qi->issue_date;
        if (!best || issued > bi)
            best = d;
    }
    return best;
}

static X509_CRL *pick_crl(struct dcap_collateral_set *s, const X509_NAME *issuer, time_t at,
                          struct coll_crl **entry)
{
    struct coll_crl *best = NULL;
    int64_t best_this = 0;
    for (size_t i = 0; i < s->n_crls; i++) {
        struct coll_crl *c = &s->crls[i];
        int64_t tu;
        if (X509_NAME_cmp(X509_CRL_get_issuer(c->crl), issuer) != 0 ||
            !crl_time(X509_CRL_get0_lastUpdate(c->crl), &tu) ||
            tu > (int64_t)at + FUTURE_TOLERANCE)
            continue;
        if (!best || tu > best_this) {
            best = c;
            best_this = tu;
        }
    }
    *entry = best;
    return best ? best->crl : NULL;
}

/* The signature of d by a TCB Signing certificate from the set that chains to the anchor and
 * was valid at the document's issueDate (the 2018 and 2025 copies share a key: the copy whose
 * validity covers the issue date is the one that counts; evidence.md A2). 0 with *signer. */
static int verify_doc(struct dcap_collateral_set *s, struct coll_doc *d, X509_STORE *store,
                      struct chain_cache *cache, X509 **signer, char *why, size_t whylen)
{
    pthread_mutex_lock(&s->lock);
    if (!d->sig_checked) {
        for (int i = 0; i < sk_X509_num(s->certs) && d->n_signers < SIGNERS_MAX; i++) {
            X509 *x = sk_X509_value(s->certs, i);
            EVP_PKEY *k = X509_get0_pubkey(x);
            if (X509_check_ca(x) || !ec_key_is_curve(k, NID_X9_62_prime256v1))
                continue;
            if (dcap_ecdsa_p256_verify(k, d->sig, d->span, d->span_len) == 0 &&
                X509_up_ref(x) == 1)
                d->signers[d->n_signers++] = x;
        }
        d->sig_checked = true;
        ERR_clear_error();
    }
    X509 *cands[SIGNERS_MAX];
    size_t nc = d->n_signers;
    for (size_t i = 0; i < nc; i++) {
        cands[i] = d->signers[i];
        X509_up_ref(cands[i]);
    }
    STACK_OF(X509) *pool = sk_X509_dup(s->certs);
    for (int i = 0; pool && i < sk_X509_num(pool); i++)
        X509_up_ref(sk_X509_value(pool, i));
    pthread_mutex_unlock(&s->lock);

    int rc = -1, err = 0;
    if (nc == 0)
        errbuf_set(why, whylen, "no certificate in the collateral verifies the signature over "
                                "%s (give the issuer chain, e.g. *_issuer_chain.pem)", d->origin);
    int64_t issued = d->is_tcb ? d->ti.issue_date : d->qi->issue_date;
    for (size_t i = 0; i < nc && rc != 0; i++) {
        if (verify_to_anchor(store, cache, cands[i], pool, (time_t)issued, NULL, &err) == 0) {
            *signer = cands[i];
            X509_up_ref(cands[i]);
            rc = 0;
        } else {
            char sub[200];
            X509_NAME_oneline(X509_get_subject_name(cands[i]), sub, sizeof sub);
            char date[24];
            fmt_date(issued, date, sizeof date);
            errbuf_set(why, whylen, "the signer of %s (%s) does not chain to the trust anchor at "
                       "its issueDate %s: %s", d->origin, sub, date,
                       X509_verify_cert_error_string(err));
        }
    }
    for (size_t i = 0; i < nc; i++)
        X509_free(cands[i]);
    sk_X509_pop_free(pool, X509_free);
    return rc;
}

/* A CRL signed by issuer (memoised per CRL). 0 if valid. */
static int verify_crl(struct dcap_collateral_set *s, struct coll_crl *c, X509 *issuer)
{
    pthread_mutex_lock(&s->lock);
    bool memo = c->verified_by && X509_cmp(c->verified_by, issuer) == 0;
    pthread_mutex_unlock(&s->lock);
    if (memo)
        return 0;
    EVP_PKEY *k = X509_get0_pubkey(issuer);
    int ok = k && X509_CRL_verify(c->crl, k) == 1;
    ERR_clear_error();
    if (!ok)
        return -1;
    pthread_mutex_lock(&s->lock);
    if (!c->verified_by && X509_up_ref(issuer) == 1)
        c->verified_by = issuer;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static bool revoked(X509_CRL *crl, X509 *x)
{
    X509_REVOKED *rv = NULL;
    return X509_CRL_get0_by_serial(crl, &rv, X509_get0_serialNumber(x)) == 1;
}

/* ======================================================================================
 * Attestation keys
 * ====================================================================================== */

/* A QE keeps its attestation key across quotes (until it restarts), so a relying party sees
 * the same few keys again and again: imported keys are kept, keyed by their exact 64 raw
 * bytes, in a small process-wide table (replaced round-robin). Only the import is saved; every
 * quote's signature is still verified. */
#define AK_CACHE 16
static pthread_mutex_t ak_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    uint8_t raw[DCAP_ECDSA_KEY_LEN];
    EVP_PKEY *key;
} ak_cache[AK_CACHE];
static size_t ak_next;

static EVP_PKEY *attestation_key(const uint8_t raw[DCAP_ECDSA_KEY_LEN])
{
    EVP_PKEY *k = NULL;
    pthread_mutex_lock(&ak_lock);
    for (size_t i = 0; i < AK_CACHE && !k; i++)
        if (ak_cache[i].key && memcmp(ak_cache[i].raw, raw, DCAP_ECDSA_KEY_LEN) == 0 &&
            EVP_PKEY_up_ref(ak_cache[i].key) == 1)
            k = ak_cache[i].key;
    pthread_mutex_unlock(&ak_lock);
    if (k)
        return k;
    k = dcap_p256_from_raw(raw);
    if (!k)
        return NULL;
    pthread_mutex_lock(&ak_lock);
    if (EVP_PKEY_up_ref(k) == 1) {
        size_t i = ak_next++ % AK_CACHE;
        EVP_PKEY_free(ak_cache[i].key);
        memcpy(ak_cache[i].raw, raw, DCAP_ECDSA_KEY_LEN);
        ak_cache[i].key = k;
    }
    pthread_mutex_unlock(&ak_lock);
    return k;
}

/* (a) of the Quote Library API: the quote signed by its attestation key. */
static int verify_quote_sig(const struct dcap_quote *q)
{
    EVP_PKEY *k = attestation_key(q->attest_key);
    int rc = k && dcap_ecdsa_p256_verify(k, q->signature, q->signed_region, q->signed_len) == 0
                 ? DCAP_SIG_OK
                 : DCAP_SIG_ERR_QUOTE_SIG;
    EVP_PKEY_free(k);
    return rc;
}

/* ======================================================================================
 * Claims
 * ====================================================================================== */

static void set_u64hex(json_t *o, const char *k, uint64_t v)
{
    char b[17];
    snprintf(b, sizeof b, "%016llx", (unsigned long long)v);
    json_object_set_new_nocheck(o, k, json_string_nocheck(b));
}

static void fill_quote_claims(const struct dcap_quote *q, bool tdx, struct claims *c,
                              struct dcap_claims *dc)
{
    snprintf(c->tee, sizeof c->tee, "%s", tdx ? "tdx" : "sgx");
    memcpy(c->report_data, q->report_data, 64);
    c->has_report_data = true;
    dc->tdx = tdx;
    dc->body_type = q->body_type;
    dc->qe_svn = q->header.qe_svn;
    dc->pce_svn = q->header.pce_svn;
    json_t *x = c->extra;
    json_object_set_new(x, "quote_version", json_integer(q->header.version));
    if (tdx) {
        const struct dcap_td_report *t = &q->body.td;
        dc->td = *t;
        memcpy(c->measurement, t->mrtd, 48);
        c->measurement_len = 48;
        c->debug = (t->td_attributes & 1) != 0; /* TDX ABI: TDATTRIBUTES.DEBUG is bit 0 */
        json_object_set_new(x, "body", json_string(t->is_td15 ? "TD1.5" : "TD1.0"));
        evidence_json_set_hex(x, "mrtd", t->mrtd, 48);
        static const char *const rn[4] = {"rtmr0", "rtmr1", "rtmr2", "rtmr3"};
        for (int i = 0; i < 4; i++)
            evidence_json_set_hex(x, rn[i], t->rtmr[i], 48);
        evidence_json_set_hex(x, "mrseam", t->mrseam, 48);
        evidence_json_set_hex(x, "mrsignerseam", t->mrsignerseam, 48);
        evidence_json_set_hex(x, "mrconfigid", t->mrconfigid, 48);
        evidence_json_set_hex(x, "mrowner", t->mrowner, 48);
        evidence_json_set_hex(x, "mrownerconfig", t->mrownerconfig, 48);
        evidence_json_set_hex(x, "tee_tcb_svn", t->tee_tcb_svn, 16);
        if (t->is_td15) {
            evidence_json_set_hex(x, "tee_tcb_svn2", t->tee_tcb_svn2, 16);
            evidence_json_set_hex(x, "mrservicetd", t->mrservicetd, 48);
        }
        set_u64hex(x, "td_attributes", t->td_attributes);
        set_u64hex(x, "seam_attributes", t->seam_attributes);
        set_u64hex(x, "xfam", t->xfam);
    } else {
        const struct dcap_sgx_report *e = &q->body.sgx;
        dc->sgx = *e;
        memcpy(c->measurement, e->mrenclave, 32);
        c->measurement_len = 32;
        c->debug = (e->attr_flags & 2) != 0; /* SGX ATTRIBUTES.DEBUG is bit 1 */
        json_object_set_new(x, "body", json_string("SGX"));
        evidence_json_set_hex(x, "mrenclave", e->mrenclave, 32);
        evidence_json_set_hex(x, "mrsigner", e->mrsigner, 32);
        json_object_set_new(x, "isv_prod_id", json_integer(e->isv_prod_id));
        json_object_set_new(x, "isv_svn", json_integer(e->isv_svn));
        evidence_json_set_hex(x, "attributes", e->attributes, 16);
        json_object_set_new(x, "misc_select", json_integer(e->misc_select));
        evidence_json_set_hex(x, "cpu_svn", e->cpu_svn, 16);
    }
    json_object_set_new(x, "qe_svn", json_integer(q->header.qe_svn));
    json_object_set_new(x, "pce_svn", json_integer(q->header.pce_svn));
}

static void fill_pck_claims(const struct dcap_pck_ext *p, struct claims *c)
{
    json_t *o = json_object();
    if (!o)
        return;
    evidence_json_set_hex(o, "fmspc", p->fmspc, 6);
    evidence_json_set_hex(o, "pce_id", p->pce_id, 2);
    evidence_json_set_hex(o, "ppid", p->ppid, 16);
    evidence_json_set_hex(o, "cpu_svn", p->cpusvn, 16);
    json_object_set_new(o, "pce_svn", json_integer(p->pcesvn));
    static const char *const types[] = {"Standard", "Scalable", "Scalable with integrity"};
    json_object_set_new(o, "sgx_type", p->sgx_type >= 0 && p->sgx_type <= 2
                                           ? json_string(types[p->sgx_type])
                                           : json_integer(p->sgx_type));
    if (p->has_platform_instance_id)
        evidence_json_set_hex(o, "platform_instance_id", p->platform_instance_id, 16);
    json_object_set_new(c->extra, "pck", o);
    /* The platform identity: the Platform Instance ID where the PCK has one (multi-package
     * platforms, Platform CA), else the PPID (one package). */
    const uint8_t *id = p->has_platform_instance_id ? p->platform_instance_id : p->ppid;
    memcpy(c->platform_id, id, 16);
    c->platform_id_len = 16;
    json_object_set_new(c->extra, "platform_id_source",
                        json_string(p->has_platform_instance_id ? "platform_instance_id" : "ppid"));
}

static json_t *advisories_json(const struct dcap_advisories *a)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < a->n; i++)
        json_array_append_new(arr, json_string(a->id[i]));
    return arr;
}

static json_t *dated(int64_t issue, int64_t next, time_t at)
{
    char a[24], b[24];
    json_t *o = json_object();
    fmt_date(issue, a, sizeof a);
    fmt_date(next, b, sizeof b);
    json_object_set_new(o, "issued", json_string(a));
    json_object_set_new(o, "next_update", json_string(b));
    json_object_set_new(o, "fresh", json_boolean((int64_t)at < next));
    return o;
}

static void claims_free_dcap(void *p)
{
    free(p);
}

/* ======================================================================================
 * The verification
 * ====================================================================================== */

struct ctx {
    bool tdx;
    time_t at;
    struct tether_result *r;
    struct claims *out;
    struct dcap_claims *dc;
    X509_STORE *store;
    struct chain_cache *cache;
    const char *origin;
};

static int fail(struct ctx *c, const char *name, const char *code, const char *exp,
                const char *act, const char *detail)
{
    result_check(c->r, name, CHECK_FAIL, code, exp, act, detail);
    return -1;
}

static void note_stale(struct dcap_claims *dc, const char *what, int64_t next, time_t at)
{
    if (next < dc->next_update || dc->next_update == 0)
        dc->next_update = next;
    if ((int64_t)at >= next) {
        dc->fresh = false;
        size_t u = strlen(dc->stale);
        snprintf(dc->stale + u, sizeof dc->stale - u, "%s%s", u ? ", " : "", what);
    }
}

/* Steps from the collateral on; the quote's own checks have passed. */
static int appraise_collateral(struct ctx *c, struct dcap_collateral_set *set,
                               const struct dcap_quote *q, STACK_OF(X509) *chain)
{
    struct dcap_claims *dc = c->dc;
    const struct dcap_pck_ext *pck = &dc->pck;
    X509 *leaf = sk_X509_value(chain, 0);
    X509 *pck_ca = sk_X509_num(chain) > 1 ? sk_X509_value(chain, 1) : NULL;
    X509 *root = sk_X509_value(chain, sk_X509_num(chain) - 1);
    char why[400] = "";
    json_t *cj = json_object();
    json_object_set_new(c->out->extra, "collateral", cj);

    if (set->pcs) {
        char sub[128] = "";
        if (pck_ca)
            X509_NAME_get_text_by_NID(X509_get_subject_name(pck_ca), NID_commonName, sub,
                                      sizeof sub);
        pthread_mutex_lock(&set->lock);
        pcs_fill(set, c->tdx, pck->fmspc, pck_ca ? X509_get_subject_name(pck_ca) : NULL,
                 strstr(sub, "Processor") == NULL, X509_get_subject_name(root), c->at, why,
                 sizeof why);
        pthread_mutex_unlock(&set->lock);
    }

    /* evidence.collateral: the four items this quote needs. */
    bool tfut = false, qfut = false;
    pthread_mutex_lock(&set->lock);
    struct coll_doc *td = pick_doc(set, true, c->tdx, pck->fmspc, c->at, &tfut);
    struct coll_doc *qd = pick_doc(set, false, c->tdx, NULL, c->at, &qfut);
    struct coll_crl *pcrl = NULL, *rcrl = NULL;
    X509_CRL *pck_crl = pck_ca ? pick_crl(set, X509_get_subject_name(pck_ca), c->at, &pcrl) : NULL;
    X509_CRL *root_crl = pick_crl(set, X509_get_subject_name(root), c->at, &rcrl);
    pthread_mutex_unlock(&set->lock);
    {
        char fm[13], missing[200] = "";
        hex_encode(pck->fmspc, 6, fm);
        if (!td)
            snprintf(missing + strlen(missing), sizeof missing - strlen(missing),
                     "%s TCB Info for FMSPC %s%s; ", c->tdx ? "TDX" : "SGX", fm,
                     tfut ? " (only ones issued after the verification time)" : "");
        if (!qd)
            snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s identity%s; ",
                     c->tdx ? "TD_QE" : "QE", qfut ? " (only later ones)" : "");
        if (!pck_crl)
            snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "PCK CRL; ");
        if (!root_crl)
            snprintf(missing + strlen(missing), sizeof missing - strlen(missing),
                     "Root CA CRL; ");
        if (missing[0]) {
            char detail[700];
            snprintf(detail, sizeof detail, "missing collateral: %s%s%sgive it with --collateral "
                     "(files or a folder) or fetch it from Intel PCS with --pcs-cache DIR",
                     missing, why[0] ? "fetch: " : "", why[0] ? why : "");
            return fail(c, "evidence.collateral", "dcap_collateral_missing",
                        "TCB Info, QE Identity, PCK CRL and Root CA CRL for this quote", missing,
                        detail);
        }
        char act[800];
        snprintf(act, sizeof act, "TCB Info from %s; QE Identity from %s; PCK CRL from %s; "
                 "Root CA CRL from %s", td->origin, qd->origin, pcrl->origin, rcrl->origin);
        result_check(c->r, "evidence.collateral", CHECK_PASS, NULL,
                     "TCB Info, QE Identity, PCK CRL and Root CA CRL for this quote", act, NULL);
    }

    /* evidence.tcb_info and evidence.qe_identity: signatures by a TCB Signing certificate. */
    X509 *tsigner = NULL, *qsigner = NULL;
    int rc = -1;
    const char *exp_doc = "signed by a TCB Signing certificate that chains to the trust anchor "
                          "and was valid at the document's issueDate";
    if (verify_doc(set, td, c->store, c->cache, &tsigner, why, sizeof why) != 0) {
        fail(c, "evidence.tcb_info", "dcap_tcb_info_signature_invalid", exp_doc, td->origin, why);
        goto out;
    }
    {
        char act[300], a[24], b[24];
        fmt_date(td->ti.issue_date, a, sizeof a);
        fmt_date(td->ti.next_update, b, sizeof b);
        snprintf(act, sizeof act, "%s TCB Info v%u, evaluation data number %u, issued %s, next "
                 "update %s", td->ti.tdx ? "TDX" : "SGX", td->ti.version, td->ti.eval_num, a, b);
        result_check(c->r, "evidence.tcb_info", CHECK_PASS, NULL, exp_doc, act, NULL);
        json_t *o = dated(td->ti.issue_date, td->ti.next_update, c->at);
        json_object_set_new(o, "tcb_evaluation_data_number", json_integer(td->ti.eval_num));
        json_object_set_new(o, "origin", json_string(td->origin));
        json_object_set_new(cj, "tcb_info", o);
        note_stale(dc, "TCB Info", td->ti.next_update, c->at);
    }
    if (verify_doc(set, qd, c->store, c->cache, &qsigner, why, sizeof why) != 0) {
        fail(c, "evidence.qe_identity", "dcap_qe_identity_signature_invalid", exp_doc, qd->origin,
             why);
        goto out;
    }
    {
        char act[300], a[24], b[24];
        fmt_date(qd->qi->issue_date, a, sizeof a);
        fmt_date(qd->qi->next_update, b, sizeof b);
        snprintf(act, sizeof act, "%s identity v%u, evaluation data number %u, issued %s, next "
                 "update %s", qd->qi->id, qd->qi->version, qd->qi->eval_num, a, b);
        result_check(c->r, "evidence.qe_identity", CHECK_PASS, NULL, exp_doc, act, NULL);
        json_t *o = dated(qd->qi->issue_date, qd->qi->next_update, c->at);
        json_object_set_new(o, "tcb_evaluation_data_number", json_integer(qd->qi->eval_num));
        json_object_set_new(o, "origin", json_string(qd->origin));
        json_object_set_new(cj, "qe_identity", o);
        note_stale(dc, "QE Identity", qd->qi->next_update, c->at);
    }

    /* evidence.revocation: PCK CRL by the PCK CA, Root CA CRL by the root (the anchor). */
    {
        const char *exp = "PCK CRL signed by the PCK CA, Root CA CRL by the root; PCK leaf, "
                          "PCK CA and TCB Signing certificate not revoked";
        if (!pck_ca || verify_crl(set, pcrl, pck_ca) != 0) {
            fail(c, "evidence.revocation", "dcap_crl_signature_invalid", exp, pcrl->origin,
                 "the PCK CRL is not signed by the PCK CA of the verified chain");
            goto out;
        }
        if (verify_crl(set, rcrl, root) != 0) {
            fail(c, "evidence.revocation", "dcap_crl_signature_invalid", exp, rcrl->origin,
                 "the Root CA CRL is not signed by the trust anchor");
            goto out;
        }
        X509 *rv = revoked(pck_crl, leaf) ? leaf
                   : revoked(root_crl, pck_ca) ? pck_ca
                   : revoked(root_crl, tsigner) ? tsigner
                   : revoked(root_crl, qsigner) ? qsigner
                   : NULL;
        if (rv) {
            char sub[200];
            X509_NAME_oneline(X509_get_subject_name(rv), sub, sizeof sub);
            char *serial = NULL;
            BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(rv), NULL);
            serial = bn ? BN_bn2hex(bn) : NULL;
            char act[400];
            snprintf(act, sizeof act, "%s (serial %s) is revoked", sub, serial ? serial : "?");
            OPENSSL_free(serial);
            BN_free(bn);
            fail(c, "evidence.revocation", "dcap_cert_revoked", exp, act,
                 "a certificate of the chain or of the collateral signer is on its issuer's CRL");
            goto out;
        }
        int64_t tu = 0, nu = 0, rtu = 0, rnu = 0;
        crl_time(X509_CRL_get0_lastUpdate(pck_crl), &tu);
        crl_time(X509_CRL_get0_nextUpdate(pck_crl), &nu);
        crl_time(X509_CRL_get0_lastUpdate(root_crl), &rtu);
        crl_time(X509_CRL_get0_nextUpdate(root_crl), &rnu);
        json_t *p = dated(tu, nu, c->at);
        json_object_set_new(p, "origin", json_string(pcrl->origin));
        json_object_set_new(cj, "pck_crl", p);
        json_t *o = dated(rtu, rnu, c->at);
        json_object_set_new(o, "origin", json_string(rcrl->origin));
        json_object_set_new(cj, "root_ca_crl", o);
        note_stale(dc, "PCK CRL", nu, c->at);
        note_stale(dc, "Root CA CRL", rnu, c->at);
        result_check(c->r, "evidence.revocation", CHECK_PASS, NULL, exp,
                     "no certificate revoked", NULL);
    }

    /* evidence.tcb_status: the TCB-status algorithm (dcap_tcb.h). */
    {
        struct dcap_tcb_input in = {
            .pck = pck,
            .qe_report = &q->qe_report,
            .tdx = c->tdx,
            .tee_tcb_svn = c->tdx ? q->body.td.tee_tcb_svn : NULL,
            .tee_tcb_svn2 = c->tdx && q->body.td.is_td15 ? q->body.td.tee_tcb_svn2 : NULL,
            .mrsignerseam = c->tdx ? q->body.td.mrsignerseam : NULL,
            .seam_attributes = c->tdx ? q->body.td.seam_attributes : 0,
        };
        const char *exp = "a TCB level of the TCB Info and of the QE Identity that applies";
        if (dcap_tcb_evaluate(&td->ti, qd->qi, &in, &dc->tcb) != 0) {
            fail(c, "evidence.tcb_status", dc->tcb.code ? dc->tcb.code : "dcap_tcb_error", exp,
                 NULL, dc->tcb.why);
            goto out;
        }
        dc->has_tcb = true;
        char act[300], date[24];
        fmt_date(dc->tcb.tcb_date, date, sizeof date);
        snprintf(act, sizeof act, "%s%s%s (platform %s, QE %s%s%s)",
                 dcap_tcb_status_name(dc->tcb.status), dc->tcb.platform_level >= 0 ? ", TCB date " : "",
                 dc->tcb.platform_level >= 0 ? date : "", dcap_tcb_status_name(dc->tcb.platform_status),
                 dcap_tcb_status_name(dc->tcb.qe_status), dc->tcb.module_checked ? ", module " : "",
                 dc->tcb.module_checked ? dcap_tcb_status_name(dc->tcb.module_status) : "");
        result_check(c->r, "evidence.tcb_status", CHECK_PASS, NULL, exp, act,
                     dc->tcb.status == DCAP_TCB_NOT_SUPPORTED
                         ? "no TCB level of the TCB Info matches this platform (TCB not "
                           "supported): whether that is acceptable is the policy's decision"
                         : NULL);
        json_t *t = json_object();
        json_object_set_new(t, "status", json_string(dcap_tcb_status_name(dc->tcb.status)));
        json_object_set_new(t, "platform_status",
                            json_string(dcap_tcb_status_name(dc->tcb.platform_status)));
        json_object_set_new(t, "qe_status", json_string(dcap_tcb_status_name(dc->tcb.qe_status)));
        if (dc->tcb.module_checked) {
            json_object_set_new(t, "tdx_module", json_string(dc->tcb.module_id));
            json_object_set_new(t, "module_status",
                                json_string(dcap_tcb_status_name(dc->tcb.module_status)));
        }
        json_object_set_new(t, "tcb_date", dc->tcb.platform_level >= 0 ? json_string(date)
                                                                      : json_null());
        json_object_set_new(t, "advisories", advisories_json(&dc->tcb.advisories));
        json_object_set_new(c->out->extra, "tcb", t);
    }
    rc = 0;
out:
    {
        char nb[24];
        fmt_date(dc->next_update, nb, sizeof nb);
        json_object_set_new(cj, "fresh", json_boolean(dc->fresh));
        if (dc->next_update)
            json_object_set_new(cj, "next_update", json_string(nb));
        if (!dc->fresh)
            json_object_set_new(cj, "stale", json_string(dc->stale));
    }
    X509_free(tsigner);
    X509_free(qsigner);
    return rc;
}

static int dcap_verify(bool tdx, const uint8_t *ev, size_t len,
                       const struct evidence_anchors *anchors, time_t at,
                       const char *const *collateral, struct claims *out,
                       struct tether_result *r)
{
    struct ctx c = {.tdx = tdx, .at = at, .r = r, .out = out};
    struct dcap_quote q;
    const char *why = NULL;
    const char *fexp = tdx ? "Intel TDX quote v4 or v5 (TD 1.0 / TD 1.5 body), ECDSA P-256"
                           : "Intel SGX quote v3 (or v5 with an SGX body), ECDSA P-256";
    if (dcap_quote_parse_ex(ev, len, true, &q, &why) != 0)
        return fail(&c, "evidence.format", "evidence_malformed", fexp, NULL, why);
    bool is_tdx = q.header.tee_type == DCAP_TEE_TDX;
    if (is_tdx != tdx)
        return fail(&c, "evidence.format", "evidence_malformed", fexp,
                    is_tdx ? "a TDX quote" : "an SGX quote",
                    "the quote's TEE type is not this backend's (use --type)");
    struct dcap_claims *dc = calloc(1, sizeof *dc);
    out->extra = json_object();
    if (!dc || !out->extra) {
        free(dc);
        return fail(&c, "evidence.format", "internal", fexp, NULL, "out of memory");
    }
    dc->fresh = true;
    out->tee_data = dc;
    out->tee_data_free = claims_free_dcap;
    c.dc = dc;
    fill_quote_claims(&q, tdx, out, dc);
    {
        char act[160];
        snprintf(act, sizeof act, "%s quote v%u, %s body, %zu bytes (signature data %u)",
                 tdx ? "TDX" : "SGX", q.header.version,
                 q.body_type == DCAP_BODY_TD15 ? "TD 1.5" : q.body_type == DCAP_BODY_TD10 ? "TD 1.0"
                                                                                          : "SGX",
                 q.quote_len, q.sig_data_len);
        char detail[96] = "";
        if (len > q.quote_len) {
            snprintf(detail, sizeof detail, "%zu %s bytes after the quote, not signed: ignored",
                     len - q.quote_len, q.trailing_nonzero ? "non-zero" : "zero (padding)");
            json_object_set_new(out->extra, "unsigned_trailing_bytes",
                                json_integer((json_int_t)(len - q.quote_len)));
        }
        result_check(r, "evidence.format", CHECK_PASS, NULL, fexp, act,
                     detail[0] ? detail : NULL);
    }

    /* evidence.chain: the PCK chain in the quote, to the anchor, at the verification time.
     * Only the leaf and the intermediates from the quote are used, as untrusted material. */
    if (anchors && anchors->store) {
        c.store = anchors->store;
        c.cache = anchors->cache;
        c.origin = anchors->origin ? anchors->origin : "policy";
    } else {
        pthread_once(&builtin_once, builtin_init);
        c.store = builtin_store;
        c.cache = builtin_cache;
        c.origin = "built-in Intel SGX Root CA";
    }
    if (!c.store)
        return fail(&c, "evidence.chain", "internal", NULL, NULL, "no trust anchor store");
    STACK_OF(X509) *pem = NULL, *chain = NULL;
    int rc = -1;
    const char *cexp = "PCK certificate chain to the trust anchor";
    /* A PCK chain seen before (the exact PEM bytes), verified for a window containing at:
     * nothing to decode or verify (evidence/chain_cache.h). */
    X509 *hit = c.cache ? chain_cache_lookup_ex(c.cache, q.pck_chain_pem, q.pck_chain_pem_len,
                                                NULL, at, CACHE_TAG_PCK_PEM, NULL, &chain)
                        : NULL;
    if (hit) {
        X509_free(hit);
        char act[300], sub[200];
        X509_NAME_oneline(X509_get_subject_name(sk_X509_value(chain, sk_X509_num(chain) - 1)),
                          sub, sizeof sub);
        snprintf(act, sizeof act, "%d certificates to %s (%s; verified earlier, cached)",
                 sk_X509_num(chain), sub, c.origin);
        result_check(r, "evidence.chain", CHECK_PASS, NULL, cexp, act, NULL);
    } else if (dcap_quote_pck_chain(&q, &pem) != 0 || sk_X509_num(pem) < 1) {
        fail(&c, "evidence.chain", "evidence_malformed", cexp, NULL,
             "the quote's PCK certificate chain (certification data type 5) does not decode");
        goto done;
    } else {
        X509 *leaf = sk_X509_value(pem, 0);
        int err = 0;
        if (verify_to_anchor_key(c.store, c.cache, leaf, pem, at, &chain, &err, q.pck_chain_pem,
                                 q.pck_chain_pem_len, CACHE_TAG_PCK_PEM) != 0) {
            char sub[200], detail[400];
            X509_NAME_oneline(X509_get_subject_name(leaf), sub, sizeof sub);
            snprintf(detail, sizeof detail, "the PCK certificate does not chain to the %s trust "
                     "anchor: %s", c.origin, X509_verify_cert_error_string(err));
            fail(&c, "evidence.chain", chain_code(err), cexp, sub, detail);
            goto done;
        }
        char act[300], sub[200];
        X509_NAME_oneline(X509_get_subject_name(sk_X509_value(chain, sk_X509_num(chain) - 1)), sub,
                          sizeof sub);
        snprintf(act, sizeof act, "%d certificates to %s (%s)", sk_X509_num(chain), sub, c.origin);
        result_check(r, "evidence.chain", CHECK_PASS, NULL, cexp, act, NULL);
    }

    /* evidence.signature: (c) QE report by the PCK key, (b) QE report data binds the
     * attestation key, (a) the quote by the attestation key (Quote Library API A.4). */
    {
        const char *sexp = "QE report signed by the PCK key; QE report data = SHA-256(attestation "
                           "key || QE auth data); quote signed by the attestation key";
        int s = dcap_quote_verify_qe_sig(&q, X509_get0_pubkey(sk_X509_value(chain, 0)));
        if (s == DCAP_SIG_OK)
            s = dcap_quote_verify_qe_binding(&q);
        if (s == DCAP_SIG_OK)
            s = verify_quote_sig(&q);
        if (s != DCAP_SIG_OK) {
            fail(&c, "evidence.signature", "evidence_signature_invalid", sexp,
                 dcap_sig_result_name(s), NULL);
            goto done;
        }
        result_check(r, "evidence.signature", CHECK_PASS, NULL, sexp, "valid", NULL);
    }

    /* evidence.pck: the SGX extensions of the (now trusted) PCK leaf. */
    if (dcap_pck_ext_from_cert(sk_X509_value(chain, 0), &dc->pck, &why) != 0) {
        fail(&c, "evidence.pck", "dcap_pck_extension_invalid",
             "SGX extensions (OID 1.2.840.113741.1.13.1) with FMSPC, PCE-ID and TCB", NULL, why);
        goto done;
    }
    fill_pck_claims(&dc->pck, out);
    {
        char act[64], fm[13];
        hex_encode(dc->pck.fmspc, 6, fm);
        snprintf(act, sizeof act, "FMSPC %s, PCESVN %u", fm, dc->pck.pcesvn);
        result_check(r, "evidence.pck", CHECK_PASS, NULL,
                     "SGX extensions (OID 1.2.840.113741.1.13.1) with FMSPC, PCE-ID and TCB", act,
                     NULL);
    }

    /* The collateral: explicit paths (a temporary set) or the policy's preloaded set. */
    {
        struct dcap_collateral_set *tmp = NULL;
        struct dcap_collateral_set *set =
            anchors ? (struct dcap_collateral_set *)anchors->collateral_set : NULL;
        if (collateral && collateral[0]) {
            size_t n = 0;
            while (collateral[n])
                n++;
            char cwhy[400];
            /* "kds:" entries belong to the SNP backend. */
            const char *paths[64];
            size_t m = 0;
            for (size_t i = 0; i < n && m < 64; i++)
                if (strncmp(collateral[i], "kds:", 4) != 0)
                    paths[m++] = collateral[i];
            if (dcap_collateral_set_load(paths, m, NULL, &tmp, cwhy, sizeof cwhy) != 0) {
                fail(&c, "evidence.collateral", "collateral_unreadable",
                     "TCB Info, QE Identity, PCK CRL and Root CA CRL", NULL, cwhy);
                goto done;
            }
            set = tmp;
        }
        if (!set) {
            char fm[13], act[160];
            hex_encode(dc->pck.fmspc, 6, fm);
            snprintf(act, sizeof act, "none (this quote needs the %s TCB Info for FMSPC %s, the "
                     "%s identity and the CRLs)", tdx ? "TDX" : "SGX", fm, tdx ? "TD_QE" : "QE");
            fail(&c, "evidence.collateral", "dcap_collateral_missing",
                 "TCB Info, QE Identity, PCK CRL and Root CA CRL for this quote", act,
                 "no collateral: give it with --collateral (files or a folder), fetch it with "
                 "--pcs-cache DIR, or name it in the policy (accept.tdx.collateral)");
            goto done;
        }
        rc = appraise_collateral(&c, set, &q, chain);
        dcap_collateral_set_free(tmp);
    }
done:
    sk_X509_pop_free(pem, X509_free);
    sk_X509_pop_free(chain, X509_free);
    return rc;
}

static bool recognise(const uint8_t *ev, size_t len, uint32_t tee)
{
    /* Header: version 3/4/5 (LE u16), attestation key type 2, TEE type (LE u32). */
    if (len < DCAP_HEADER_LEN)
        return false;
    uint16_t v = (uint16_t)(ev[0] | ev[1] << 8), k = (uint16_t)(ev[2] | ev[3] << 8);
    uint32_t t = (uint32_t)ev[4] | (uint32_t)ev[5] << 8 | (uint32_t)ev[6] << 16 |
                 (uint32_t)ev[7] << 24;
    return v >= 3 && v <= 5 && k == DCAP_ATT_KEY_ECDSA_P256 && t == tee;
}

static bool tdx_recognise(const uint8_t *ev, size_t len)
{
    return recognise(ev, len, DCAP_TEE_TDX);
}

static bool sgx_recognise(const uint8_t *ev, size_t len)
{
    return recognise(ev, len, DCAP_TEE_SGX);
}

static int tdx_verify(const uint8_t *ev, size_t len, const struct evidence_anchors *anchors,
                      time_t at, const char *const *collateral, struct claims *out,
                      struct tether_result *r)
{
    return dcap_verify(true, ev, len, anchors, at, collateral, out, r);
}

static int sgx_verify(const uint8_t *ev, size_t len, const struct evidence_anchors *anchors,
                      time_t at, const char *const *collateral, struct claims *out,
                      struct tether_result *r)
{
    return dcap_verify(false, ev, len, anchors, at, collateral, out, r);
}

const struct evidence_backend evidence_tdx = {
    .name = "tdx",
    .media_type = DCAP_TDX_MEDIA_TYPE,
    .recognise = tdx_recognise,
    .verify = tdx_verify,
};

const struct evidence_backend evidence_sgx = {
    .name = "sgx",
    .media_type = DCAP_SGX_MEDIA_TYPE,
    .recognise = sgx_recognise,
    .verify = sgx_verify,
};
