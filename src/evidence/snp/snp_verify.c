/*
 * snp_verify.c - the AMD SEV-SNP evidence backend ("snp", snp_verify.h, docs/snp.md).
 *
 * Order of checks (each recorded with its own name and stable code, stopping at the first
 * failure): evidence.format, evidence.collateral, evidence.chain (a signing certificate must
 * exist), evidence.signing_key, evidence.chain, evidence.revocation, evidence.signature,
 * evidence.tcb_binding, evidence.chip_id.
 *
 * CRLs come from the collateral files, from collateral folders read as offline bundles
 * (DIR/snp/<Gen>/crl.der, docs/collateral.md) and, with "kds:DIR", from the KDS cache or AMD
 * KDS itself (collateral_snp_crl); the revocation rule (pass only when a CRL was checked, skip
 * when none of a chain CA was given, RFC 5280 currency) is at check_revocation.
 *
 * Specifications: SEV-SNP ABI 56860 (ATTESTATION_REPORT Table 23: KEY_INFO.SIGNING_KEY,
 * REPORTED_TCB, CHIP_ID, SIGNATURE); VCEK certificate and KDS interface 57230 (chain
 * VCEK <- ASK <- ARK, VLEK <- ASVK <- ARK, RSASSA-PSS SHA-384, VCEK extensions); research
 * evidence.md A1 and C.
 *
 * Must never: trust a root, ASK or ASVK that arrives with the evidence or the collateral
 * (they are only untrusted chain material; the anchors are the built-in ARKs of roots/amd and
 * the policy's accept.snp.trust_anchors); compare the VCEK SPLs with CURRENT_TCB instead of
 * REPORTED_TCB (56860 Table 23: REPORTED_TCB is the TCB the VCEK was derived from); accept a
 * report whose KEY_INFO signing-key type differs from the certificate's type; look at the
 * policy's measurements or the expected binder.
 */
#include "collateral/collateral.h"
#include "evidence/snp/snp_verify.h"

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

#include "evidence/snp/amd_roots.h"
#include "evidence/snp/snp_evidence.h"
#include "evidence/snp/snp_vcek.h"
#include "policy/result.h"
#include "util/util.h"
#include "util/x509util.h"

#define KDS_PREFIX "kds:" /* collateral entry: fetch missing VCEKs from AMD KDS into this cache */

#define COLLATERAL_FILE_MAX (1024u * 1024u)
#define COLLATERAL_MAX_FILES 64
#define COLLATERAL_MAX_OBJECTS 256

#define POLICY_BIT_SMT (1ull << SNP_POLICY_SMT)
#define POLICY_BIT_MIGRATE_MA (1ull << SNP_POLICY_MIGRATE_MA)
#define POLICY_BIT_DEBUG (1ull << SNP_POLICY_DEBUG)
#define POLICY_BIT_SINGLE_SOCKET (1ull << SNP_POLICY_SINGLE_SOCKET)
#define KEY_INFO_AUTHOR_KEY_EN 1u

/* ---- recognition ---- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool snp_recognise(const uint8_t *ev, size_t len)
{
    /* The TSNP container (snp_evidence.h): magic and format version. */
    if (ev && len >= SNP_EVIDENCE_HEADER_LEN && memcmp(ev, SNP_EVIDENCE_MAGIC, 4) == 0 &&
        ev[4] == 0 && ev[5] == SNP_EVIDENCE_VERSION)
        return true;
    /* A bare report: exactly 1184 bytes, a VERSION the parser accepts (2 or later: the same
     * predicate, snp_report_version_supported, so recognition never disagrees with the
     * parser) and SIGNATURE_ALGO 1 (56860 Table 23). A hint only: the parser decides. */
    if (!ev || len != SNP_REPORT_LEN)
        return false;
    uint32_t version = le32(ev), algo = le32(ev + 0x34);
    return snp_report_version_supported(version) && algo == SNP_SIG_ALGO_ECDSA_P384_SHA384;
}

/* ---- the built-in AMD roots, parsed once per process ---- */

struct builtin_set {
    X509 *ark, *ask, *asvk;
    X509_STORE *store; /* the ARK alone: the store when the policy adds no anchor */
    unsigned char *der[3]; /* ark, ask, asvk */
    int der_len[3];
};
static struct builtin_set builtin[AMD_ROOT_SETS];
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static X509 *pem_cert(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    return x;
}

static void builtin_init(void)
{
    for (size_t i = 0; i < AMD_ROOT_SETS; i++) {
        struct builtin_set *b = &builtin[i];
        b->ark = pem_cert(amd_roots[i].ark_pem);
        b->ask = pem_cert(amd_roots[i].ask_pem);
        b->asvk = pem_cert(amd_roots[i].asvk_pem);
        b->store = X509_STORE_new();
        if (b->store && (!b->ark || X509_STORE_add_cert(b->store, b->ark) != 1)) {
            X509_STORE_free(b->store);
            b->store = NULL;
        }
        X509 *all[3] = {b->ark, b->ask, b->asvk};
        for (int k = 0; k < 3; k++) {
            b->der[k] = NULL;
            b->der_len[k] = all[k] ? i2d_X509(all[k], &b->der[k]) : 0;
        }
    }
    ERR_clear_error();
}

static const struct builtin_set *builtin_get(size_t i)
{
    pthread_once(&builtin_once, builtin_init);
    return &builtin[i];
}

/* A built-in certificate with exactly these DER bytes (up-referenced), else NULL: an ASK,
 * ASVK or ARK arriving as collateral or in a container need not be decoded again. */
static X509 *builtin_by_der(const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < AMD_ROOT_SETS; i++) {
        const struct builtin_set *b = builtin_get(i);
        X509 *all[3] = {b->ark, b->ask, b->asvk};
        for (int k = 0; k < 3; k++)
            if (all[k] && b->der_len[k] > 0 && (size_t)b->der_len[k] == n &&
                memcmp(b->der[k], d, n) == 0 && X509_up_ref(all[k]))
                return all[k];
    }
    return NULL;
}

/* ---- collateral: certificates and CRLs from files or folders ---- */

struct collateral {
    STACK_OF(X509) *leaves;  /* non-CA certificates: VCEK/VLEK candidates */
    STACK_OF(X509) *cas;     /* CA certificates: untrusted chain material only */
    STACK_OF(X509_CRL) *crls;
    /* crl_typed[i]: crls[i] came from a bundle or the KDS cache for this report's key type
     * (a file given as such could be either ARK CRL: check_revocation). */
    bool crl_typed[COLLATERAL_MAX_OBJECTS + 8];
    size_t files, ignored;
    size_t bundle_files; /* of files: chain and CRL files found in bundles or the KDS cache */
    struct chain_cache *cache; /* the policy entry's: parsed certificates reused from it */
    time_t at;
    /* The DER each freshly decoded leaf came from: the cache key is the bytes as received
     * (a re-encoding can differ from them). */
    struct leaf_der {
        X509 *x;
        uint8_t *der;
        size_t len;
    } ders[COLLATERAL_MAX_OBJECTS + 8];
    size_t n_ders;
};

/* Remember the bytes of a freshly decoded certificate (best effort: a miss only means the
 * chain is not cached). */
static void remember_der(struct collateral *c, X509 *x, const uint8_t *d, size_t n)
{
    if (!c->cache || c->n_ders >= sizeof c->ders / sizeof c->ders[0])
        return;
    uint8_t *copy = malloc(n);
    if (!copy)
        return;
    memcpy(copy, d, n);
    c->ders[c->n_ders++] = (struct leaf_der){.x = x, .der = copy, .len = n};
}

static const struct leaf_der *find_der(const struct collateral *c, const X509 *x)
{
    for (size_t i = 0; i < c->n_ders; i++)
        if (c->ders[i].x == x)
            return &c->ders[i];
    return NULL;
}

/* One certificate in DER: the built-in or cached object for these bytes if there is one
 * (never a trust decision: the chain is checked separately), else d2i. NULL if malformed. */
static X509 *decode_cert(const uint8_t *d, size_t n, struct collateral *c)
{
    X509 *x = builtin_by_der(d, n);
    if (!x)
        x = chain_cache_lookup_ex(c->cache, d, n, NULL, c->at, -1, NULL, NULL);
    if (x)
        return x;
    const unsigned char *p = d;
    x = d2i_X509(NULL, &p, (long)n);
    if (x && p != d + n) {
        X509_free(x);
        x = NULL;
    }
    if (x && X509_check_ca(x) == 0)
        remember_der(c, x, d, n);
    return x;
}

static void collateral_free(struct collateral *c)
{
    sk_X509_pop_free(c->leaves, X509_free);
    sk_X509_pop_free(c->cas, X509_free);
    sk_X509_CRL_pop_free(c->crls, X509_CRL_free);
    for (size_t i = 0; i < c->n_ders; i++)
        free(c->ders[i].der);
    memset(c, 0, sizeof *c);
}

static size_t collateral_objects(const struct collateral *c)
{
    return (size_t)sk_X509_num(c->leaves) + (size_t)sk_X509_num(c->cas) +
           (size_t)sk_X509_CRL_num(c->crls);
}

static int add_cert(struct collateral *c, X509 *x)
{
    int ok = X509_check_ca(x) != 0 ? sk_X509_push(c->cas, x) : sk_X509_push(c->leaves, x);
    if (!ok) {
        X509_free(x);
        return -1;
    }
    return 0;
}

/* One object in DER: a certificate or a CRL, else ignored. */
static int add_der(struct collateral *c, const uint8_t *d, size_t n)
{
    X509 *x = decode_cert(d, n, c);
    if (x)
        return add_cert(c, x);
    const unsigned char *p = d;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)n);
    if (crl && p == d + n) {
        if (!sk_X509_CRL_push(c->crls, crl)) {
            X509_CRL_free(crl);
            return -1;
        }
        return 0;
    }
    X509_CRL_free(crl);
    ERR_clear_error();
    c->ignored++;
    return 0;
}

static int add_buffer(struct collateral *c, const uint8_t *data, size_t len)
{
    if (len == 0)
        return 0;
    bool pem = false;
    for (size_t i = 0; i + 11 <= len && !pem; i++)
        pem = memcmp(data + i, "-----BEGIN ", 11) == 0;
    if (!pem)
        return add_der(c, data, len);
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    if (!bio)
        return -1;
    int rc = 0;
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    long dlen = 0;
    while (PEM_read_bio(bio, &name, &header, &der, &dlen) == 1) {
        if (collateral_objects(c) >= COLLATERAL_MAX_OBJECTS) {
            rc = -1;
        } else if (strcmp(name, "CERTIFICATE") == 0 || strcmp(name, "X509 CRL") == 0) {
            size_t before = c->ignored;
            if (add_der(c, der, (size_t)dlen) != 0 || c->ignored != before)
                rc = -1; /* a PEM block that says what it is must be that */
        } else {
            c->ignored++;
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(der);
        name = header = NULL;
        der = NULL;
        if (rc != 0)
            break;
    }
    BIO_free(bio);
    ERR_clear_error();
    return rc;
}

static int add_file(struct collateral *c, const char *path, char *why, size_t whylen)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (c->files >= COLLATERAL_MAX_FILES) {
        snprintf(why, whylen, "more than %d collateral files", COLLATERAL_MAX_FILES);
        return -1;
    }
    if (file_read(path, COLLATERAL_FILE_MAX, &data, &len) != 0) {
        snprintf(why, whylen, "cannot read %.200s: %s", path, strerror(errno));
        return -1;
    }
    c->files++;
    int rc = add_buffer(c, data, len);
    free(data);
    if (rc != 0)
        snprintf(why, whylen, "%.200s: malformed certificate or CRL, or too many objects", path);
    return rc;
}

/* The generations to look up in a bundle: the report's, else all three (v2 reports). */
static size_t bundle_gens(enum snp_generation gen, enum snp_generation out[3])
{
    if (gen != SNP_GEN_UNKNOWN) {
        out[0] = gen;
        return 1;
    }
    out[0] = SNP_GEN_MILAN;
    out[1] = SNP_GEN_GENOA;
    out[2] = SNP_GEN_TURIN;
    return 3;
}

/* The chain file (ASK|ASVK then ARK: untrusted chain material only, the ARK is never trusted
 * from here) and the CRL of a bundle or cache directory in the docs/collateral.md layout
 * (DIR/snp/<Gen>/{vlek_,}cert_chain.pem, DIR/snp/<Gen>/{vlek_,}crl.der), for the report's key
 * type. Absent files are fine; a present but malformed one fails (a bundle is authoritative,
 * collateral.c). Cache entries (strict = false) that do not parse are ignored, as collateral.c
 * does. */
static int add_bundle(struct collateral *c, const char *dir, bool strict, bool with_crl,
                      bool vlek, enum snp_generation gen, char *why, size_t whylen)
{
    struct collateral_config cc = {.bundle_dir = strict ? dir : NULL,
                                   .cache_dir = strict ? NULL : dir};
    enum snp_generation gens[3];
    size_t n = bundle_gens(gen, gens);
    for (size_t g = 0; g < n; g++) {
        for (int crl = 0; crl < (with_crl ? 2 : 1); crl++) {
            uint8_t *b = NULL;
            size_t len = 0;
            char err[300] = "";
            int rc = crl ? collateral_snp_crl(&cc, gens[g], vlek, &b, &len, err, sizeof err)
                         : collateral_snp_chain(&cc, gens[g], vlek, &b, &len, err, sizeof err);
            if (rc == COLLATERAL_NOT_FOUND)
                continue;
            if (rc != COLLATERAL_OK) {
                if (!strict)
                    continue;
                snprintf(why, whylen, "bundle %.250s", err);
                return -1;
            }
            if (c->files >= COLLATERAL_MAX_FILES) {
                free(b);
                snprintf(why, whylen, "more than %d collateral files", COLLATERAL_MAX_FILES);
                return -1;
            }
            c->files++;
            c->bundle_files++;
            size_t before = c->ignored;
            int crls_before = sk_X509_CRL_num(c->crls);
            int arc = add_buffer(c, b, len);
            free(b);
            for (int k = crls_before; crl && k < sk_X509_CRL_num(c->crls); k++)
                if ((size_t)k < sizeof c->crl_typed / sizeof c->crl_typed[0])
                    c->crl_typed[k] = true;
            if (arc != 0 || c->ignored != before) {
                snprintf(why, whylen, "%.200s/snp/%s/%s: malformed, or too many objects", dir,
                         collateral_snp_product(gens[g]),
                         crl ? (vlek ? "vlek_crl.der" : "crl.der")
                             : (vlek ? "vlek_cert_chain.pem" : "cert_chain.pem"));
                return -1;
            }
        }
    }
    return 0;
}

static int load_collateral(const char *const *paths, bool vlek, enum snp_generation gen,
                           struct collateral *c, char *why, size_t whylen)
{
    c->leaves = sk_X509_new_null();
    c->cas = sk_X509_new_null();
    c->crls = sk_X509_CRL_new_null();
    if (!c->leaves || !c->cas || !c->crls) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    for (size_t i = 0; paths && paths[i]; i++) {
        struct stat st;
        if (strncmp(paths[i], KDS_PREFIX, strlen(KDS_PREFIX)) == 0) {
            /* A KDS cache: its chain file as it is (the CRL is looked up, fetched or
             * refreshed by kds_crl; a VCEK only when missing, lookup_vcek). */
            if (add_bundle(c, paths[i] + strlen(KDS_PREFIX), false, false, vlek, gen, why,
                           whylen) != 0)
                return -1;
            continue;
        }
        if (strncmp(paths[i], "pcs:", 4) == 0)
            continue; /* an Intel PCS cache: DCAP collateral, not ours */
        if (stat(paths[i], &st) != 0) {
            snprintf(why, whylen, "cannot open %.200s: %s", paths[i], strerror(errno));
            return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (add_file(c, paths[i], why, whylen) != 0)
                return -1;
            continue;
        }
        /* A folder: its regular files (not recursive, hidden files skipped), sorted. */
        struct dirent **names = NULL;
        int n = scandir(paths[i], &names, NULL, alphasort);
        if (n < 0) {
            snprintf(why, whylen, "cannot list %.200s: %s", paths[i], strerror(errno));
            return -1;
        }
        int rc = 0;
        for (int k = 0; k < n; k++) {
            char file[4096];
            if (rc == 0 && names[k]->d_name[0] != '.' &&
                path_join(file, sizeof file, paths[i], names[k]->d_name) == 0 &&
                stat(file, &st) == 0 && S_ISREG(st.st_mode))
                rc = add_file(c, file, why, whylen);
            free(names[k]);
        }
        free(names);
        if (rc != 0)
            return -1;
        /* ... and the folder read as an offline bundle (docs/collateral.md layout). */
        if (add_bundle(c, paths[i], true, true, vlek, gen, why, whylen) != 0)
            return -1;
    }
    return 0;
}

/* ---- the signing certificate ---- */

static bool issuer_is_vlek(X509 *x)
{
    char cn[64] = "";
    X509_NAME_get_text_by_NID(X509_get_issuer_name(x), NID_commonName, cn, sizeof cn);
    ERR_clear_error();
    return strncmp(cn, "SEV-VLEK-", 9) == 0;
}

/* The certificate type: VCEK (hwID, no cspId) or VLEK (cspId, or an SEV-VLEK-* issuer). */
static enum snp_signing_key cert_type(X509 *x, const struct snp_cert_ext *e)
{
    if (e->has_csp_id || issuer_is_vlek(x))
        return SNP_KEY_VLEK;
    if (e->has_hwid)
        return SNP_KEY_VCEK;
    return SNP_KEY_NONE;
}

static const char *key_name(enum snp_signing_key k)
{
    switch (k) {
    case SNP_KEY_VCEK:
        return "VCEK";
    case SNP_KEY_VLEK:
        return "VLEK";
    case SNP_KEY_NONE:
        return "none";
    default:
        return "reserved";
    }
}

/* Pick the candidate that best fits the report: its key verifies the signature, its type
 * matches KEY_INFO, its hwID equals CHIP_ID. Ties: the first (the container's, then the
 * collateral in the order given). */
static X509 *pick_cert(STACK_OF(X509) *cands, const struct snp_report *rep, bool *sig_ok)
{
    *sig_ok = false;
    X509 *best = NULL;
    int best_score = -1;
    for (int i = 0; i < sk_X509_num(cands); i++) {
        X509 *x = sk_X509_value(cands, i);
        struct snp_cert_ext e;
        const char *why = NULL;
        int score = 0;
        if (snp_cert_ext_read(x, &e, &why) == 0) {
            if (cert_type(x, &e) == snp_report_signing_key(rep))
                score += 2;
            if (e.has_hwid && ct_equal(e.hwid, rep->chip_id, e.hwid_len))
                score += 1;
        }
        bool ok = snp_report_verify_signature(rep, X509_get0_pubkey(x)) == 0;
        if (ok)
            score += 4;
        ERR_clear_error();
        if (score > best_score) {
            best_score = score;
            best = x;
            *sig_ok = ok;
        }
    }
    return best;
}

/* ---- the chain ---- */

struct chain_outcome {
    bool ok;
    int err;                     /* X509_V_ERR_* of the most telling failure */
    int err_depth;
    enum snp_generation gen;     /* the built-in root it anchored to, else UNKNOWN */
    char root[160];              /* "built-in ARK-Milan" or "policy anchor CN=..." */
    STACK_OF(X509) *chain;       /* leaf first, on success */
    bool not_pss;                /* a certificate is not signed with RSASSA-PSS */
};

/* An error other than "issuer not found" tells more (expired, bad signature, ...). */
static bool more_telling(int err, int than)
{
    if (than == X509_V_OK)
        return true;
    bool weak = err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
                err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT;
    bool than_weak = than == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
                     than == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT;
    return than_weak && !weak;
}

static int try_generation(X509 *leaf, size_t set_index, bool vlek,
                          STACK_OF(X509) *policy_anchors, STACK_OF(X509) *extra_cas, time_t at,
                          struct chain_outcome *o)
{
    int rc = -1;
    const struct amd_root_set *set = &amd_roots[set_index];
    const struct builtin_set *b = builtin_get(set_index);
    /* The built-in ARK's store is shared (parsed once); with policy anchors, a store of both
     * for this call. */
    bool own_store = sk_X509_num(policy_anchors) > 0;
    X509_STORE *store = own_store ? X509_STORE_new() : b->store;
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509 *ark = b->ark;
    X509 *inter = vlek ? b->asvk : b->ask;
    if (!store || !untrusted || !ctx || !ark || !inter)
        goto out;
    /* Trusted: this generation's ARK and the policy's anchors. The ASK/ASVK of the chosen
     * key type and any CA certificate from the collateral are untrusted material. */
    if (own_store && X509_STORE_add_cert(store, ark) != 1)
        goto out;
    for (int i = 0; own_store && i < sk_X509_num(policy_anchors); i++)
        X509_STORE_add_cert(store, sk_X509_value(policy_anchors, i));
    ERR_clear_error();
    if (!X509_up_ref(inter))
        goto out;
    if (!sk_X509_push(untrusted, inter)) {
        X509_free(inter);
        goto out;
    }
    for (int i = 0; i < sk_X509_num(extra_cas); i++) {
        X509 *x = sk_X509_value(extra_cas, i);
        if (!sk_X509_push(untrusted, x))
            goto out;
        X509_up_ref(x);
    }
    if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1)
        goto out;
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(param, at);
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_USE_CHECK_TIME);
    int ok = X509_verify_cert(ctx);
    if (ok == 1) {
        STACK_OF(X509) *chain = X509_STORE_CTX_get1_chain(ctx);
        int n = sk_X509_num(chain);
        X509 *root = n > 0 ? sk_X509_value(chain, n - 1) : NULL;
        /* 57230: every AMD certificate (ASK, ASVK, VCEK, VLEK) is signed RSASSA-PSS. */
        for (int i = 0; i + 1 < n; i++)
            if (X509_get_signature_nid(sk_X509_value(chain, i)) != NID_rsassaPss)
                o->not_pss = true;
        if (o->not_pss || !root) {
            sk_X509_pop_free(chain, X509_free);
            o->err = X509_V_ERR_CERT_SIGNATURE_FAILURE;
            goto out;
        }
        o->ok = true;
        o->chain = chain;
        if (ark && X509_cmp(root, ark) == 0) {
            o->gen = set->gen;
            snprintf(o->root, sizeof o->root, "built-in AMD ARK-%s", set->name);
        } else {
            char *s = x509_name_string(X509_get_subject_name(root));
            o->gen = SNP_GEN_UNKNOWN;
            snprintf(o->root, sizeof o->root, "policy anchor %.120s", s ? s : "?");
            free(s);
        }
        rc = 0;
    } else {
        int err = X509_STORE_CTX_get_error(ctx);
        if (more_telling(err, o->err)) {
            o->err = err;
            o->err_depth = X509_STORE_CTX_get_error_depth(ctx);
        }
    }
out:
    X509_STORE_CTX_free(ctx);
    sk_X509_pop_free(untrusted, X509_free);
    if (own_store)
        X509_STORE_free(store);
    ERR_clear_error();
    return rc;
}

/* The chain for the generation from the report (v3+) or the certificate's productName; for
 * a v2 report of unknown generation, each generation's chain in turn (research C.2). */
static int verify_chain(X509 *leaf, bool vlek, enum snp_generation want,
                        const struct evidence_anchors *anchors, STACK_OF(X509) *extra_cas,
                        time_t at, struct chain_outcome *o)
{
    memset(o, 0, sizeof o[0]);
    STACK_OF(X509) *pol = anchors && anchors->store ? X509_STORE_get1_all_certs(anchors->store)
                                                    : NULL;
    int rc = -1;
    for (size_t i = 0; i < AMD_ROOT_SETS && rc != 0; i++)
        if (want == SNP_GEN_UNKNOWN || amd_roots[i].gen == want)
            rc = try_generation(leaf, i, vlek, pol, extra_cas, at, o);
    sk_X509_pop_free(pol, X509_free);
    return rc;
}

/* A cached chain for cert (the cache's own object, see decode_cert) under tag, usable now:
 * every intermediate is a built-in AMD certificate or one offered as untrusted material in
 * this verification (a full verification now would find the same chain). */
static bool cached_chain(struct chain_cache *cache, X509 *cert, int tag, STACK_OF(X509) *cas,
                         time_t at, struct chain_outcome *o)
{
    struct chain_cache_info info;
    STACK_OF(X509) *chain = NULL;
    X509 *hit = chain_cache_lookup_ex(cache, NULL, 0, cert, at, tag, &info, &chain);
    if (!hit)
        return false;
    X509_free(hit); /* the same object as cert, which the caller holds */
    bool usable = chain != NULL;
    for (int i = 1; usable && i + 1 < sk_X509_num(chain); i++) {
        X509 *x = sk_X509_value(chain, i);
        bool found = false;
        for (size_t k = 0; k < AMD_ROOT_SETS && !found; k++) {
            const struct builtin_set *b = builtin_get(k);
            found = (b->ask && X509_cmp(x, b->ask) == 0) || (b->asvk && X509_cmp(x, b->asvk) == 0);
        }
        for (int k = 0; k < sk_X509_num(cas) && !found; k++)
            found = X509_cmp(x, sk_X509_value(cas, k)) == 0;
        usable = found;
    }
    if (!usable) {
        sk_X509_pop_free(chain, X509_free);
        return false;
    }
    memset(o, 0, sizeof o[0]);
    o->ok = true;
    o->chain = chain;
    o->gen = (enum snp_generation)info.value;
    snprintf(o->root, sizeof o->root, "%s", info.note);
    return true;
}

/* Remember a chain just verified in full, keyed by the certificate's DER as received. */
static void cache_chain(const struct collateral *coll, X509 *cert, int tag,
                        const struct chain_outcome *o)
{
    const struct leaf_der *d = find_der(coll, cert);
    if (!coll->cache || !o->chain || !d)
        return;
    struct chain_cache_info info = {.tag = tag, .value = (int)o->gen};
    snprintf(info.note, sizeof info.note, "%s", o->root);
    chain_cache_add_ex(coll->cache, d->der, d->len, cert, o->chain, &info);
}

static const char *chain_code(int err)
{
    switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return "evidence_cert_expired";
    default:
        return "evidence_chain_untrusted";
    }
}

/* ---- a VCEK the evidence did not carry: offline bundles, then AMD KDS (opt-in) ----
 * Collateral entries that are folders are also tried as bundles (docs/collateral.md layout);
 * an entry "kds:CACHE_DIR" enables fetching from AMD KDS (or the mirror in TETHER_KDS_URL)
 * into that cache. A found certificate is only a candidate: the chain decides. */
static X509 *vcek_from(const struct collateral_config *cc, const struct snp_report *rep,
                       enum snp_generation gen, struct collateral *coll, char *why,
                       size_t whylen)
{
    enum snp_generation gens[3] = {SNP_GEN_MILAN, SNP_GEN_GENOA, SNP_GEN_TURIN};
    size_t ngens = 3;
    if (gen != SNP_GEN_UNKNOWN) { /* v2 reports do not say: try each generation */
        gens[0] = gen;
        ngens = 1;
    }
    for (size_t g = 0; g < ngens; g++) {
        struct snp_tcb tcb = snp_tcb_decode(rep->reported_tcb_raw, gens[g]);
        size_t idlen = gens[g] == SNP_GEN_TURIN ? 8 : sizeof rep->chip_id;
        uint8_t *der = NULL;
        size_t len = 0;
        if (collateral_snp_vcek(cc, gens[g], rep->chip_id, idlen, &tcb, &der, &len, why,
                                whylen) != COLLATERAL_OK)
            continue;
        X509 *x = decode_cert(der, len, coll);
        free(der);
        if (x && sk_X509_push(coll->leaves, x))
            return x;
        X509_free(x);
    }
    return NULL;
}

/* The "kds:DIR" collateral entry's cache directory (the last one given), or NULL. */
static const char *kds_cache_dir(const char *const *paths)
{
    const char *cache = NULL;
    for (size_t i = 0; paths && paths[i]; i++)
        if (strncmp(paths[i], KDS_PREFIX, strlen(KDS_PREFIX)) == 0)
            cache = paths[i] + strlen(KDS_PREFIX);
    return cache;
}

/* AMD KDS (or the mirror in TETHER_KDS_URL) with a disk cache: https only, http on loopback;
 * 429/503 back-off and the process-wide serialisation are collateral.c's and kds.c's. */
static struct collateral_config kds_config(const char *cache)
{
    const char *mirror = getenv("TETHER_KDS_URL");
    return (struct collateral_config){
        .cache_dir = cache,
        .kds_base_url = mirror && mirror[0] ? mirror : COLLATERAL_KDS_URL,
        .timeout_ms = 10000,
        .max_retries = 2,
    };
}

static X509 *lookup_vcek(const char *const *paths, const struct snp_report *rep,
                         enum snp_generation gen, struct collateral *coll, char *why,
                         size_t whylen)
{
    const char *cache = NULL;
    for (size_t i = 0; paths && paths[i]; i++) {
        struct stat st;
        if (strncmp(paths[i], KDS_PREFIX, strlen(KDS_PREFIX)) == 0) {
            cache = paths[i] + strlen(KDS_PREFIX);
        } else if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            struct collateral_config cc = {.bundle_dir = paths[i]};
            X509 *x = vcek_from(&cc, rep, gen, coll, why, whylen);
            if (x)
                return x;
        }
    }
    if (!cache)
        return NULL;
    struct collateral_config cc = kds_config(cache);
    return vcek_from(&cc, rep, gen, coll, why, whylen);
}

/* What the KDS CRL lookup gave (reported by check_revocation once the chain is known). */
struct kds_crl_outcome {
    bool tried;
    bool failed; /* transport error, rate limit, malformed answer: fail closed */
    char note[400];
};

/* With "kds:DIR": the generation's ARK-signed CRL (KDS /vcek|vlek/v1/{prod}/crl, 57230) from
 * the cache, fetched when missing and refreshed after COLLATERAL_CRL_MAX_AGE_S (a stale copy
 * is kept when the refresh fails; its nextUpdate is checked like any CRL's). Added to the
 * collateral's CRLs, so the chain is then verified in full (no cached chain). */
static void kds_crl(const char *const *paths, bool vlek, enum snp_generation gen,
                    struct collateral *coll, struct kds_crl_outcome *o)
{
    memset(o, 0, sizeof *o);
    const char *cache = kds_cache_dir(paths);
    if (!cache)
        return;
    o->tried = true;
    if (gen == SNP_GEN_UNKNOWN) {
        /* v2 report and no productName: there is no one KDS product to ask. */
        snprintf(o->note, sizeof o->note,
                 "KDS CRL not looked up: the generation is unknown (v2 report, no productName)");
        return;
    }
    struct collateral_config cc = kds_config(cache);
    uint8_t *der = NULL;
    size_t len = 0;
    char err[300] = "";
    int rc = collateral_snp_crl(&cc, gen, vlek, &der, &len, err, sizeof err);
    if (rc == COLLATERAL_OK) {
        size_t before = coll->ignored;
        int k = sk_X509_CRL_num(coll->crls);
        /* collateral.c returns exactly one DER CRL (collateral_is_der_crl) */
        if (add_der(coll, der, len) != 0 || coll->ignored != before ||
            sk_X509_CRL_num(coll->crls) != k + 1 ||
            (size_t)k >= sizeof coll->crl_typed / sizeof coll->crl_typed[0]) {
            o->failed = true;
            snprintf(o->note, sizeof o->note, "KDS CRL for %s could not be loaded",
                     collateral_snp_product(gen));
        } else {
            coll->crl_typed[k] = true;
            snprintf(o->note, sizeof o->note, "KDS CRL for %s %s from %s",
                     collateral_snp_product(gen), vlek ? "VLEK" : "VCEK", cache);
        }
    } else if (rc == COLLATERAL_NOT_FOUND) {
        /* An authoritative "no such CRL" (HTTP 404) is not a failure: nothing to check. */
        snprintf(o->note, sizeof o->note, "KDS has no CRL: %.300s", err);
    } else {
        o->failed = true;
        snprintf(o->note, sizeof o->note, "%.390s", err);
    }
    free(der);
}

/* ---- revocation: CRLs from the collateral ---- */

/* 1 if the CRL has a critical extension: RFC 5280 5.2 - an application that cannot process a
 * critical CRL extension MUST NOT use the CRL (delta CRLs, issuing distribution points with
 * reason or scope limits are not processed here; AMD's CRLs have none). */
static bool crl_has_critical_ext(const X509_CRL *crl)
{
    const STACK_OF(X509_EXTENSION) *exts = X509_CRL_get0_extensions(crl);
    for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++)
        if (X509_EXTENSION_get_critical(sk_X509_EXTENSION_value(exts, i)))
            return true;
    return false;
}

/*
 * The revocation rule (docs/snp.md "Revocation"): a CRL counts only if its issuer is a CA of
 * the verified chain (AMD KDS: the ARK's CRL lists revoked ASKs/ASVKs; an ASK CRL would list
 * VCEKs). For each such CA, every one of its CRLs must verify with the CA's key (RFC 5280
 * 6.3.3 (f)-(g)), carry nextUpdate (RFC 5280 5.1.2.5: conforming issuers MUST include it) and
 * no critical extension (5.2); a failure is evidence_crl_invalid. A CRL is used only when
 * current: thisUpdate <= at <= nextUpdate (6.3.3 (a)); a CA whose CRLs are all outside that
 * window is evidence_crl_expired (fail closed: no current revocation status). A certificate
 * of the chain issued by the CA and listed in a current CRL is evidence_cert_revoked.
 * Result: fail as above; pass when at least one CRL was checked; skip when none was (no CRL
 * at all, or only CRLs of unrelated issuers: nothing was checked, so nothing "passed").
 * A KDS CRL the verifier was asked to fetch ("kds:DIR") and could not get (network, rate
 * limit, malformed answer; not an HTTP 404) is evidence_crl_unavailable.
 */
static int check_revocation(const struct collateral *coll, STACK_OF(X509) *chain, time_t at,
                            const struct kds_crl_outcome *kds, struct tether_result *r)
{
    const char *name = "evidence.revocation";
    const char *expected = "no certificate of the chain listed in a current CRL of its issuer";
    int ncrl = sk_X509_CRL_num(coll->crls);
    if (kds->failed) {
        result_check(r, name, CHECK_FAIL, "evidence_crl_unavailable", expected, NULL, kds->note);
        return -1;
    }
    char note[440] = "";
    if (kds->tried && kds->note[0])
        snprintf(note, sizeof note, "; %s", kds->note);
    if (ncrl == 0) {
        char d[520];
        snprintf(d, sizeof d, "no CRL supplied (collateral, bundle or KDS): revocation not "
                              "checked%s", note);
        result_check(r, name, CHECK_SKIP, NULL, expected, NULL, d);
        return 0;
    }
    int used = 0, matched = 0, ambiguous = 0;
    int top = sk_X509_num(chain) - 1;
    for (int i = 1; i < sk_X509_num(chain); i++) {
        X509 *ca = sk_X509_value(chain, i);
        int of_ca = 0, current = 0;
        char *cn = x509_name_string(X509_get_subject_name(ca));
        char act[300];
        snprintf(act, sizeof act, "CRL issued by %.200s", cn ? cn : "?");
        free(cn);
        for (int k = 0; k < ncrl; k++) {
            X509_CRL *crl = sk_X509_CRL_value(coll->crls, k);
            /* RFC 5280 6.3.3 (b): the CRL issuer must be the certificate's issuer. */
            if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)) != 0)
                continue;
            of_ca++;
            matched++;
            if (X509_CRL_verify(crl, X509_get0_pubkey(ca)) != 1) {
                ERR_clear_error();
                result_check(r, name, CHECK_FAIL, "evidence_crl_invalid", expected, act,
                             "the CRL's signature does not verify with the issuing CA's key "
                             "(RFC 5280 6.3.3 (g))");
                return -1;
            }
            const ASN1_TIME *last = X509_CRL_get0_lastUpdate(crl);
            const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
            if (!last || !next || crl_has_critical_ext(crl)) {
                result_check(r, name, CHECK_FAIL, "evidence_crl_invalid", expected, act,
                             !next ? "the CRL has no nextUpdate (RFC 5280 5.1.2.5)"
                                   : !last ? "the CRL has no thisUpdate"
                                           : "the CRL has a critical extension this verifier "
                                             "does not process (RFC 5280 5.2)");
                return -1;
            }
            time_t t = at;
            int after_last = X509_cmp_time(last, &t); /* > 0: thisUpdate is after at */
            int next_cmp = X509_cmp_time(next, &t);   /* < 0: nextUpdate is before at */
            ERR_clear_error();
            if (after_last == 0 || next_cmp == 0) {
                result_check(r, name, CHECK_FAIL, "evidence_crl_invalid", expected, act,
                             "the CRL's thisUpdate or nextUpdate cannot be read");
                return -1;
            }
            if (after_last > 0 || next_cmp < 0)
                continue; /* not current at the time of verification: not used */
            current++;
            /* The ARK issues both AMD CRLs (KDS /vcek/.../crl lists ASKs, /vlek/.../crl lists
             * ASVKs) under the same name and key: a CRL given as a plain file may be the
             * other key type's, which says nothing about this chain's ASK/ASVK. It is still
             * applied, but it counts as a check only when it came typed (bundle, KDS). */
            if (i == top && !(k < (int)(sizeof coll->crl_typed / sizeof coll->crl_typed[0]) &&
                              coll->crl_typed[k]))
                ambiguous++;
            else
                used++;
            /* Every certificate of the chain issued by this CA. */
            for (int j = 0; j < i; j++) {
                X509 *c = sk_X509_value(chain, j);
                X509_REVOKED *rev = NULL;
                if (X509_NAME_cmp(X509_get_issuer_name(c), X509_get_subject_name(ca)) == 0 &&
                    X509_CRL_get0_by_cert(crl, &rev, c) == 1) {
                    char *subj = x509_name_string(X509_get_subject_name(c));
                    char act2[300];
                    snprintf(act2, sizeof act2, "%.200s is revoked", subj ? subj : "?");
                    free(subj);
                    ERR_clear_error();
                    result_check(r, name, CHECK_FAIL, "evidence_cert_revoked", expected, act2,
                                 "a certificate of the chain is listed in its issuer's CRL");
                    return -1;
                }
            }
        }
        if (of_ca > 0 && current == 0) {
            char when[21], d[600];
            rfc3339_format(at, when);
            snprintf(d, sizeof d,
                     "no CRL of this CA is current at %s (thisUpdate after it, or nextUpdate "
                     "before it; RFC 5280 6.3.3 (a)): fetch a current CRL%s", when, note);
            result_check(r, name, CHECK_FAIL, "evidence_crl_expired", expected, act, d);
            return -1;
        }
    }
    ERR_clear_error();
    char act[160], d[520];
    snprintf(act, sizeof act, "%d CRL(s) checked, %d not issued by a CA of this chain", used,
             ncrl - matched);
    if (ambiguous > 0)
        snprintf(act + strlen(act), sizeof act - strlen(act),
                 ", %d ARK CRL(s) of unknown key type", ambiguous);
    if (used == 0) {
        if (ambiguous > 0)
            snprintf(d, sizeof d,
                     "the only current CRL is the ARK's, given as a plain file: the ARK issues "
                     "both the VCEK and the VLEK CRL, so it cannot be told whether this one "
                     "covers this chain's ASK/ASVK (it was applied, nothing is listed). Put it "
                     "in a bundle (snp/<Gen>/crl.der or vlek_crl.der) or use --kds-cache for "
                     "a check%s", note);
        else
            snprintf(d, sizeof d, "no supplied CRL is issued by a CA of this chain: revocation "
                                  "not checked%s", note);
        result_check(r, name, CHECK_SKIP, NULL, expected, act, d);
        return 0;
    }
    result_check(r, name, CHECK_PASS, NULL, expected, act, note[0] ? note + 2 : NULL);
    return 0;
}

/* ---- binding of the certificate to the report ---- */

static void tcb_string(const struct snp_tcb *t, bool fmc, char *buf, size_t n)
{
    if (fmc)
        snprintf(buf, n, "fmc %u, bootloader %u, tee %u, snp %u, microcode %u", t->fmc,
                 t->bootloader, t->tee, t->snp, t->microcode);
    else
        snprintf(buf, n, "bootloader %u, tee %u, snp %u, microcode %u", t->bootloader, t->tee,
                 t->snp, t->microcode);
}

static int check_tcb_binding(const struct snp_cert_ext *e, const struct snp_tcb *rt,
                             bool turin, struct tether_result *r)
{
    /* 57230: the VCEK is derived from REPORTED_TCB (56860 Table 23), and its SPL extensions
     * name that TCB; CURRENT_TCB may differ (research C.1). Turin adds fmcSPL. */
    const char *name = "evidence.tcb_binding";
    char exp[160], act[160];
    tcb_string(rt, turin, exp, sizeof exp);
    if (!e->has_bl || !e->has_tee || !e->has_snp || !e->has_ucode || (turin && !e->has_fmc)) {
        result_check(r, name, CHECK_FAIL, "vcek_tcb_mismatch", exp,
                     "SPL extension(s) missing from the certificate",
                     "the certificate lacks an SPL extension (1.3.6.1.4.1.3704.1.3.x)");
        return -1;
    }
    struct snp_tcb ct = {.fmc = e->fmc, .bootloader = e->bl, .tee = e->tee, .snp = e->snp,
                         .microcode = e->ucode};
    tcb_string(&ct, turin, act, sizeof act);
    bool same = ct.bootloader == rt->bootloader && ct.tee == rt->tee && ct.snp == rt->snp &&
                ct.microcode == rt->microcode && (!turin || ct.fmc == rt->fmc);
    if (!same) {
        result_check(r, name, CHECK_FAIL, "vcek_tcb_mismatch", exp, act,
                     "the certificate's SPLs differ from the report's REPORTED_TCB: the "
                     "certificate was issued for another TCB");
        return -1;
    }
    result_check(r, name, CHECK_PASS, NULL, exp, act, "certificate SPLs equal REPORTED_TCB");
    return 0;
}

static int check_chip_id(const struct snp_cert_ext *e, const struct snp_report *rep, bool vlek,
                         struct tether_result *r)
{
    const char *name = "evidence.chip_id";
    if (vlek) {
        result_check(r, name, CHECK_SKIP, NULL, NULL, NULL,
                     "a VLEK has no hwID: it identifies the cloud provider, not the chip");
        return 0;
    }
    if (ct_is_zero(rep->chip_id, sizeof rep->chip_id)) {
        result_check(r, name, CHECK_SKIP, NULL, NULL, NULL,
                     "CHIP_ID is zero (masked by the host's MASK_CHIP_ID): the VCEK key itself "
                     "identifies the chip");
        return 0;
    }
    /* 57230: hwID equals CHIP_ID; on Turin the hwID is 8 bytes and CHIP_ID holds them
     * left-aligned followed by 56 zero bytes (research A1, C.3). */
    size_t n = e->hwid_len;
    bool ok = n > 0 && ct_equal(e->hwid, rep->chip_id, n) &&
              ct_is_zero(rep->chip_id + n, sizeof rep->chip_id - n);
    char *exp = hex_dup(rep->chip_id, n == 8 ? 8 : sizeof rep->chip_id);
    char *act = hex_dup(e->hwid, n);
    if (!ok)
        result_check(r, name, CHECK_FAIL, "vcek_chip_id_mismatch", exp, act,
                     "the VCEK's hwID differs from the report's CHIP_ID: the certificate "
                     "belongs to another chip");
    else
        result_check(r, name, CHECK_PASS, NULL, exp, act, NULL);
    free(exp);
    free(act);
    return ok ? 0 : -1;
}

/* ---- claims ---- */

static json_t *tcb_json(uint64_t raw, enum snp_generation g)
{
    struct snp_tcb t = snp_tcb_decode(raw, g);
    json_t *o = json_object();
    char h[19];
    snprintf(h, sizeof h, "%016llx", (unsigned long long)raw);
    json_object_set_new(o, "raw", json_string(h));
    if (g == SNP_GEN_TURIN)
        json_object_set_new(o, "fmc", json_integer(t.fmc));
    json_object_set_new(o, "bootloader", json_integer(t.bootloader));
    json_object_set_new(o, "tee", json_integer(t.tee));
    json_object_set_new(o, "snp", json_integer(t.snp));
    json_object_set_new(o, "microcode", json_integer(t.microcode));
    return o;
}

/* The comparable packing of a TCB in claims.tcb (docs/snp.md): bootloader, tee, snp,
 * microcode, fmc from the most significant byte down. Informational: the snp policy compares
 * each component on its own (policy.tcb). */
static uint64_t tcb_pack(const struct snp_tcb *t)
{
    return (uint64_t)t->bootloader << 32 | (uint64_t)t->tee << 24 | (uint64_t)t->snp << 16 |
           (uint64_t)t->microcode << 8 | t->fmc;
}

static void snp_claims_free(void *p)
{
    free(p);
}

static void fill_claims(const struct snp_report *rep, enum snp_generation gen, X509 *cert,
                        const struct snp_cert_ext *e, struct claims *c)
{
    claims_clear(c);
    snprintf(c->tee, sizeof c->tee, "snp");
    c->simulated = false;
    memcpy(c->measurement, rep->measurement, sizeof rep->measurement);
    c->measurement_len = sizeof rep->measurement;
    struct snp_tcb rt = snp_tcb_decode(rep->reported_tcb_raw, gen);
    c->tcb = tcb_pack(&rt);
    c->has_tcb = true;
    c->debug = (rep->policy & POLICY_BIT_DEBUG) != 0;
    memcpy(c->report_data, rep->report_data, sizeof rep->report_data);
    c->has_report_data = true;
    enum snp_signing_key sk = snp_report_signing_key(rep);
    /* Platform identity: CHIP_ID (8 bytes on Turin), or for a VLEK the cspId bytes (the
     * provider, not the machine); none when CHIP_ID is masked (docs/snp.md). */
    if (sk == SNP_KEY_VLEK) {
        if (e && e->has_csp_id && e->csp_id_len <= sizeof c->platform_id) {
            memcpy(c->platform_id, e->csp_id, e->csp_id_len);
            c->platform_id_len = e->csp_id_len;
        }
    } else if (!ct_is_zero(rep->chip_id, sizeof rep->chip_id)) {
        size_t n = gen == SNP_GEN_TURIN ? 8 : sizeof rep->chip_id;
        memcpy(c->platform_id, rep->chip_id, n);
        c->platform_id_len = n;
    }

    json_t *x = json_object();
    c->extra = x;
    if (x) {
        char buf[64];
        json_object_set_new(x, "snp_report_version", json_integer(rep->version));
        json_object_set_new(x, "snp_generation", json_string(snp_generation_name(gen)));
        json_object_set_new(x, "snp_vmpl", json_integer(rep->vmpl));
        snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)rep->policy);
        json_object_set_new(x, "snp_policy", json_string(buf));
        snprintf(buf, sizeof buf, "%u.%u", (unsigned)((rep->policy >> 8) & 0xff),
                 (unsigned)(rep->policy & 0xff));
        json_object_set_new(x, "snp_policy_abi", json_string(buf));
        json_object_set_new(x, "snp_policy_smt", json_boolean(rep->policy & POLICY_BIT_SMT));
        json_object_set_new(x, "snp_policy_migrate_ma",
                            json_boolean(rep->policy & POLICY_BIT_MIGRATE_MA));
        json_object_set_new(x, "snp_policy_debug", json_boolean(rep->policy & POLICY_BIT_DEBUG));
        json_object_set_new(x, "snp_policy_single_socket",
                            json_boolean(rep->policy & POLICY_BIT_SINGLE_SOCKET));
        /* The bits newer ABIs added (56860 Table 9), only where the report's version defines
         * them (reserved bits are not claims). */
        static const struct {
            const char *name;
            unsigned bit;
        } pbits[] = {{"snp_policy_cxl_allow", SNP_POLICY_CXL_ALLOW},
                     {"snp_policy_mem_aes_256_xts", SNP_POLICY_MEM_AES_256_XTS},
                     {"snp_policy_rapl_dis", SNP_POLICY_RAPL_DIS},
                     {"snp_policy_ciphertext_hiding", SNP_POLICY_CIPHERTEXT_HIDING},
                     {"snp_policy_page_swap_disable", SNP_POLICY_PAGE_SWAP_DISABLE}},
          ibits[] = {{"snp_platform_smt_en", SNP_PLATINFO_SMT_EN},
                     {"snp_platform_tsme_en", SNP_PLATINFO_TSME_EN},
                     {"snp_platform_ecc_en", SNP_PLATINFO_ECC_EN},
                     {"snp_platform_rapl_dis", SNP_PLATINFO_RAPL_DIS},
                     {"snp_platform_ciphertext_hiding_en", SNP_PLATINFO_CIPHERTEXT_HIDING_EN},
                     {"snp_platform_alias_check_complete", SNP_PLATINFO_ALIAS_CHECK_COMPLETE}};
        for (size_t i = 0; i < sizeof pbits / sizeof pbits[0]; i++)
            if (snp_policy_bit_defined(rep->version, pbits[i].bit))
                json_object_set_new(x, pbits[i].name,
                                    json_boolean((rep->policy >> pbits[i].bit) & 1));
        snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)rep->platform_info);
        json_object_set_new(x, "snp_platform_info", json_string(buf));
        for (size_t i = 0; i < sizeof ibits / sizeof ibits[0]; i++)
            if (snp_platform_info_bit_defined(rep->version, ibits[i].bit))
                json_object_set_new(x, ibits[i].name,
                                    json_boolean((rep->platform_info >> ibits[i].bit) & 1));
        evidence_json_set_hex(x, "snp_host_data", rep->host_data, sizeof rep->host_data);
        evidence_json_set_hex(x, "snp_id_key_digest", rep->id_key_digest, sizeof rep->id_key_digest);
        evidence_json_set_hex(x, "snp_author_key_digest", rep->author_key_digest,
                sizeof rep->author_key_digest);
        json_object_set_new(x, "snp_author_key_en",
                            json_boolean(rep->key_info & KEY_INFO_AUTHOR_KEY_EN));
        evidence_json_set_hex(x, "snp_family_id", rep->family_id, sizeof rep->family_id);
        evidence_json_set_hex(x, "snp_image_id", rep->image_id, sizeof rep->image_id);
        json_object_set_new(x, "snp_guest_svn", json_integer(rep->guest_svn));
        evidence_json_set_hex(x, "snp_chip_id", rep->chip_id, sizeof rep->chip_id);
        evidence_json_set_hex(x, "snp_report_id", rep->report_id, sizeof rep->report_id);
        json_object_set_new(x, "snp_reported_tcb", tcb_json(rep->reported_tcb_raw, gen));
        json_object_set_new(x, "snp_current_tcb", tcb_json(rep->current_tcb_raw, gen));
        json_object_set_new(x, "snp_committed_tcb", tcb_json(rep->committed_tcb_raw, gen));
        json_object_set_new(x, "snp_launch_tcb", tcb_json(rep->launch_tcb_raw, gen));
        snprintf(buf, sizeof buf, "%u.%u.%u", rep->current_major, rep->current_minor,
                 rep->current_build);
        json_object_set_new(x, "snp_firmware", json_string(buf));
        snprintf(buf, sizeof buf, "%u.%u.%u", rep->committed_major, rep->committed_minor,
                 rep->committed_build);
        json_object_set_new(x, "snp_committed_firmware", json_string(buf));
        if (rep->has_cpuid) {
            snprintf(buf, sizeof buf, "family %02xh model %02xh stepping %u",
                     rep->cpuid_fam_id, rep->cpuid_mod_id, rep->cpuid_step);
            json_object_set_new(x, "snp_cpuid", json_string(buf));
        }
        if (rep->has_mit_vectors) {
            snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)rep->current_mit_vector);
            json_object_set_new(x, "snp_current_mit_vector", json_string(buf));
            snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)rep->launch_mit_vector);
            json_object_set_new(x, "snp_launch_mit_vector", json_string(buf));
        }
        json_object_set_new(x, "snp_signing_key", json_string(key_name(sk)));
        if (e && e->has_product_name)
            json_object_set_new(x, "snp_product_name", json_string(e->product_name));
        if (e && e->has_csp_id)
            json_object_set_new(x, "snp_csp_id", json_string(e->csp_id));
        if (cert) {
            char *s = x509_name_string(X509_get_subject_name(cert));
            char *i = x509_name_string(X509_get_issuer_name(cert));
            if (s)
                json_object_set_new(x, "snp_cert_subject", json_string(s));
            if (i)
                json_object_set_new(x, "snp_cert_issuer", json_string(i));
            free(s);
            free(i);
        }
    }
    struct snp_claims *sc = calloc(1, sizeof *sc);
    if (sc) {
        sc->report = *rep;
        sc->report.signed_region = NULL;
        sc->gen = gen;
        sc->vlek = sk == SNP_KEY_VLEK;
        sc->reported = rt;
        c->tee_data = sc;
        c->tee_data_free = snp_claims_free;
    }
}

/* ---- verify ---- */

static int snp_verify(const uint8_t *ev, size_t len, const struct evidence_anchors *anchors,
                      time_t at, const char *const *collateral, struct claims *out,
                      struct tether_result *r)
{
    const char *fmt_expected = "AMD SEV-SNP ATTESTATION_REPORT (1184 bytes, version 2 or "
                               "later, ECDSA P-384 SHA-384)";
    struct snp_report rep;
    const char *why = NULL;
    struct snp_evidence *cont = NULL;
    bool is_container = len >= 4 && memcmp(ev, SNP_EVIDENCE_MAGIC, 4) == 0;
    if (is_container) {
        /* Heap: the certificate table is large. */
        cont = calloc(1, sizeof *cont);
        if (!cont || snp_evidence_decode(ev, len, cont, &why) != 0) {
            free(cont);
            result_check(r, "evidence.format", CHECK_FAIL, "evidence_malformed",
                         "TSNP container v1 (snp_evidence.h)", NULL,
                         cont ? why : "out of memory");
            return -1;
        }
        rep = cont->parsed;
    } else if (snp_report_parse(ev, len, &rep, &why) != 0) {
        result_check(r, "evidence.format", CHECK_FAIL, "evidence_malformed", fmt_expected, NULL,
                     why);
        return -1;
    }
    enum snp_generation gen = snp_report_generation(&rep);
    enum snp_signing_key want = snp_report_signing_key(&rep);
    /* The claims are filled once, at the end (every path below gets there). */
    char actual[200];
    snprintf(actual, sizeof actual, "%sreport version %u, %s, signed by %s",
             is_container ? (cont->has_certs ? "TSNP container with certificate table, "
                                             : "TSNP container without certificates, ")
                          : "bare ",
             rep.version,
             rep.has_cpuid ? snp_generation_name(gen) : "generation not reported (v2)",
             key_name(want));
    result_check(r, "evidence.format", CHECK_PASS, NULL, fmt_expected, actual, NULL);

    int rc = -1;
    struct collateral coll;
    memset(&coll, 0, sizeof coll);
    STACK_OF(X509) *cands = sk_X509_new_null();
    struct chain_outcome co;
    memset(&co, 0, sizeof co);
    X509 *cert = NULL;
    struct snp_cert_ext ext;
    memset(&ext, 0, sizeof ext);
    bool have_ext = false;

    coll.cache = anchors ? anchors->cache : NULL;
    coll.at = at;
    char cwhy[300] = "";
    if (!cands || load_collateral(collateral, want == SNP_KEY_VLEK, gen, &coll, cwhy,
                                   sizeof cwhy) != 0) {
        result_check(r, "evidence.collateral", CHECK_FAIL, "collateral_unreadable",
                     "readable certificates and CRLs (DER or PEM)", NULL,
                     cwhy[0] ? cwhy : "out of memory");
        goto done;
    }
    snprintf(actual, sizeof actual,
             "%zu file(s) (%zu from bundles): %d leaf certificate(s), %d CA certificate(s), %d "
             "CRL(s), %zu ignored", coll.files, coll.bundle_files, sk_X509_num(coll.leaves),
             sk_X509_num(coll.cas), sk_X509_CRL_num(coll.crls), coll.ignored);
    result_check(r, "evidence.collateral", collateral && collateral[0] ? CHECK_PASS : CHECK_SKIP,
                 NULL, "certificates and CRLs (DER or PEM)", actual,
                 collateral && collateral[0] ? NULL : "no collateral given");
    /* The container's certificates first (unauthenticated transport: the VCEK/VLEK is a
     * candidate, the ASK/ASVK untrusted chain material; its ARK is never used, the anchors
     * are the built-in or policy roots). Then the collateral's. */
    if (cont && cont->has_certs) {
        for (size_t i = 0; i < cont->certs.count; i++) {
            const struct snp_cert_entry *ce = &cont->certs.entries[i];
            if (ce->kind != SNP_CERT_VCEK && ce->kind != SNP_CERT_VLEK && ce->kind != SNP_CERT_ASK)
                continue;
            X509 *x = decode_cert(ce->der, ce->len, &coll);
            if (!x) {
                ERR_clear_error();
                result_check(r, "evidence.chain", CHECK_FAIL, "evidence_malformed",
                             "DER certificates in the container's certificate table", NULL,
                             "a certificate of the container's table is not one DER X.509 "
                             "certificate");
                goto done;
            }
            if (!sk_X509_push(ce->kind == SNP_CERT_ASK ? coll.cas : coll.leaves, x)) {
                X509_free(x);
                goto done;
            }
            if (ce->kind != SNP_CERT_ASK)
                sk_X509_unshift(cands, x);
        }
    }
    for (int i = 0; i < sk_X509_num(coll.leaves); i++)
        if (sk_X509_find(cands, sk_X509_value(coll.leaves, i)) < 0)
            sk_X509_push(cands, sk_X509_value(coll.leaves, i));

    const char *chain_expected = want == SNP_KEY_VLEK
                                     ? "VLEK <- ASVK <- ARK (built-in AMD roots or policy "
                                       "anchors), RSASSA-PSS"
                                     : "VCEK <- ASK <- ARK (built-in AMD roots or policy "
                                       "anchors), RSASSA-PSS";
    bool sig_ok = false; /* the report signature verified with cert's key in pick_cert */
    cert = pick_cert(cands, &rep, &sig_ok);
    char lwhy[300] = "";
    if (!cert && want == SNP_KEY_VCEK && !ct_is_zero(rep.chip_id, sizeof rep.chip_id)) {
        X509 *found = lookup_vcek(collateral, &rep, gen, &coll, lwhy, sizeof lwhy);
        if (found && sk_X509_push(cands, found))
            cert = pick_cert(cands, &rep, &sig_ok);
    }
    if (!cert) {
        char detail[600];
        snprintf(detail, sizeof detail,
                 "no VCEK or VLEK certificate: give it with --collateral (DER or PEM, or a "
                 "bundle folder), or let tether fetch it from AMD KDS with --kds-cache DIR%s%s",
                 lwhy[0] ? "; lookup: " : "", lwhy);
        result_check(r, "evidence.chain", CHECK_FAIL, "snp_signing_cert_missing",
                     chain_expected, NULL, detail);
        goto done;
    }
    /* A certificate with malformed AMD extensions: the chain decides first (a tampered
     * certificate fails there), then the malformation is reported. */
    const char *ext_why = NULL;
    if (snp_cert_ext_read(cert, &ext, &ext_why) == 0)
        have_ext = true;

    /* 56860 Table 23 KEY_INFO.SIGNING_KEY: 0 VCEK, 1 VLEK, 7 none (unsigned report). The
     * certificate type must match, else a VLEK could vouch for a VCEK-type report. */
    enum snp_signing_key have = have_ext ? cert_type(cert, &ext) : want;
    if (want != have || (want != SNP_KEY_VCEK && want != SNP_KEY_VLEK)) {
        char exp[64], act[64];
        snprintf(exp, sizeof exp, "%s (KEY_INFO.SIGNING_KEY %u)", key_name(want), (unsigned)want);
        snprintf(act, sizeof act, "%s certificate", key_name(have));
        result_check(r, "evidence.signing_key", CHECK_FAIL, "snp_signing_key_mismatch", exp,
                     act,
                     want == SNP_KEY_NONE
                         ? "the report is not signed (KEY_INFO.SIGNING_KEY is 7, none)"
                         : "the report's signing-key type differs from the certificate's type "
                           "(VCEK has hwID, VLEK has cspId and an SEV-VLEK issuer)");
        goto done;
    }
    if (have_ext)
        result_check(r, "evidence.signing_key", CHECK_PASS, NULL, key_name(want),
                     key_name(have), NULL);

    enum snp_generation chain_gen = gen != SNP_GEN_UNKNOWN
                                        ? gen
                                        : (enum snp_generation)snp_cert_product_generation(&ext);
    char *subj = x509_name_string(X509_get_subject_name(cert));
    char *iss = x509_name_string(X509_get_issuer_name(cert));
    /* A chain verified earlier for this policy entry, certificate object, key type and
     * generation, at a time inside the chain's validity window (evidence/chain_cache.h) -
     * only when no CRL is supplied: with CRLs the chain is verified and checked in full, so
     * that a cached pass never bypasses revocation (docs/snp.md). */
    int cache_tag = 1 + (want == SNP_KEY_VLEK) + 2 * (int)chain_gen;
    bool cached = false;
    /* The KDS CRL ("kds:DIR") before the chain: a CRL means no cached chain. */
    struct kds_crl_outcome kco;
    kds_crl(collateral, want == SNP_KEY_VLEK, chain_gen, &coll, &kco);
    /* Generation unknown (v2 report, no productName) with a KDS cache: the chain names it;
     * then the CRL is looked up, so verify the chain in full now. */
    bool kds_after_chain = kco.tried && chain_gen == SNP_GEN_UNKNOWN;
    if (coll.cache && sk_X509_CRL_num(coll.crls) == 0 && !kds_after_chain)
        cached = cached_chain(coll.cache, cert, cache_tag, coll.cas, at, &co);
    if (!cached &&
        verify_chain(cert, want == SNP_KEY_VLEK, chain_gen, anchors, coll.cas, at, &co) != 0) {
        char act[400], detail[400], when[21];
        rfc3339_format(at, when);
        snprintf(act, sizeof act, "subject \"%.120s\", issuer \"%.120s\"", subj ? subj : "?",
                 iss ? iss : "?");
        snprintf(detail, sizeof detail,
                 "%s certificate does not chain to an AMD ARK (%s%s) at %s: %s%s",
                 key_name(want),
                 chain_gen == SNP_GEN_UNKNOWN ? "every generation tried"
                                              : snp_generation_name(chain_gen),
                 anchors && anchors->store ? ", or a policy anchor" : "", when,
                 co.not_pss ? "a certificate is not signed with RSASSA-PSS (AMD 57230)"
                            : X509_verify_cert_error_string(co.err),
                 co.err_depth ? "" : " (the leaf)");
        result_check(r, "evidence.chain", CHECK_FAIL, co.not_pss ? "evidence_chain_untrusted"
                                                                  : chain_code(co.err),
                     chain_expected, act, detail);
        free(subj);
        free(iss);
        goto done;
    }
    if (!have_ext) {
        result_check(r, "evidence.chain", CHECK_FAIL, "evidence_malformed", chain_expected,
                     NULL, ext_why);
        free(subj);
        free(iss);
        goto done;
    }
    {
        char act[500];
        snprintf(act, sizeof act, "subject \"%.120s\", issuer \"%.120s\", anchored at %s",
                 subj ? subj : "?", iss ? iss : "?", co.root);
        result_check(r, "evidence.chain", CHECK_PASS, NULL, chain_expected, act,
                     cached ? "verified earlier for this policy (cached)" : NULL);
    }
    free(subj);
    free(iss);
    if (gen == SNP_GEN_UNKNOWN)
        gen = co.gen != SNP_GEN_UNKNOWN ? co.gen
                                        : (enum snp_generation)snp_cert_product_generation(&ext);

    if (kds_after_chain && co.gen != SNP_GEN_UNKNOWN) {
        kds_crl(collateral, want == SNP_KEY_VLEK, co.gen, &coll, &kco);
    } else if (kds_after_chain) {
        /* Revocation through KDS was asked for and no product can be named (a chain to a
         * policy anchor does not say which AMD generation it is): fail closed rather than
         * skip silently. */
        kco.failed = true;
        snprintf(kco.note, sizeof kco.note,
                 "a KDS CRL was requested (kds:DIR) but the generation is unknown (v2 report, "
                 "no productName in the certificate, chain to a policy anchor): no KDS product "
                 "to ask");
    }
    if (check_revocation(&coll, co.chain, at, &kco, r) != 0)
        goto done;
    if (!cached)
        cache_chain(&coll, cert, cache_tag, &co);

    /* 56860 Table 23 SIGNATURE: ECDSA P-384 with SHA-384 over bytes 0x0..0x29F (already
     * verified with this very key while picking the certificate, when it did). */
    if (!sig_ok && snp_report_verify_signature(&rep, X509_get0_pubkey(cert)) != 0) {
        ERR_clear_error();
        result_check(r, "evidence.signature", CHECK_FAIL, "evidence_signature_invalid",
                     "ECDSA P-384 SHA-384 signature by the certificate's key over bytes "
                     "0x000..0x29f", "signature does not verify", NULL);
        goto done;
    }
    result_check(r, "evidence.signature", CHECK_PASS, NULL,
                 "ECDSA P-384 SHA-384 signature by the certificate's key over bytes "
                 "0x000..0x29f", "valid", NULL);

    struct snp_tcb rt = snp_tcb_decode(rep.reported_tcb_raw, gen);
    if (check_tcb_binding(&ext, &rt, gen == SNP_GEN_TURIN, r) != 0)
        goto done;
    if (check_chip_id(&ext, &rep, want == SNP_KEY_VLEK, r) != 0)
        goto done;
    rc = 0;
done:
    fill_claims(&rep, gen, cert, have_ext ? &ext : NULL, out);
    sk_X509_pop_free(co.chain, X509_free);
    sk_X509_free(cands); /* borrowed from coll */
    collateral_free(&coll);
    free(cont);
    ERR_clear_error();
    return rc;
}

const struct evidence_backend evidence_snp = {
    .name = "snp",
    .media_type = SNP_EVIDENCE_MEDIA_TYPE,
    .recognise = snp_recognise,
    .verify = snp_verify,
};
